// Per-environment state: the queue every stream of the environment delivers
// to, the ThreadSafeFunction that wakes the JS thread once per batch, and
// keeping the process alive while a stream is open. Everything here runs on
// the environment's JS thread, except OnReady (the loop thread).
#include <cstdint>

#include "addon.h"

namespace ssekit_node {

EnvState *State(Napi::Env env) { return env.GetInstanceData<EnvState>(); }

// Loop thread, with the queue's lock held: only signal the JS thread.
static void OnReady(void *userdata) {
  auto *state = static_cast<EnvState *>(userdata);
  if (state->alive.load(std::memory_order_acquire)) state->tsfn.NonBlockingCall();
}

// JS thread: a batch is ready (data is nullptr) or a stream's headers hook
// deferred and waits for the headers function (data is (id << 1) | 1).
void CallJs(Napi::Env env, Napi::Function, EnvState *state, void *data) {
  if (env == nullptr || state == nullptr || state->shut_down) return;
  if (data == nullptr) {
    DrainQueue(env, state);  // catches what it throws
    return;
  }
  const auto id = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data) >> 1);
  if (state->streams.count(id) == 0 || state->headers_handler.IsEmpty()) return;
  // Raw, as in DrainQueue: a failed call must not be fatal.
  napi_value arg = Napi::Number::New(env, id);
  napi_value result;
  napi_call_function(env, env.Undefined(), state->headers_handler.Value(), 1, &arg, &result);
}

// JS thread.
void StreamStarted(EnvState *state) {
  if (state->open++ == 0 && state->has_tsfn && !state->refed) {
    state->tsfn.Ref(state->handler.Env());
    state->refed = true;
  }
}

// JS thread.
void StreamClosed(EnvState *state) {
  if (state->open > 0 && --state->open == 0 && state->has_tsfn && state->refed) {
    state->tsfn.Unref(state->handler.Env());
    state->refed = false;
  }
}

// JS thread: stops every stream and waits (briefly, never for the network)
// until each has handed over its CLOSED item, so that no hook of ours runs
// on the loop thread once this returns. Called by the environment's cleanup
// hook and by process 'exit'.
void Shutdown(EnvState *state) {
  if (state->shut_down) return;
  state->shut_down = true;
  state->alive.store(false, std::memory_order_release);
  if (state->queue == nullptr) return;
  // Once this returns the ready callback is never called again.
  ssekit_queue_on_ready(state->queue, nullptr, nullptr);
  for (auto &entry : state->streams) {
    StreamCtx *ctx = entry.second;
    if (!ctx->released) {
      ctx->released = true;
      ssekit_stream_release(ctx->handle);
    }
  }
  // Each released stream pushes its CLOSED item from the loop thread soon
  // after; a stream's hooks never run after it.
  for (int waited = 0; !state->streams.empty() && waited < 200; ++waited) {
    ssekit_batch *batch = nullptr;
    if (ssekit_queue_take(state->queue, 10, &batch) != SSEKIT_OK || batch == nullptr) continue;
    for (size_t i = 0, n = ssekit_batch_count(batch); i < n; ++i) {
      const ssekit_item *item = ssekit_batch_item(batch, i);
      if (item->kind != SSEKIT_ITEM_CLOSED) continue;
      auto *ctx = static_cast<StreamCtx *>(item->userdata);
      state->streams.erase(ctx->id);
      delete ctx;
    }
    ssekit_batch_free(batch);
  }
  // Streams that did not answer in time keep their context, and the state
  // they point to: their hooks may still run.
  if (!state->streams.empty()) state->leaked = true;
  state->streams.clear();
  ssekit_queue_free(state->queue);
  state->queue = nullptr;
  if (state->has_tsfn) {
    if (state->refed) state->tsfn.Unref(state->handler.Env());
    state->refed = false;
  }
}

// JS thread: init(batchHandler, headersHandler), once per environment.
static Napi::Value Init(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  EnvState *state = State(env);
  if (state->has_tsfn) throw Napi::Error::New(env, "ssekit: init called twice");
  if (!info[0].IsFunction() || !info[1].IsFunction()) {
    throw Napi::TypeError::New(env, "init(batchHandler, headersHandler)");
  }
  state->handler = Napi::Persistent(info[0].As<Napi::Function>());
  state->headers_handler = Napi::Persistent(info[1].As<Napi::Function>());
  state->tsfn = Tsfn::New(env, "ssekit", 0, 1, state);
  state->tsfn.Unref(env);
  state->has_tsfn = true;
  // Registered after the ThreadSafeFunction, so it runs before Node-API
  // tears that down (cleanup hooks run in reverse order): the loop thread
  // may call it until Shutdown returns.
  env.AddCleanupHook([state] { Shutdown(state); });
  ssekit_queue_on_ready(state->queue, OnReady, state);
  return env.Undefined();
}

static Napi::Value ShutdownJs(const Napi::CallbackInfo &info) {
  Shutdown(State(info.Env()));
  return info.Env().Undefined();
}

static Napi::Value Strerror(const Napi::CallbackInfo &info) {
  return Napi::String::New(info.Env(), ssekit_strerror(info[0].As<Napi::Number>().Int32Value()));
}

static void FreeState(Napi::Env, EnvState *state) {
  if (!state->leaked) delete state;
}

void InitEnv(Napi::Env env, Napi::Object exports) {
  auto *state = new EnvState();
  state->queue = ssekit_queue_new(0, 0);
  if (state->queue == nullptr) {
    delete state;
    throw Napi::Error::New(env, "ssekit: could not create the delivery queue");
  }
  env.SetInstanceData<EnvState, FreeState>(state);
  exports.Set("init", Napi::Function::New(env, Init, "init"));
  exports.Set("shutdown", Napi::Function::New(env, ShutdownJs, "shutdown"));
  exports.Set("strerror", Napi::Function::New(env, Strerror, "strerror"));
}

}  // namespace ssekit_node
