// The addon's entry point: checks the library version and registers the
// exports of each part. Runs on the JS thread of each environment that loads
// the addon (the main thread, every worker), once per environment.
#include "addon.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  if (ssekit_version_num() < SSEKIT_VERSION_NUM) {
    throw Napi::Error::New(env, std::string("ssekit: the library is ") + ssekit_version() +
                                    ", older than the " SSEKIT_VERSION_STRING
                                    " this addon was built for");
  }
  ssekit_node::InitEnv(env, exports);
  ssekit_node::InitStream(env, exports);
  ssekit_node::InitParser(env, exports);
  ssekit_node::InitEncode(env, exports);
  exports.Set("version", Napi::String::New(env, ssekit_version()));
  return exports;
}

NODE_API_MODULE(ssekit, Init)
