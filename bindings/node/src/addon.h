// Shared declarations of the Node.js addon. The addon binds ssekit's C API
// only (ssekit.h); the JavaScript in bindings/node/lib builds the public API.
#ifndef SSEKIT_NODE_ADDON_H
#define SSEKIT_NODE_ADDON_H

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "ssekit.h"

namespace ssekit_node {

struct EnvState;

// One stream. Created and freed on the JS thread; the loop thread reads
// env, handle and has_headers_fn in the headers hook, which never runs
// after the stream's CLOSED item (the point where it is freed).
struct StreamCtx {
  EnvState *env = nullptr;
  ssekit_stream *handle = nullptr;  // never changes once started
  uint32_t id = 0;
  bool has_headers_fn = false;
  // JS thread only:
  bool released = false;  // ssekit_stream_release was called
  std::string last_type = "message";
  std::string last_id;
  std::vector<std::string> fn_headers;  // set by the headers function last time
};

// TSFN payloads other than nullptr (a batch is ready): a headers request.
struct BatchCall;
void CallJs(Napi::Env env, Napi::Function, EnvState *state, void *data);
using Tsfn = Napi::TypedThreadSafeFunction<EnvState, void, CallJs>;

// Per Node.js environment (the main thread, each worker): one queue shared
// by every stream of the environment, drained on its JS thread.
struct EnvState {
  ssekit_queue *queue = nullptr;
  Tsfn tsfn;
  bool has_tsfn = false;
  std::atomic<bool> alive{true};   // false once the environment shuts down
  Napi::FunctionReference handler;  // JS: (count, records, text, extras)
  Napi::FunctionReference headers_handler;  // JS: (streamId)
  Napi::Reference<Napi::Int32Array> records;
  int32_t *records_data = nullptr;
  size_t records_cap = 0;  // in items
  std::unordered_map<uint32_t, StreamCtx *> streams;  // started, CLOSED not taken
  uint32_t next_id = 1;
  size_t open = 0;  // streams keeping the process alive
  bool refed = false;
  std::string text;  // scratch, JS thread
  bool shut_down = false;
  bool leaked = false;  // a stream outlived Shutdown: never free this
};

// Record layout of one batch item in the Int32Array (kRecord ints each).
constexpr size_t kRecord = 8;

EnvState *State(Napi::Env env);
void Shutdown(EnvState *state);          // JS thread
void StreamStarted(EnvState *state);     // JS thread
void StreamClosed(EnvState *state);      // JS thread
void DrainQueue(Napi::Env env, EnvState *state);  // JS thread

// Exports of each part (binding.cc calls them from Init).
void InitEnv(Napi::Env env, Napi::Object exports);
void InitStream(Napi::Env env, Napi::Object exports);
void InitParser(Napi::Env env, Napi::Object exports);
void InitEncode(Napi::Env env, Napi::Object exports);

}  // namespace ssekit_node

#endif  // SSEKIT_NODE_ADDON_H
