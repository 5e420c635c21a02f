// Streams: created, configured and started from one options object, then
// steered by id. Every function here runs on the JS thread, except
// HeadersHook, which runs on the loop thread.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "addon.h"

namespace ssekit_node {

namespace {

void Check(Napi::Env env, int rc, const char *what) {
  if (rc == SSEKIT_OK) return;
  Napi::Error e = Napi::Error::New(env, std::string("ssekit: ") + what + ": " + ssekit_strerror(rc));
  e.Set("errno", Napi::Number::New(env, rc));
  throw e;
}

bool Has(const Napi::Object &o, const char *key) {
  Napi::Value v = o.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}

uint64_t Millis(const Napi::Object &o, const char *key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (std::isnan(d) || d < 0) {
    throw Napi::RangeError::New(o.Env(), std::string(key) + " must be a number >= 0");
  }
  if (d >= 18446744073709551615.0) return UINT64_MAX;
  return static_cast<uint64_t>(d);
}

std::string Str(const Napi::Object &o, const char *key) {
  return o.Get(key).ToString().Utf8Value();
}

bool Flag(const Napi::Object &o, const char *key) { return o.Get(key).ToBoolean().Value(); }

// Loop thread: the stream is about to connect. The JS headers function
// answers on the JS thread, so the hook defers and signals it.
int HeadersHook(ssekit_headers *, void *userdata) {
  auto *ctx = static_cast<StreamCtx *>(userdata);
  EnvState *state = ctx->env;
  if (!state->alive.load(std::memory_order_acquire)) return 1;
  if (ssekit_stream_defer_headers(ctx->handle) != SSEKIT_OK) return 1;
  void *data = reinterpret_cast<void *>((static_cast<uintptr_t>(ctx->id) << 1) | 1u);
  if (state->tsfn.NonBlockingCall(data) != napi_ok) ssekit_stream_resume_headers(ctx->handle, 0);
  return 0;
}

void Configure(Napi::Env env, ssekit_stream *s, const Napi::Object &o) {
  if (Has(o, "method")) Check(env, ssekit_stream_set_method(s, Str(o, "method").c_str()), "method");
  if (Has(o, "body")) {
    Napi::Value b = o.Get("body");
    if (b.IsBuffer()) {
      auto buf = b.As<Napi::Buffer<char>>();
      Check(env, ssekit_stream_set_body(s, buf.Data(), buf.Length()), "body");
    } else {
      std::string body = b.ToString().Utf8Value();
      Check(env, ssekit_stream_set_body(s, body.data(), body.size()), "body");
    }
  }
  if (Has(o, "headers")) {
    Napi::Array h = o.Get("headers").As<Napi::Array>();
    for (uint32_t i = 0; i + 1 < h.Length(); i += 2) {
      std::string name = h.Get(i).ToString().Utf8Value();
      std::string value = h.Get(i + 1).ToString().Utf8Value();
      Check(env, ssekit_stream_set_header(s, name.c_str(), value.c_str()), "headers");
    }
  }
  if (Has(o, "lastEventId")) {
    std::string id = Str(o, "lastEventId");
    Check(env, ssekit_stream_set_last_event_id(s, id.data(), id.size()), "lastEventId");
  }
  if (Has(o, "lastEventIdParam")) {
    Check(env, ssekit_stream_set_last_event_id_param(s, Str(o, "lastEventIdParam").c_str()),
          "lastEventIdParam");
  }
  struct DurationOpt {
    const char *key;
    int (*set)(ssekit_stream *, uint64_t);
  };
  static const DurationOpt durations[] = {
      {"initialDelay", ssekit_stream_set_initial_delay},
      {"minDelay", ssekit_stream_set_min_delay},
      {"maxDelay", ssekit_stream_set_max_delay},
      {"resetAfter", ssekit_stream_set_reset_after},
      {"maxRetryAfter", ssekit_stream_set_max_retry_after},
      {"maxRetryTime", ssekit_stream_set_max_retry_time},
      {"connectTimeout", ssekit_stream_set_connect_timeout},
      {"readTimeout", ssekit_stream_set_read_timeout},
      {"eventTimeout", ssekit_stream_set_event_timeout},
  };
  for (const auto &d : durations) {
    if (Has(o, d.key)) Check(env, d.set(s, Millis(o, d.key)), d.key);
  }
  if (Has(o, "maxAttempts")) {
    uint64_t v = Millis(o, "maxAttempts");
    Check(env, ssekit_stream_set_max_attempts(s, static_cast<uint32_t>(std::min<uint64_t>(v, UINT32_MAX))),
          "maxAttempts");
  }
  if (Has(o, "maxRedirects")) {
    uint64_t v = Millis(o, "maxRedirects");
    Check(env, ssekit_stream_set_max_redirects(s, static_cast<uint32_t>(std::min<uint64_t>(v, UINT32_MAX))),
          "maxRedirects");
  }
  if (Has(o, "errorBodyMax") || Has(o, "errorBodyTimeout")) {
    size_t max = Has(o, "errorBodyMax") ? static_cast<size_t>(Millis(o, "errorBodyMax")) : 65536;
    uint64_t t = Has(o, "errorBodyTimeout") ? Millis(o, "errorBodyTimeout") : 5000;
    Check(env, ssekit_stream_set_error_body(s, max, t), "errorBody");
  }
  if (Has(o, "maxLine")) Check(env, ssekit_stream_set_max_line(s, Millis(o, "maxLine")), "maxLine");
  if (Has(o, "maxEvent")) Check(env, ssekit_stream_set_max_event(s, Millis(o, "maxEvent")), "maxEvent");
  struct FlagOpt {
    const char *key;
    int (*set)(ssekit_stream *, int);
  };
  static const FlagOpt flags[] = {
      {"strict", ssekit_stream_set_strict},
      {"dispatchUnterminated", ssekit_stream_set_dispatch_unterminated},
      {"dedupe", ssekit_stream_set_dedupe},
      {"redirectHeaders", ssekit_stream_set_redirect_headers},
      {"insecureRedirects", ssekit_stream_set_insecure_redirects},
      {"insecure", ssekit_stream_set_insecure},
  };
  for (const auto &f : flags) {
    if (Has(o, f.key)) Check(env, f.set(s, Flag(o, f.key) ? 1 : 0), f.key);
  }
  if (Has(o, "reconnect")) {
    Check(env, ssekit_stream_set_reconnect(s, Flag(o, "reconnect") ? 1 : 0), "reconnect");
  }
  // Events reach JavaScript after the loop moved on: a reconnect waits for
  // ackError(id), which the wrappers call after their error listeners ran,
  // so a close() in onerror is never followed by another request.
  Check(env, ssekit_stream_set_ack_errors(s, 1), "ackErrors");
  if (Has(o, "failFirst")) {
    Check(env, ssekit_stream_set_fail_first(s, Flag(o, "failFirst") ? 1 : 0), "failFirst");
  }
  if (Has(o, "oneShot")) {
    Check(env,
          ssekit_stream_set_on_end(s, Flag(o, "oneShot") ? SSEKIT_END_FINISH : SSEKIT_END_RECONNECT),
          "oneShot");
  }
  if (Has(o, "doneSentinel")) {
    Check(env, ssekit_stream_set_done_sentinel(s, Str(o, "doneSentinel").c_str()), "doneSentinel");
  }
  struct PathOpt {
    const char *key;
    int (*set)(ssekit_stream *, const char *);
  };
  static const PathOpt paths[] = {
      {"caFile", ssekit_stream_set_ca_file},
      {"caPath", ssekit_stream_set_ca_path},
      {"proxy", ssekit_stream_set_proxy},
      {"cookieFile", ssekit_stream_set_cookie_file},
  };
  for (const auto &p : paths) {
    if (Has(o, p.key)) Check(env, p.set(s, Str(o, p.key).c_str()), p.key);
  }
  if (Has(o, "certFile")) {
    std::string cert = Str(o, "certFile");
    std::string key = Has(o, "keyFile") ? Str(o, "keyFile") : std::string();
    Check(env, ssekit_stream_set_client_cert(s, cert.c_str(), key.empty() ? nullptr : key.c_str()),
          "certFile");
  }
}

StreamCtx *Find(const Napi::CallbackInfo &info) {
  EnvState *state = State(info.Env());
  auto it = state->streams.find(info[0].As<Napi::Number>().Uint32Value());
  return it == state->streams.end() ? nullptr : it->second;
}

// create(url, options) -> id: a started stream delivering to the queue.
Napi::Value Create(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  EnvState *state = State(env);
  if (!state->has_tsfn || state->shut_down) throw Napi::Error::New(env, "ssekit: not initialized");
  std::string url = info[0].ToString().Utf8Value();
  Napi::Object o = info[1].As<Napi::Object>();
  ssekit_stream *s = ssekit_stream_new(url.c_str());
  if (s == nullptr) throw Napi::Error::New(env, "ssekit: out of memory");
  auto *ctx = new StreamCtx();
  ctx->env = state;
  ctx->handle = s;
  ctx->id = state->next_id++;
  try {
    Configure(env, s, o);
    if (Has(o, "lastEventId")) ctx->last_id = Str(o, "lastEventId");
    ctx->has_headers_fn = Flag(o, "headersFn");
    if (ctx->has_headers_fn) Check(env, ssekit_stream_on_headers(s, HeadersHook), "headers");
    Check(env, ssekit_stream_set_userdata(s, ctx), "userdata");
    Check(env, ssekit_stream_set_queue(s, state->queue), "queue");
    Check(env, ssekit_stream_start(s), "start");
  } catch (...) {
    ssekit_stream_free(s);
    delete ctx;
    throw;
  }
  state->streams.emplace(ctx->id, ctx);
  StreamStarted(state);
  return Napi::Number::New(env, ctx->id);
}

// close(id): stops the stream without waiting; its CLOSED item follows.
Napi::Value Close(const Napi::CallbackInfo &info) {
  StreamCtx *ctx = Find(info);
  if (ctx != nullptr && !ctx->released) {
    ctx->released = true;
    ssekit_stream_release(ctx->handle);
  }
  return info.Env().Undefined();
}

// setHeader(id, name, value | null): applies from the next attempt on.
Napi::Value SetHeader(const Napi::CallbackInfo &info) {
  StreamCtx *ctx = Find(info);
  if (ctx == nullptr || ctx->released) return Napi::Boolean::New(info.Env(), false);
  std::string name = info[1].ToString().Utf8Value();
  int rc;
  if (info[2].IsNull() || info[2].IsUndefined()) {
    rc = ssekit_stream_set_header(ctx->handle, name.c_str(), nullptr);
  } else {
    std::string value = info[2].ToString().Utf8Value();
    rc = ssekit_stream_set_header(ctx->handle, name.c_str(), value.c_str());
  }
  Check(info.Env(), rc, "setHeader");
  return Napi::Boolean::New(info.Env(), true);
}

// resumeHeaders(id, proceed, [name, value, ...]): the headers function's
// answer. Headers it returned last time but not now are removed. Returns
// the name of a header the C API refused (the attempt then fails), if any.
Napi::Value ResumeHeaders(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  StreamCtx *ctx = Find(info);
  if (ctx == nullptr || ctx->released) return env.Undefined();
  bool proceed = info[1].ToBoolean().Value();
  std::optional<std::string> refused;  // a header the C API would not take
  if (proceed && info[2].IsArray()) {
    Napi::Array h = info[2].As<Napi::Array>();
    std::vector<std::string> names;
    int rc = SSEKIT_OK;
    for (uint32_t i = 0; i + 1 < h.Length() && rc == SSEKIT_OK; i += 2) {
      std::string name = h.Get(i).ToString().Utf8Value();
      std::string value = h.Get(i + 1).ToString().Utf8Value();
      rc = ssekit_stream_set_header(ctx->handle, name.c_str(), value.c_str());
      if (rc == SSEKIT_E_INVALID) refused = name;
      names.push_back(std::move(name));
    }
    for (const std::string &old : ctx->fn_headers) {
      bool kept = false;
      for (const std::string &n : names) {
        if (n.size() == old.size() &&
            std::equal(n.begin(), n.end(), old.begin(),
                       [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
          kept = true;
        }
      }
      if (!kept) ssekit_stream_set_header(ctx->handle, old.c_str(), nullptr);
    }
    ctx->fn_headers = std::move(names);
    if (rc != SSEKIT_OK) proceed = false;
  }
  ssekit_stream_resume_headers(ctx->handle, proceed ? 1 : 0);
  // Its name, for the error the refusal brings (never its value: a token).
  return refused ? Napi::String::New(env, *refused) : env.Undefined();
}

// pause(id) / resume(id): a consumer that fell behind stops reading.
Napi::Value Pause(const Napi::CallbackInfo &info) {
  StreamCtx *ctx = Find(info);
  if (ctx != nullptr && !ctx->released) ssekit_stream_pause(ctx->handle);
  return info.Env().Undefined();
}

Napi::Value Resume(const Napi::CallbackInfo &info) {
  StreamCtx *ctx = Find(info);
  if (ctx != nullptr && !ctx->released) ssekit_stream_resume(ctx->handle);
  return info.Env().Undefined();
}

// ackError(id): the error listeners ran and left the stream open.
Napi::Value AckError(const Napi::CallbackInfo &info) {
  StreamCtx *ctx = Find(info);
  if (ctx != nullptr && !ctx->released) ssekit_stream_ack_error(ctx->handle);
  return info.Env().Undefined();
}

Napi::Value Url(const Napi::CallbackInfo &info) {
  StreamCtx *ctx = Find(info);
  if (ctx == nullptr || ctx->released) return info.Env().Undefined();
  size_t len = 0;
  ssekit_stream_url(ctx->handle, nullptr, 0, &len);
  std::string buf(len, '\0');
  if (ssekit_stream_url(ctx->handle, buf.data(), buf.size(), &len) != SSEKIT_OK) {
    return info.Env().Undefined();
  }
  return Napi::String::New(info.Env(), buf.data(), len);
}

Napi::Value Metric(const Napi::CallbackInfo &info) {
  StreamCtx *ctx = Find(info);
  if (ctx == nullptr || ctx->released) return Napi::Number::New(info.Env(), 0);
  return Napi::Number::New(info.Env(), static_cast<double>(ssekit_stream_metric(
                                           ctx->handle, info[1].As<Napi::Number>().Int32Value())));
}

}  // namespace

void InitStream(Napi::Env env, Napi::Object exports) {
  exports.Set("create", Napi::Function::New(env, Create, "create"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("setHeader", Napi::Function::New(env, SetHeader, "setHeader"));
  exports.Set("resumeHeaders", Napi::Function::New(env, ResumeHeaders, "resumeHeaders"));
  exports.Set("pause", Napi::Function::New(env, Pause, "pause"));
  exports.Set("ackError", Napi::Function::New(env, AckError, "ackError"));
  exports.Set("resume", Napi::Function::New(env, Resume, "resume"));
  exports.Set("url", Napi::Function::New(env, Url, "url"));
  exports.Set("metric", Napi::Function::New(env, Metric, "metric"));
}

}  // namespace ssekit_node
