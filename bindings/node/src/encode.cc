// The encoder: encodeEvent(type, id, data, retry) and encodeComment(text),
// each returning the text/event-stream bytes as a string. JS thread only.
#include <string>

#include "addon.h"

namespace ssekit_node {

namespace {

struct Field {
  bool present = false;
  std::string value;
};

Field Read(const Napi::Value &v) {
  Field f;
  if (v.IsUndefined() || v.IsNull()) return f;
  f.present = true;
  f.value = v.ToString().Utf8Value();
  return f;
}

template <typename F>
Napi::Value Encode(Napi::Env env, F f) {
  size_t need = 0;
  int rc = f(nullptr, 0, &need);
  if (rc == SSEKIT_E_BUFFER_TOO_SMALL || rc == SSEKIT_OK) {
    std::string out(need, '\0');
    rc = f(out.data(), out.size(), &need);
    if (rc == SSEKIT_OK) return Napi::String::New(env, out.data(), need);
  }
  Napi::Error e = Napi::TypeError::New(
      env, std::string("ssekit: cannot encode: ") + ssekit_strerror(rc) +
               " (an event type or id holding a line break, or an id holding NUL)");
  e.Set("errno", Napi::Number::New(env, rc));
  throw e;
}

Napi::Value EncodeEvent(const Napi::CallbackInfo &info) {
  Field type = Read(info[0]);
  Field id = Read(info[1]);
  Field data = Read(info[2]);
  int64_t retry = -1;
  if (info[3].IsNumber()) retry = info[3].As<Napi::Number>().Int64Value();
  return Encode(info.Env(), [&](char *out, size_t cap, size_t *len) {
    return ssekit_encode_event(type.present ? type.value.data() : nullptr, type.value.size(),
                               id.present ? id.value.data() : nullptr, id.value.size(),
                               data.present ? data.value.data() : nullptr, data.value.size(),
                               retry, out, cap, len);
  });
}

Napi::Value EncodeComment(const Napi::CallbackInfo &info) {
  std::string text = info[0].ToString().Utf8Value();
  return Encode(info.Env(), [&](char *out, size_t cap, size_t *len) {
    return ssekit_encode_comment(text.data(), text.size(), out, cap, len);
  });
}

}  // namespace

void InitEncode(Napi::Env env, Napi::Object exports) {
  exports.Set("encodeEvent", Napi::Function::New(env, EncodeEvent, "encodeEvent"));
  exports.Set("encodeComment", Napi::Function::New(env, EncodeComment, "encodeComment"));
}

}  // namespace ssekit_node
