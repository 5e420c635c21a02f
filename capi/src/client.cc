// The C ABI of the client: handles that collect options until start, then
// hand them to a core Stream that never changes them again.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include "http.h"
#include "loop.h"
#include "options.h"
#include "guard.h"
#include "ssekit.h"
#include "stream.h"
#include "handles.h"

struct ssekit_loop {
  std::unique_ptr<ssekit::Loop> loop;
};

struct ssekit_queue {
  std::shared_ptr<ssekit::Queue> queue;
};

struct ssekit_batch {
  std::unique_ptr<ssekit::Batch> batch;
};

struct ssekit_stream {
  ssekit::StreamOptions opts;
  ssekit::StreamCallbacks cbs;
  ssekit::Loop *loop = nullptr;
  std::shared_ptr<ssekit::Stream> stream;  // written once, before started
  std::atomic<bool> started{false};
};

namespace {

using ssekit::capi::guarded;

// Setters are for a stream that has not started.
template <typename F>
int configure(ssekit_stream *s, F f) noexcept {
  if (s == nullptr) return SSEKIT_E_INVALID;
  if (s->started.load(std::memory_order_acquire)) return SSEKIT_E_STATE;
  return guarded([&] { return f(*s); });
}

template <typename F>
int control(ssekit_stream *s, F f) noexcept {
  if (s == nullptr) return SSEKIT_E_INVALID;
  if (!s->started.load(std::memory_order_acquire)) return SSEKIT_E_STATE;
  return guarded([&] { return f(*s->stream); });
}

bool has_any(std::string_view s, const char *chars) {
  return s.find_first_of(chars) != std::string_view::npos;
}

bool header_name_ok(const char *name) {
  if (name == nullptr || *name == '\0') return false;
  for (const char *p = name; *p != '\0'; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c <= ' ' || c == ':' || c >= 0x7F) return false;
  }
  return true;
}

bool header_value_ok(const char *value) {
  return value != nullptr && !has_any(value, "\r\n");
}

int copy_out(const std::string &value, char *buf, size_t cap, size_t *len) {
  if (len == nullptr) return SSEKIT_E_INVALID;
  *len = value.size();
  if (buf == nullptr || cap < value.size()) return SSEKIT_E_BUFFER_TOO_SMALL;
  if (!value.empty()) std::memcpy(buf, value.data(), value.size());
  return SSEKIT_OK;
}

}  // namespace

extern "C" {

SSEKIT_EXTERN ssekit_loop *ssekit_loop_new(void) {
  try {
    auto *l = new ssekit_loop();
    l->loop = std::make_unique<ssekit::Loop>();
    return l;
  } catch (...) {
    return nullptr;
  }
}

SSEKIT_EXTERN void ssekit_loop_free(ssekit_loop *loop) {
  if (loop == nullptr) return;
  if (loop->loop->dead()) {
    // Made before fork(): its thread is the parent's, so it is abandoned.
    loop->loop->abandon();
    (void)loop->loop.release();
  } else if (loop->loop->on_loop_thread()) {
    // Joining the loop thread from itself would never return: it frees
    // itself once the callback in progress returns.
    loop->loop.release()->free_from_loop_thread();
  }
  delete loop;
}

SSEKIT_EXTERN ssekit_stream *ssekit_stream_new(const char *url) {
  if (url == nullptr) return nullptr;
  try {
    auto *s = new ssekit_stream();
    s->opts.url = url;
    return s;
  } catch (...) {
    return nullptr;
  }
}

SSEKIT_EXTERN void ssekit_stream_free(ssekit_stream *s) {
  if (s == nullptr) return;
  if (s->started.load(std::memory_order_acquire)) {
    try {
      // From a callback the handle must outlive `closed`, which may still
      // use it: it is then freed once the stream has stopped.
      if (!s->stream->close_or_defer([s] { delete s; })) return;
    } catch (...) {
      // close() only allocates to post a command; nothing to do if it fails.
    }
  }
  delete s;
}

SSEKIT_EXTERN int ssekit_stream_set_loop(ssekit_stream *s, ssekit_loop *loop) {
  return configure(s, [&](ssekit_stream &st) {
    st.loop = loop == nullptr ? nullptr : loop->loop.get();
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_set_userdata(ssekit_stream *s, void *userdata) {
  return configure(s, [&](ssekit_stream &st) {
    st.cbs.userdata = userdata;
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_set_method(ssekit_stream *s, const char *method) {
  if (!header_name_ok(method)) return SSEKIT_E_INVALID;
  return configure(s, [&](ssekit_stream &st) {
    st.opts.method = method;
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_set_body(ssekit_stream *s, const void *body, size_t len) {
  if (body == nullptr && len != 0) return SSEKIT_E_INVALID;
  return configure(s, [&](ssekit_stream &st) {
    if (body == nullptr) {
      st.opts.body.reset();
    } else {
      st.opts.body.emplace(static_cast<const char *>(body), len);
    }
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_add_header(ssekit_stream *s, const char *name,
                                           const char *value) {
  if (!header_name_ok(name) || !header_value_ok(value)) return SSEKIT_E_INVALID;
  return configure(s, [&](ssekit_stream &st) {
    ssekit::set_header(st.opts.headers, name, value);
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_set_header(ssekit_stream *s, const char *name,
                                           const char *value) {
  if (s == nullptr || !header_name_ok(name) || (value != nullptr && !header_value_ok(value)))
    return SSEKIT_E_INVALID;
  return guarded([&] {
    if (s->started.load(std::memory_order_acquire)) {
      s->stream->set_request_header(
          name, value == nullptr ? std::nullopt : std::optional<std::string>(value));
      return static_cast<int>(SSEKIT_OK);
    }
    ssekit::erase_header(s->opts.headers, name);
    if (value != nullptr) s->opts.headers.emplace_back(name, value);
    return static_cast<int>(SSEKIT_OK);
  });
}

SSEKIT_EXTERN int ssekit_stream_defer_auth(ssekit_stream *s) {
  return control(s, [](ssekit::Stream &st) { return st.defer_auth(); });
}

SSEKIT_EXTERN int ssekit_stream_defer_headers(ssekit_stream *s) {
  return control(s, [](ssekit::Stream &st) { return st.defer_headers(); });
}

SSEKIT_EXTERN int ssekit_stream_resume_headers(ssekit_stream *s, int proceed) {
  return control(s, [&](ssekit::Stream &st) { return st.resume_headers(proceed != 0); });
}

SSEKIT_EXTERN int ssekit_stream_resume_auth(ssekit_stream *s, int retry) {
  return control(s, [&](ssekit::Stream &st) { return st.resume_auth(retry != 0); });
}

SSEKIT_EXTERN int ssekit_stream_set_last_event_id(ssekit_stream *s, const char *id,
                                                  size_t len) {
  if (id == nullptr && len != 0) return SSEKIT_E_INVALID;
  const std::string_view v = id == nullptr ? std::string_view() : std::string_view(id, len);
  // The id travels in a header: no line breaks, and no NUL (which a stream
  // could not have set either).
  if (v.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
    return SSEKIT_E_INVALID;
  return configure(s, [&](ssekit_stream &st) {
    st.opts.last_event_id.assign(v.data(), v.size());
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_set_last_event_id_param(ssekit_stream *s, const char *name) {
  if (name == nullptr) return SSEKIT_E_INVALID;
  return configure(s, [&](ssekit_stream &st) {
    st.opts.last_event_id_param = name;
    return SSEKIT_OK;
  });
}

#define SSEKIT_SETTER(fn, type, field)                                  \
  SSEKIT_EXTERN int fn(ssekit_stream *s, type value) {                  \
    return configure(s, [&](ssekit_stream &st) {                        \
      st.opts.field = value;                                            \
      return SSEKIT_OK;                                                 \
    });                                                                 \
  }

// Durations are clamped to what the timers and libcurl take (about 24.8
// days), so "forever" written as UINT64_MAX means the longest wait there is.
#define SSEKIT_DURATION_SETTER(fn, field)                               \
  SSEKIT_EXTERN int fn(ssekit_stream *s, uint64_t ms) {                 \
    return configure(s, [&](ssekit_stream &st) {                        \
      st.opts.field = std::min(ms, ssekit::kMaxDurationMs);             \
      return SSEKIT_OK;                                                 \
    });                                                                 \
  }

SSEKIT_DURATION_SETTER(ssekit_stream_set_initial_delay, retry.initial_delay_ms)
SSEKIT_DURATION_SETTER(ssekit_stream_set_min_delay, retry.min_delay_ms)
SSEKIT_DURATION_SETTER(ssekit_stream_set_max_delay, retry.max_delay_ms)
SSEKIT_DURATION_SETTER(ssekit_stream_set_reset_after, retry.reset_after_ms)
SSEKIT_DURATION_SETTER(ssekit_stream_set_max_retry_after, retry.max_retry_after_ms)
SSEKIT_DURATION_SETTER(ssekit_stream_set_connect_timeout, connect_timeout_ms)
SSEKIT_DURATION_SETTER(ssekit_stream_set_read_timeout, read_timeout_ms)
SSEKIT_DURATION_SETTER(ssekit_stream_set_event_timeout, event_timeout_ms)
#undef SSEKIT_DURATION_SETTER

SSEKIT_SETTER(ssekit_stream_set_max_attempts, uint32_t, retry.max_attempts)
SSEKIT_SETTER(ssekit_stream_set_max_retry_time, uint64_t, retry.max_retry_time_ms)
SSEKIT_SETTER(ssekit_stream_set_max_line, size_t, max_line)
SSEKIT_SETTER(ssekit_stream_set_max_event, size_t, max_event)
SSEKIT_SETTER(ssekit_stream_set_max_redirects, uint32_t, max_redirects)
#undef SSEKIT_SETTER

SSEKIT_EXTERN int ssekit_stream_set_strict(ssekit_stream *s, int strict) {
  return configure(s, [&](ssekit_stream &st) {
    st.opts.retry.strict = strict != 0;
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_set_fail_first(ssekit_stream *s, int on) {
  return configure(s, [&](ssekit_stream &st) {
    st.opts.retry.fail_first = on != 0;
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_set_ack_errors(ssekit_stream *s, int on) {
  return configure(s, [&](ssekit_stream &st) {
    st.opts.retry.ack_errors = on != 0;
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_ack_error(ssekit_stream *s) {
  return control(s, [](ssekit::Stream &st) { return st.ack_error(); });
}

SSEKIT_EXTERN int ssekit_stream_set_reconnect(ssekit_stream *s, int on) {
  return configure(s, [&](ssekit_stream &st) {
    st.opts.retry.reconnect = on != 0;
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_set_on_end(ssekit_stream *s, int on_end) {
  if (on_end != SSEKIT_END_RECONNECT && on_end != SSEKIT_END_FINISH) return SSEKIT_E_INVALID;
  return configure(s, [&](ssekit_stream &st) {
    st.opts.retry.on_end = on_end;
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_set_done_sentinel(ssekit_stream *s, const char *data) {
  return configure(s, [&](ssekit_stream &st) {
    if (data == nullptr) {
      st.opts.done_sentinel.reset();
    } else {
      st.opts.done_sentinel = std::string(data);
    }
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_set_error_body(ssekit_stream *s, size_t max_bytes,
                                              uint64_t timeout_ms) {
  return configure(s, [&](ssekit_stream &st) {
    st.opts.max_error_body = max_bytes;
    st.opts.error_body_timeout_ms = std::min(timeout_ms, ssekit::kMaxDurationMs);
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_set_dispatch_unterminated(ssekit_stream *s, int on) {
  return configure(s, [&](ssekit_stream &st) {
    st.opts.dispatch_unterminated = on != 0;
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_set_dedupe(ssekit_stream *s, int on) {
  return configure(s, [&](ssekit_stream &st) {
    st.opts.dedupe = on != 0;
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_set_redirect_headers(ssekit_stream *s, int on) {
  return configure(s, [&](ssekit_stream &st) {
    st.opts.redirect_headers = on != 0;
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_set_insecure_redirects(ssekit_stream *s, int on) {
  return configure(s, [&](ssekit_stream &st) {
    st.opts.insecure_redirects = on != 0;
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_set_insecure(ssekit_stream *s, int insecure) {
  return configure(s, [&](ssekit_stream &st) {
    st.opts.insecure = insecure != 0;
    return SSEKIT_OK;
  });
}

#define SSEKIT_PATH_SETTER(fn, field)                                   \
  SSEKIT_EXTERN int fn(ssekit_stream *s, const char *value) {           \
    if (value == nullptr) return SSEKIT_E_INVALID;                      \
    return configure(s, [&](ssekit_stream &st) {                        \
      st.opts.field = value;                                            \
      return SSEKIT_OK;                                                 \
    });                                                                 \
  }

SSEKIT_PATH_SETTER(ssekit_stream_set_ca_file, ca_file)
SSEKIT_PATH_SETTER(ssekit_stream_set_ca_path, ca_path)
SSEKIT_PATH_SETTER(ssekit_stream_set_proxy, proxy)
SSEKIT_PATH_SETTER(ssekit_stream_set_cookie_file, cookie_file)
#undef SSEKIT_PATH_SETTER

SSEKIT_EXTERN int ssekit_stream_set_client_cert(ssekit_stream *s, const char *cert_path,
                                                const char *key_path) {
  if (cert_path == nullptr) return SSEKIT_E_INVALID;
  return configure(s, [&](ssekit_stream &st) {
    st.opts.client_cert = cert_path;
    st.opts.client_key = key_path == nullptr ? "" : key_path;
    return SSEKIT_OK;
  });
}

#define SSEKIT_CALLBACK_SETTER(fn, type, field)                         \
  SSEKIT_EXTERN int fn(ssekit_stream *s, type cb) {                     \
    return configure(s, [&](ssekit_stream &st) {                        \
      st.cbs.field = cb;                                                \
      return SSEKIT_OK;                                                 \
    });                                                                 \
  }

SSEKIT_CALLBACK_SETTER(ssekit_stream_on_open, ssekit_open_cb, open)
SSEKIT_CALLBACK_SETTER(ssekit_stream_on_event, ssekit_event_cb, event)
SSEKIT_CALLBACK_SETTER(ssekit_stream_on_comment, ssekit_comment_cb, comment)
SSEKIT_CALLBACK_SETTER(ssekit_stream_on_retry, ssekit_retry_cb, retry)
SSEKIT_CALLBACK_SETTER(ssekit_stream_on_error, ssekit_error_cb, error)
SSEKIT_CALLBACK_SETTER(ssekit_stream_on_failure, ssekit_failure_cb, failure)
SSEKIT_CALLBACK_SETTER(ssekit_stream_on_state, ssekit_state_cb, state)
SSEKIT_CALLBACK_SETTER(ssekit_stream_on_closed, ssekit_closed_cb, closed)
SSEKIT_CALLBACK_SETTER(ssekit_stream_on_headers, ssekit_headers_cb, headers)
SSEKIT_CALLBACK_SETTER(ssekit_stream_on_auth, ssekit_auth_cb, auth)
#undef SSEKIT_CALLBACK_SETTER

SSEKIT_EXTERN int ssekit_stream_add_listener(ssekit_stream *s, const char *type,
                                             ssekit_event_cb cb) {
  if (s == nullptr || type == nullptr) return SSEKIT_E_INVALID;
  // A running stream changes its listeners on the loop thread.
  if (s->started.load(std::memory_order_acquire))
    return guarded([&] {
      s->stream->set_listener(type, cb);
      return static_cast<int>(SSEKIT_OK);
    });
  return configure(s, [&](ssekit_stream &st) {
    ssekit::set_listener(st.cbs.listeners, type, cb);
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_start(ssekit_stream *s) {
  if (s == nullptr) return SSEKIT_E_INVALID;
  if (s->started.load(std::memory_order_acquire)) return SSEKIT_E_STATE;
  return guarded([&] {
    ssekit::Loop &loop = s->loop != nullptr ? *s->loop : ssekit::Loop::shared();
    if (loop.dead()) return static_cast<int>(SSEKIT_E_STATE);
    s->stream = std::make_shared<ssekit::Stream>(loop, s->opts, s->cbs);
    s->started.store(true, std::memory_order_release);
    s->stream->start();
    return static_cast<int>(SSEKIT_OK);
  });
}

SSEKIT_EXTERN void ssekit_stream_release(ssekit_stream *s) {
  if (s == nullptr) return;
  if (!s->started.load(std::memory_order_acquire)) {
    delete s;
    return;
  }
  try {
    s->stream->release([s] { delete s; });
  } catch (...) {
    // Posting the stop could not allocate; the stream stops with its loop.
  }
}

SSEKIT_EXTERN int ssekit_stream_close(ssekit_stream *s) {
  if (s == nullptr) return SSEKIT_E_INVALID;
  if (!s->started.load(std::memory_order_acquire)) return SSEKIT_OK;
  return guarded([&] {
    s->stream->close();
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_stream_restart(ssekit_stream *s) {
  return control(s, [](ssekit::Stream &st) { return st.restart(); });
}

SSEKIT_EXTERN int ssekit_stream_pause(ssekit_stream *s) {
  return control(s, [](ssekit::Stream &st) { return st.pause(); });
}

SSEKIT_EXTERN int ssekit_stream_resume(ssekit_stream *s) {
  return control(s, [](ssekit::Stream &st) { return st.resume(); });
}

SSEKIT_EXTERN int ssekit_stream_state(const ssekit_stream *s) {
  if (s == nullptr || !s->started.load(std::memory_order_acquire)) return SSEKIT_STATE_CLOSED;
  return s->stream->state();
}

SSEKIT_EXTERN uint64_t ssekit_stream_metric(const ssekit_stream *s, int metric) {
  if (s == nullptr || !s->started.load(std::memory_order_acquire)) return 0;
  return s->stream->metric(metric);
}

SSEKIT_EXTERN int ssekit_stream_last_event_id(const ssekit_stream *s, char *buf, size_t cap,
                                              size_t *len) {
  if (s == nullptr) return SSEKIT_E_INVALID;
  return guarded([&] {
    return copy_out(s->started.load(std::memory_order_acquire) ? s->stream->last_event_id()
                                                               : s->opts.last_event_id,
                    buf, cap, len);
  });
}

SSEKIT_EXTERN int ssekit_stream_url(const ssekit_stream *s, char *buf, size_t cap, size_t *len) {
  if (s == nullptr) return SSEKIT_E_INVALID;
  return guarded([&] {
    return copy_out(
        s->started.load(std::memory_order_acquire) ? s->stream->url() : s->opts.url, buf, cap,
        len);
  });
}

SSEKIT_EXTERN int ssekit_response_status(const ssekit_response *cr) {
  const auto *r = ssekit::capi::view(cr);
  return r == nullptr ? 0 : r->status;
}

SSEKIT_EXTERN const char *ssekit_response_header(const ssekit_response *cr, const char *name) {
  const auto *r = ssekit::capi::view(cr);
  if (r == nullptr || name == nullptr) return nullptr;
  for (const auto &h : *r->headers)
    if (ssekit::http::iequals(h.first, name)) return h.second.c_str();
  return nullptr;
}

SSEKIT_EXTERN size_t ssekit_response_header_count(const ssekit_response *cr) {
  const auto *r = ssekit::capi::view(cr);
  return r == nullptr ? 0 : r->headers->size();
}

SSEKIT_EXTERN int ssekit_response_header_at(const ssekit_response *cr, size_t i,
                                            const char **name, const char **value) {
  const auto *r = ssekit::capi::view(cr);
  if (r == nullptr || i >= r->headers->size()) return SSEKIT_E_INVALID;
  const auto &h = (*r->headers)[i];
  if (name != nullptr) *name = h.first.c_str();
  if (value != nullptr) *value = h.second.c_str();
  return SSEKIT_OK;
}

SSEKIT_EXTERN int ssekit_failure_code(const ssekit_failure *cf) {
  const auto *f = ssekit::capi::view(cf);
  return f == nullptr ? SSEKIT_E_INVALID : f->code;
}

SSEKIT_EXTERN int ssekit_failure_status(const ssekit_failure *cf) {
  const auto *f = ssekit::capi::view(cf);
  return f == nullptr ? 0 : f->status;
}

SSEKIT_EXTERN const char *ssekit_failure_message(const ssekit_failure *cf) {
  const auto *f = ssekit::capi::view(cf);
  return f == nullptr ? "" : f->message;
}

SSEKIT_EXTERN int ssekit_failure_will_retry(const ssekit_failure *cf) {
  const auto *f = ssekit::capi::view(cf);
  return f == nullptr ? 0 : f->will_retry;
}

SSEKIT_EXTERN uint64_t ssekit_failure_retry_ms(const ssekit_failure *cf) {
  const auto *f = ssekit::capi::view(cf);
  return f == nullptr ? 0 : f->retry_ms;
}

SSEKIT_EXTERN const char *ssekit_failure_header(const ssekit_failure *cf, const char *name) {
  const auto *f = ssekit::capi::view(cf);
  if (f == nullptr || name == nullptr) return nullptr;
  for (const auto &h : *f->headers)
    if (ssekit::http::iequals(h.first, name)) return h.second.c_str();
  return nullptr;
}

SSEKIT_EXTERN size_t ssekit_failure_header_count(const ssekit_failure *cf) {
  const auto *f = ssekit::capi::view(cf);
  return f == nullptr ? 0 : f->headers->size();
}

SSEKIT_EXTERN int ssekit_failure_header_at(const ssekit_failure *cf, size_t i, const char **name,
                                           const char **value) {
  const auto *f = ssekit::capi::view(cf);
  if (f == nullptr || i >= f->headers->size()) return SSEKIT_E_INVALID;
  const auto &h = (*f->headers)[i];
  if (name != nullptr) *name = h.first.c_str();
  if (value != nullptr) *value = h.second.c_str();
  return SSEKIT_OK;
}

SSEKIT_EXTERN const char *ssekit_failure_body(const ssekit_failure *cf, size_t *len) {
  const auto *f = ssekit::capi::view(cf);
  if (f == nullptr) {
    if (len != nullptr) *len = 0;
    return "";
  }
  if (len != nullptr) *len = f->body->size();
  return f->body->c_str();
}

SSEKIT_EXTERN ssekit_queue *ssekit_queue_new(size_t max_items, size_t max_bytes) {
  try {
    auto *q = new ssekit_queue();
    q->queue = std::make_shared<ssekit::Queue>(max_items, max_bytes);
    return q;
  } catch (...) {
    return nullptr;
  }
}

SSEKIT_EXTERN void ssekit_queue_free(ssekit_queue *q) { delete q; }

SSEKIT_EXTERN int ssekit_stream_set_queue(ssekit_stream *s, ssekit_queue *q) {
  return configure(s, [&](ssekit_stream &st) {
    st.cbs.queue = q == nullptr ? nullptr : q->queue;
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_queue_fd(const ssekit_queue *q) {
  return q == nullptr ? -1 : q->queue->fd();
}

SSEKIT_EXTERN int ssekit_queue_on_ready(ssekit_queue *q, void (*cb)(void *), void *userdata) {
  if (q == nullptr) return SSEKIT_E_INVALID;
  q->queue->set_ready(cb, userdata);
  return SSEKIT_OK;
}

SSEKIT_EXTERN int ssekit_queue_take(ssekit_queue *q, int64_t timeout_ms, ssekit_batch **batch) {
  if (q == nullptr || batch == nullptr) return SSEKIT_E_INVALID;
  *batch = nullptr;
  return guarded([&] {
    // The wrapper first: once taken, items must not be lost to a failed
    // allocation.
    auto wrapper = std::make_unique<ssekit_batch>();
    wrapper->batch = q->queue->take(timeout_ms);
    if (wrapper->batch) *batch = wrapper.release();
    return static_cast<int>(SSEKIT_OK);
  });
}

SSEKIT_EXTERN size_t ssekit_batch_count(const ssekit_batch *b) {
  return b == nullptr ? 0 : b->batch->items.size();
}

SSEKIT_EXTERN const ssekit_item *ssekit_batch_item(const ssekit_batch *b, size_t i) {
  if (b == nullptr || i >= b->batch->items.size()) return nullptr;
  return b->batch->items[i];
}

SSEKIT_EXTERN void ssekit_batch_free(ssekit_batch *b) { delete b; }

SSEKIT_EXTERN int ssekit_headers_set(ssekit_headers *ch, const char *name, const char *value) {
  auto *h = ssekit::capi::view(ch);
  if (h == nullptr || !header_name_ok(name) || !header_value_ok(value)) return SSEKIT_E_INVALID;
  return guarded([&] {
    ssekit::set_header(h->items, name, value);
    return SSEKIT_OK;
  });
}

}  // extern "C"
