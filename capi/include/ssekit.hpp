// ssekit.hpp: a header-only C++17 API over the C ABI of ssekit.h.
//
// Everything here calls the C functions of ssekit.h and nothing else, so a
// C++ program links the same stable ABI as a C one (libssekit.so.0 and its
// symbol versions, see ssekit.h) and no C++ type crosses the library
// boundary: any compiler and standard library can use this header. There is
// no extra library to link. ssekit.h stays the reference manual; this file
// documents what the C++ layer adds.
//
// Errors. Constructors, setters and Stream::start throw ssekit::Error (a
// std::runtime_error with the C code): a rejected setting is a programming
// error that shows the first time the code runs, and the RAII handles make
// unwinding out of a half-configured stream safe, which is what C++ callers
// expect. What the network or a server does is not exceptional and is never
// thrown: Parser::feed and finish return the C code (a hostile stream that
// exceeds a limit is data), failures reach on_failure, and the control calls
// that race with a stream closing on its own (close, restart, pause, resume,
// defer_auth, resume_auth) return the code as well.
//
// Callbacks are std::function objects. Stream callbacks run on the loop
// thread (see "Threads" in ssekit.h); the views they receive (Event,
// Response, Failure, Headers, comments as std::string_view) are valid only
// during the call. Set callbacks before start, like the other settings;
// add_listener, set_header and remove_header also work on a running stream,
// from any thread, as their C functions do.
//
// Exceptions never cross into the library: every trampoline catches.
// - Parser: the callback's exception stops the parser (as a non-zero return
//   does in C) and is rethrown by the feed or finish call in progress, once
//   that call is back in C++. The parser keeps its SSEKIT_E_CALLBACK error
//   until reset().
// - Stream: the exception closes the stream (ssekit_stream_close from inside
//   the callback, plus the return value that stops, where the C callback
//   type has one), so on_closed then sees SSEKIT_E_CLOSED. The first exception is
//   kept: Stream::callback_exception() returns it and
//   Stream::rethrow_callback_exception() rethrows it on the caller's thread.
//   An exception thrown by on_closed itself is kept the same way.
#ifndef SSEKIT_HPP
#define SSEKIT_HPP

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ssekit.h"

namespace ssekit {

class Error : public std::runtime_error {
 public:
  // what() is "<C function>: <ssekit_strerror(code)>".
  Error(int code, const char *function)
      : std::runtime_error(std::string(function) + ": " + ssekit_strerror(code)),
        code_(code) {}
  // An ssekit_error.
  int code() const noexcept { return code_; }

 private:
  int code_;
};

inline std::string_view error_message(int code) noexcept { return ssekit_strerror(code); }
inline std::string_view version() noexcept { return ssekit_version(); }
inline unsigned int version_num() noexcept { return ssekit_version_num(); }
// Whether the library loaded is at least the one this header describes (see
// the ABI policy in ssekit.h); check it at start-up.
inline bool library_is_compatible() noexcept {
  return ssekit_version_num() >= SSEKIT_VERSION_NUM;
}

// One event, as ssekit_event; valid only during the callback.
struct Event {
  std::string_view type, data, id;
};

using HeaderList = std::vector<std::pair<std::string_view, std::string_view>>;

// Values may grow in later versions (ssekit.h's ABI policy); an enum class
// holds any of them.
enum class State : int {
  connecting = SSEKIT_STATE_CONNECTING,
  open = SSEKIT_STATE_OPEN,
  closed = SSEKIT_STATE_CLOSED
};

enum class OnEnd : int { reconnect = SSEKIT_END_RECONNECT, finish = SSEKIT_END_FINISH };

enum class Metric : int {
  bytes = SSEKIT_METRIC_BYTES,
  events = SSEKIT_METRIC_EVENTS,
  reconnects = SSEKIT_METRIC_RECONNECTS,
  last_status = SSEKIT_METRIC_LAST_STATUS,
  idle_ms = SSEKIT_METRIC_IDLE_MS,
  connections = SSEKIT_METRIC_CONNECTIONS,
  deduped = SSEKIT_METRIC_DEDUPED
};

namespace detail {

inline void check(int rc, const char *function) {
  if (rc != SSEKIT_OK) throw Error(rc, function);
}

// The C API takes NUL-terminated strings there; a NUL inside would cut the
// value short without a word, so it is refused instead.
inline std::string c_string(std::string_view s, const char *function) {
  if (s.find('\0') != std::string_view::npos) throw Error(SSEKIT_E_INVALID, function);
  return std::string(s);
}

inline std::uint64_t to_ms(std::chrono::milliseconds d, const char *function) {
  if (d.count() < 0) throw Error(SSEKIT_E_INVALID, function);
  return static_cast<std::uint64_t>(d.count());
}

inline std::chrono::milliseconds from_ms(std::uint64_t ms) noexcept {
  using Rep = std::chrono::milliseconds::rep;
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<Rep>::max());
  return std::chrono::milliseconds(static_cast<Rep>(ms < max ? ms : max));
}

// Keeps a parameter out of template deduction: the trampolines are noexcept,
// the C callback types are not, and the first converts to the second.
template <class T>
struct identity {
  using type = T;
};

inline Event to_event(const ssekit_event *ev) noexcept {
  return Event{std::string_view(ev->type, ev->type_len),
               std::string_view(ev->data, ev->data_len),
               std::string_view(ev->id, ev->id_len)};
}

template <class H>
std::optional<std::string_view> find_header(const H *h, std::string_view name,
                                            const char *(*lookup)(const H *, const char *)) {
  if (name.find('\0') != std::string_view::npos) return std::nullopt;
  const char *value = lookup(h, std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string_view(value);
}

template <class H>
HeaderList list_headers(const H *h, std::size_t (*count)(const H *),
                        int (*at)(const H *, std::size_t, const char **, const char **)) {
  HeaderList out;
  const std::size_t n = count(h);
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const char *name = nullptr;
    const char *value = nullptr;
    if (at(h, i, &name, &value) == SSEKIT_OK) out.emplace_back(name, value);
  }
  return out;
}

}  // namespace detail

// The response that opened a stream (the open callback only).
class Response {
 public:
  explicit Response(const ssekit_response *r) noexcept : r_(r) {}
  Response(const Response &) = delete;
  Response &operator=(const Response &) = delete;

  int status() const noexcept { return ssekit_response_status(r_); }
  // The first header of that name (case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const {
    return detail::find_header(r_, name, &ssekit_response_header);
  }
  // Every header, in arrival order.
  HeaderList headers() const {
    return detail::list_headers(r_, &ssekit_response_header_count, &ssekit_response_header_at);
  }
  const ssekit_response *native_handle() const noexcept { return r_; }

 private:
  const ssekit_response *r_;
};

// What went wrong (the failure callback only); see ssekit_failure_* in
// ssekit.h.
class Failure {
 public:
  explicit Failure(const ssekit_failure *f) noexcept : f_(f) {}
  Failure(const Failure &) = delete;
  Failure &operator=(const Failure &) = delete;

  // An ssekit_error.
  int code() const noexcept { return ssekit_failure_code(f_); }
  // The HTTP status, or 0.
  int status() const noexcept { return ssekit_failure_status(f_); }
  std::string_view message() const noexcept { return ssekit_failure_message(f_); }
  // Whether the stream reconnects, and after how long; without a retry,
  // on_closed follows.
  bool will_retry() const noexcept { return ssekit_failure_will_retry(f_) != 0; }
  std::chrono::milliseconds retry_ms() const noexcept {
    return detail::from_ms(ssekit_failure_retry_ms(f_));
  }
  // The failing response's headers: none when the failure is not a response.
  std::optional<std::string_view> header(std::string_view name) const {
    return detail::find_header(f_, name, &ssekit_failure_header);
  }
  HeaderList headers() const {
    return detail::list_headers(f_, &ssekit_failure_header_count, &ssekit_failure_header_at);
  }
  // The first bytes of the failing response's body; may hold NUL bytes.
  std::string_view body() const noexcept {
    std::size_t len = 0;
    const char *p = ssekit_failure_body(f_, &len);
    return std::string_view(p, len);
  }
  const ssekit_failure *native_handle() const noexcept { return f_; }

 private:
  const ssekit_failure *f_;
};

// Request headers a hook adds (the headers and auth hooks only).
class Headers {
 public:
  explicit Headers(ssekit_headers *h) noexcept : h_(h) {}
  Headers(const Headers &) = delete;
  Headers &operator=(const Headers &) = delete;

  // Adds the header or replaces one of that name the hook added. Throws
  // Error for a malformed name or a value with a line break.
  Headers &set(std::string_view name, std::string_view value) {
    const std::string n = detail::c_string(name, "ssekit_headers_set");
    const std::string v = detail::c_string(value, "ssekit_headers_set");
    detail::check(ssekit_headers_set(h_, n.c_str(), v.c_str()), "ssekit_headers_set");
    return *this;
  }
  ssekit_headers *native_handle() const noexcept { return h_; }

 private:
  ssekit_headers *h_;
};

using EventHandler = std::function<void(const Event &)>;
using CommentHandler = std::function<void(std::string_view)>;
using RetryHandler = std::function<void(std::chrono::milliseconds)>;

namespace detail {

// A parser's callbacks; its address is the parser's userdata, so it stays
// put when the Parser moves.
struct ParserState {
  EventHandler on_event;
  CommentHandler on_comment;
  RetryHandler on_retry;
  std::exception_ptr error;

  template <class F>
  int guard(F &&f) noexcept {
    try {
      f();
      return 0;
    } catch (...) {
      error = std::current_exception();
      return 1;
    }
  }

  static int event_cb(const ssekit_event *ev, void *ud) noexcept {
    auto *st = static_cast<ParserState *>(ud);
    return st->guard([&] { st->on_event(to_event(ev)); });
  }
  static int comment_cb(const char *text, std::size_t len, void *ud) noexcept {
    auto *st = static_cast<ParserState *>(ud);
    return st->guard([&] { st->on_comment(std::string_view(text, len)); });
  }
  static int retry_cb(std::uint64_t ms, void *ud) noexcept {
    auto *st = static_cast<ParserState *>(ud);
    return st->guard([&] { st->on_retry(from_ms(ms)); });
  }
};

}  // namespace detail

// A push parser for text/event-stream bytes (ssekit_parser_*): no threads,
// no network. Used by one thread at a time. Callbacks and limits must not be
// changed from inside a callback.
class Parser {
 public:
  Parser() : st_(new detail::ParserState), p_(ssekit_parser_new()) {
    if (p_ == nullptr) throw Error(SSEKIT_E_NOMEM, "ssekit_parser_new");
    ssekit_parser_set_userdata(p_, st_.get());
  }
  ~Parser() { ssekit_parser_free(p_); }
  Parser(Parser &&o) noexcept : st_(std::move(o.st_)), p_(std::exchange(o.p_, nullptr)) {}
  Parser &operator=(Parser &&o) noexcept {
    if (this != &o) {
      ssekit_parser_free(p_);
      p_ = std::exchange(o.p_, nullptr);
      st_ = std::move(o.st_);
    }
    return *this;
  }
  Parser(const Parser &) = delete;
  Parser &operator=(const Parser &) = delete;

  // An empty function removes the callback.
  Parser &on_event(EventHandler fn) {
    set(st_ ? &st_->on_event : nullptr, std::move(fn), &ssekit_parser_on_event,
        &detail::ParserState::event_cb, "ssekit_parser_on_event");
    return *this;
  }
  Parser &on_comment(CommentHandler fn) {
    set(st_ ? &st_->on_comment : nullptr, std::move(fn), &ssekit_parser_on_comment,
        &detail::ParserState::comment_cb, "ssekit_parser_on_comment");
    return *this;
  }
  Parser &on_retry(RetryHandler fn) {
    set(st_ ? &st_->on_retry : nullptr, std::move(fn), &ssekit_parser_on_retry,
        &detail::ParserState::retry_cb, "ssekit_parser_on_retry");
    return *this;
  }
  // Limits in bytes, 0 for none; before the first feed (see ssekit.h).
  Parser &set_max_line(std::size_t max) {
    detail::check(ssekit_parser_set_max_line(p_, max), "ssekit_parser_set_max_line");
    return *this;
  }
  Parser &set_max_event(std::size_t max) {
    detail::check(ssekit_parser_set_max_event(p_, max), "ssekit_parser_set_max_event");
    return *this;
  }

  // SSEKIT_OK or the parser's (sticky) error code, as ssekit_parser_feed;
  // rethrows what a callback threw.
  [[nodiscard]] int feed(std::string_view bytes) {
    return rethrow_pending(ssekit_parser_feed(p_, bytes.data(), bytes.size()));
  }
  // Ends the stream; an event without its blank line is discarded.
  [[nodiscard]] int finish() { return rethrow_pending(ssekit_parser_finish(p_)); }
  // Back to a fresh parser, keeping the callbacks and limits.
  void reset() { detail::check(ssekit_parser_reset(p_), "ssekit_parser_reset"); }

  // Valid until the next call on the parser.
  std::string_view last_event_id() const noexcept {
    std::size_t len = 0;
    const char *id = ssekit_parser_last_event_id(p_, &len);
    return id == nullptr ? std::string_view() : std::string_view(id, len);
  }
  // The sticky error with its stream offset, "" for none.
  std::string_view error_message() const noexcept {
    const char *m = ssekit_parser_error_message(p_);
    return m == nullptr ? std::string_view() : std::string_view(m);
  }

  explicit operator bool() const noexcept { return p_ != nullptr; }
  ssekit_parser *native_handle() const noexcept { return p_; }

 private:
  template <class Fn, class Cb>
  void set(Fn *slot, Fn fn, int (*setter)(ssekit_parser *, Cb),
           typename detail::identity<Cb>::type trampoline, const char *function) {
    if (slot == nullptr) throw Error(SSEKIT_E_INVALID, function);
    detail::check(setter(p_, fn ? trampoline : nullptr), function);
    *slot = std::move(fn);
  }

  int rethrow_pending(int rc) {
    if (st_ && st_->error) std::rethrow_exception(std::exchange(st_->error, nullptr));
    return rc;
  }

  std::unique_ptr<detail::ParserState> st_;
  ssekit_parser *p_;
};

// A loop of one's own: an I/O thread for the streams given it with
// Stream::set_loop (streams use the process's default loop otherwise).
// Destroying it closes the streams still on it; destroy the streams first,
// as ssekit_loop_free's "the loop must outlive the stream" asks.
class Loop {
 public:
  Loop() : l_(ssekit_loop_new()) {
    if (l_ == nullptr) throw Error(SSEKIT_E_NOMEM, "ssekit_loop_new");
  }
  ~Loop() { ssekit_loop_free(l_); }
  Loop(Loop &&o) noexcept : l_(std::exchange(o.l_, nullptr)) {}
  Loop &operator=(Loop &&o) noexcept {
    if (this != &o) {
      ssekit_loop_free(l_);
      l_ = std::exchange(o.l_, nullptr);
    }
    return *this;
  }
  Loop(const Loop &) = delete;
  Loop &operator=(const Loop &) = delete;

  explicit operator bool() const noexcept { return l_ != nullptr; }
  ssekit_loop *native_handle() const noexcept { return l_; }

 private:
  ssekit_loop *l_;
};

namespace detail {

// A stream's callbacks and the first exception one of them threw. Its
// address is the stream's C userdata, so it stays put when the Stream moves.
//
// Lifetime. Two parties use it: the Stream object that owns the handle, and
// the library, which may call back through the userdata until the stream's
// last callback, `closed`, has returned. Each holds one reference
// (`refs`), the library's taken by start(); whoever drops the last one
// deletes the state, so it outlives `closed` in every order of events:
// - ~Stream on any thread but the loop's: ssekit_stream_free closes the
//   stream and returns only after `closed` ran, so the destructor drops the
//   last reference and frees the state there;
// - release(), and ~Stream on the loop thread (inside a callback, on_closed
//   included): the C call returns at once, and the state is freed on the
//   loop thread when the `closed` trampoline drops its reference, after the
//   user's on_closed has returned;
// - a stream that never started gets no `closed`: the owner's reference is
//   the only one.
// In a child process after fork() an inherited stream never calls `closed`,
// so its state is left allocated, as the library leaves the stream.
struct StreamState {
  ssekit_stream *handle = nullptr;
  std::atomic<int> refs{1};
  // Queue mode: what Item::tag() returns. A queued stream gets no `closed`
  // callback: the Batch that holds its CLOSED item drops the library's
  // reference instead.
  void *tag = nullptr;
  // Whether start() took the library's reference; the owner's thread only.
  bool started = false;

  EventHandler on_event;
  // add_listener may change these while the loop thread delivers: the
  // trampoline takes a reference under the lock and calls it outside, so a
  // listener can add or remove listeners itself.
  std::mutex listeners_mu;
  std::map<std::string, std::shared_ptr<const EventHandler>, std::less<>> listeners;
  CommentHandler on_comment;
  RetryHandler on_retry;
  std::function<void(const Response &)> on_open;
  std::function<void(const Failure &)> on_failure;
  std::function<void(State)> on_state;
  std::function<void(int)> on_closed;
  std::function<void(Headers &)> on_headers;
  std::function<bool(int, Headers &)> on_auth;

  mutable std::mutex error_mu;
  std::exception_ptr error;

  // Drops the owner's reference, or the library's once it has delivered the
  // stream's last callback; the last one frees the state.
  void unref() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  std::exception_ptr exception() const {
    std::lock_guard<std::mutex> lock(error_mu);
    return error;
  }

  void keep(std::exception_ptr e) noexcept {
    std::lock_guard<std::mutex> lock(error_mu);
    if (!error) error = std::move(e);
  }

  // Runs a user callback; an exception is kept and closes the stream.
  // Returns false if it threw, for the C callbacks that return a verdict.
  template <class F>
  bool guard(F &&f) noexcept {
    try {
      f();
      return true;
    } catch (...) {
      keep(std::current_exception());
      // From a callback this only marks the stream closed; the handle stays
      // valid until `closed` has run, even after release().
      ssekit_stream_close(handle);
      return false;
    }
  }

  static StreamState *self(void *ud) noexcept { return static_cast<StreamState *>(ud); }

  static int event_cb(const ssekit_event *ev, void *ud) noexcept {
    StreamState *st = self(ud);
    return st->guard([&] { st->on_event(to_event(ev)); }) ? 0 : 1;
  }
  static int listener_cb(const ssekit_event *ev, void *ud) noexcept {
    StreamState *st = self(ud);
    return st->guard([&] {
      std::shared_ptr<const EventHandler> fn;
      {
        std::lock_guard<std::mutex> lock(st->listeners_mu);
        const auto it = st->listeners.find(std::string_view(ev->type, ev->type_len));
        if (it != st->listeners.end()) fn = it->second;
      }
      if (fn) (*fn)(to_event(ev));
    }) ? 0 : 1;
  }
  static int comment_cb(const char *text, std::size_t len, void *ud) noexcept {
    StreamState *st = self(ud);
    return st->guard([&] { st->on_comment(std::string_view(text, len)); }) ? 0 : 1;
  }
  static int retry_cb(std::uint64_t ms, void *ud) noexcept {
    StreamState *st = self(ud);
    return st->guard([&] { st->on_retry(from_ms(ms)); }) ? 0 : 1;
  }
  static void open_cb(const ssekit_response *r, void *ud) noexcept {
    StreamState *st = self(ud);
    st->guard([&] {
      const Response response(r);
      st->on_open(response);
    });
  }
  static void failure_cb(const ssekit_failure *f, void *ud) noexcept {
    StreamState *st = self(ud);
    st->guard([&] {
      const Failure failure(f);
      st->on_failure(failure);
    });
  }
  static void state_cb(int state, void *ud) noexcept {
    StreamState *st = self(ud);
    st->guard([&] { st->on_state(static_cast<State>(state)); });
  }
  // Non-zero refuses to connect (SSEKIT_E_HOOK).
  static int headers_cb(ssekit_headers *h, void *ud) noexcept {
    StreamState *st = self(ud);
    return st->guard([&] {
      Headers headers(h);
      st->on_headers(headers);
    }) ? 0 : 1;
  }
  // Non-zero reconnects with the fresh headers; 0 fails the stream.
  static int auth_cb(int status, ssekit_headers *h, void *ud) noexcept {
    StreamState *st = self(ud);
    bool retry = false;
    st->guard([&] {
      Headers headers(h);
      retry = st->on_auth(status, headers);
    });
    return retry ? 1 : 0;
  }
  // Always installed: it is the library's last use of the userdata.
  static void closed_cb(int code, void *ud) noexcept {
    StreamState *st = self(ud);
    if (st->on_closed) {
      try {
        st->on_closed(code);
      } catch (...) {
        st->keep(std::current_exception());
      }
    }
    st->unref();
  }
};

}  // namespace detail

class Queue;

// A reconnecting EventSource stream (ssekit_stream_*), move-only. The
// destructor is ssekit_stream_free: it closes the stream and, from any
// thread but the loop's, returns after the last callback; release() is the
// variant that never waits. Configure it, then start(). Setters throw
// ssekit::Error for a bad value, on an empty Stream, and after start (all
// but add_listener, set_header and remove_header, which a running stream
// takes).
class Stream {
 public:
  // An empty stream (as a moved-from one): only destruction, assignment and
  // operator bool are meaningful.
  Stream() noexcept = default;
  explicit Stream(std::string_view url) {
    const std::string u = detail::c_string(url, "ssekit_stream_new");
    std::unique_ptr<detail::StreamState> st(new detail::StreamState);
    h_ = ssekit_stream_new(u.c_str());
    if (h_ == nullptr) throw Error(SSEKIT_E_NOMEM, "ssekit_stream_new");
    st->handle = h_;
    ssekit_stream_set_userdata(h_, st.get());
    ssekit_stream_on_closed(h_, &detail::StreamState::closed_cb);
    st_ = st.release();
  }
  ~Stream() { reset(); }
  Stream(Stream &&o) noexcept
      : h_(std::exchange(o.h_, nullptr)), st_(std::exchange(o.st_, nullptr)) {}
  Stream &operator=(Stream &&o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, nullptr);
      st_ = std::exchange(o.st_, nullptr);
    }
    return *this;
  }
  Stream(const Stream &) = delete;
  Stream &operator=(const Stream &) = delete;

  explicit operator bool() const noexcept { return h_ != nullptr; }
  // For C functions this header does not wrap. The userdata and the closed
  // callback belong to the wrapper: do not set them through the handle.
  ssekit_stream *native_handle() const noexcept { return h_; }

  // Request.

  // The loop must outlive the stream.
  Stream &set_loop(Loop &loop) {
    detail::check(ssekit_stream_set_loop(h_, loop.native_handle()), "ssekit_stream_set_loop");
    return *this;
  }
  Stream &set_method(std::string_view method) {
    return set_string(&ssekit_stream_set_method, method, "ssekit_stream_set_method");
  }
  Stream &set_body(std::string_view body) {
    detail::check(ssekit_stream_set_body(h_, body.data(), body.size()), "ssekit_stream_set_body");
    return *this;
  }
  Stream &add_header(std::string_view name, std::string_view value) {
    const std::string n = detail::c_string(name, "ssekit_stream_add_header");
    const std::string v = detail::c_string(value, "ssekit_stream_add_header");
    detail::check(ssekit_stream_add_header(h_, n.c_str(), v.c_str()), "ssekit_stream_add_header");
    return *this;
  }
  // Sets (replacing one of the same name) or removes a request header:
  // before start as add_header, on a running stream from any thread, for
  // the next connection attempt on (a refreshed token).
  Stream &set_header(std::string_view name, std::string_view value) {
    const std::string n = detail::c_string(name, "ssekit_stream_set_header");
    const std::string v = detail::c_string(value, "ssekit_stream_set_header");
    detail::check(ssekit_stream_set_header(h_, n.c_str(), v.c_str()), "ssekit_stream_set_header");
    return *this;
  }
  Stream &remove_header(std::string_view name) {
    const std::string n = detail::c_string(name, "ssekit_stream_set_header");
    detail::check(ssekit_stream_set_header(h_, n.c_str(), nullptr), "ssekit_stream_set_header");
    return *this;
  }
  Stream &set_last_event_id(std::string_view id) {
    detail::check(ssekit_stream_set_last_event_id(h_, id.data(), id.size()),
                  "ssekit_stream_set_last_event_id");
    return *this;
  }
  Stream &set_last_event_id_param(std::string_view name) {
    return set_string(&ssekit_stream_set_last_event_id_param, name,
                      "ssekit_stream_set_last_event_id_param");
  }

  // Reconnection policy and one-shot streams.

  Stream &set_initial_delay(std::chrono::milliseconds d) {
    return set_ms(&ssekit_stream_set_initial_delay, d, "ssekit_stream_set_initial_delay");
  }
  Stream &set_min_delay(std::chrono::milliseconds d) {
    return set_ms(&ssekit_stream_set_min_delay, d, "ssekit_stream_set_min_delay");
  }
  Stream &set_max_delay(std::chrono::milliseconds d) {
    return set_ms(&ssekit_stream_set_max_delay, d, "ssekit_stream_set_max_delay");
  }
  Stream &set_reset_after(std::chrono::milliseconds d) {
    return set_ms(&ssekit_stream_set_reset_after, d, "ssekit_stream_set_reset_after");
  }
  Stream &set_max_retry_after(std::chrono::milliseconds d) {
    return set_ms(&ssekit_stream_set_max_retry_after, d, "ssekit_stream_set_max_retry_after");
  }
  Stream &set_max_attempts(std::uint32_t attempts) {
    detail::check(ssekit_stream_set_max_attempts(h_, attempts), "ssekit_stream_set_max_attempts");
    return *this;
  }
  Stream &set_max_retry_time(std::chrono::milliseconds d) {
    return set_ms(&ssekit_stream_set_max_retry_time, d, "ssekit_stream_set_max_retry_time");
  }
  Stream &set_strict(bool on = true) {
    return set_int(&ssekit_stream_set_strict, on, "ssekit_stream_set_strict");
  }
  Stream &set_on_end(OnEnd on_end) {
    return set_int(&ssekit_stream_set_on_end, static_cast<int>(on_end), "ssekit_stream_set_on_end");
  }
  Stream &set_done_sentinel(std::string_view data) {
    return set_string(&ssekit_stream_set_done_sentinel, data, "ssekit_stream_set_done_sentinel");
  }
  Stream &set_dispatch_unterminated(bool on = true) {
    return set_int(&ssekit_stream_set_dispatch_unterminated, on,
                   "ssekit_stream_set_dispatch_unterminated");
  }
  Stream &set_dedupe(bool on = true) {
    return set_int(&ssekit_stream_set_dedupe, on, "ssekit_stream_set_dedupe");
  }
  Stream &set_max_line(std::size_t max) {
    detail::check(ssekit_stream_set_max_line(h_, max), "ssekit_stream_set_max_line");
    return *this;
  }
  Stream &set_max_event(std::size_t max) {
    detail::check(ssekit_stream_set_max_event(h_, max), "ssekit_stream_set_max_event");
    return *this;
  }

  // Timeouts (0 for none) and the failing response's body.

  Stream &set_connect_timeout(std::chrono::milliseconds d) {
    return set_ms(&ssekit_stream_set_connect_timeout, d, "ssekit_stream_set_connect_timeout");
  }
  Stream &set_read_timeout(std::chrono::milliseconds d) {
    return set_ms(&ssekit_stream_set_read_timeout, d, "ssekit_stream_set_read_timeout");
  }
  Stream &set_event_timeout(std::chrono::milliseconds d) {
    return set_ms(&ssekit_stream_set_event_timeout, d, "ssekit_stream_set_event_timeout");
  }
  Stream &set_error_body(std::size_t max_bytes, std::chrono::milliseconds timeout) {
    detail::check(ssekit_stream_set_error_body(
                      h_, max_bytes, detail::to_ms(timeout, "ssekit_stream_set_error_body")),
                  "ssekit_stream_set_error_body");
    return *this;
  }

  // Transport.

  // Delivers to q instead of the callbacks (ssekit_stream_set_queue): the
  // on_* delivery callbacks set here are not called, on_headers and on_auth
  // still are. tag is what Item::tag() returns for this stream's items. The
  // queue must be drained until this stream's CLOSED item has been taken
  // (and its Batch destroyed): that frees the stream's state.
  Stream &set_queue(Queue &q, void *tag = nullptr);

  Stream &set_redirect_headers(bool on = true) {
    return set_int(&ssekit_stream_set_redirect_headers, on, "ssekit_stream_set_redirect_headers");
  }
  Stream &set_insecure_redirects(bool on = true) {
    return set_int(&ssekit_stream_set_insecure_redirects, on,
                   "ssekit_stream_set_insecure_redirects");
  }
  Stream &set_insecure(bool on = true) {
    return set_int(&ssekit_stream_set_insecure, on, "ssekit_stream_set_insecure");
  }
  Stream &set_ca_file(std::string_view path) {
    return set_string(&ssekit_stream_set_ca_file, path, "ssekit_stream_set_ca_file");
  }
  Stream &set_ca_path(std::string_view dir) {
    return set_string(&ssekit_stream_set_ca_path, dir, "ssekit_stream_set_ca_path");
  }
  // An empty key_path means the key is in the certificate file.
  Stream &set_client_cert(std::string_view cert_path, std::string_view key_path = {}) {
    const std::string c = detail::c_string(cert_path, "ssekit_stream_set_client_cert");
    const std::string k = detail::c_string(key_path, "ssekit_stream_set_client_cert");
    detail::check(ssekit_stream_set_client_cert(h_, c.c_str(), k.empty() ? nullptr : k.c_str()),
                  "ssekit_stream_set_client_cert");
    return *this;
  }
  // "" disables the proxies of the environment.
  Stream &set_proxy(std::string_view proxy) {
    return set_string(&ssekit_stream_set_proxy, proxy, "ssekit_stream_set_proxy");
  }
  Stream &set_cookie_file(std::string_view path) {
    return set_string(&ssekit_stream_set_cookie_file, path, "ssekit_stream_set_cookie_file");
  }
  Stream &set_max_redirects(std::uint32_t max) {
    detail::check(ssekit_stream_set_max_redirects(h_, max), "ssekit_stream_set_max_redirects");
    return *this;
  }

  // Callbacks, run on the loop thread. An empty function removes one.

  // Every event, after the listener for its type.
  Stream &on_event(EventHandler fn) {
    return set_callback(&detail::StreamState::on_event, std::move(fn), &ssekit_stream_on_event,
                        &detail::StreamState::event_cb, "ssekit_stream_on_event");
  }
  // Events of one type; a second listener for a type replaces the first,
  // an empty function removes it. At any time, from any thread, callbacks
  // included: a replacement or removal applies to the next event, a new
  // type from the next event the loop thread delivers after the change.
  Stream &add_listener(std::string_view type, EventHandler fn) {
    const std::string t = detail::c_string(type, "ssekit_stream_add_listener");
    detail::StreamState &st = need_state("ssekit_stream_add_listener");
    const bool adding = static_cast<bool>(fn);
    if (adding) {
      auto shared = std::make_shared<const EventHandler>(std::move(fn));
      std::lock_guard<std::mutex> lock(st.listeners_mu);
      st.listeners[t] = std::move(shared);
    } else {
      std::lock_guard<std::mutex> lock(st.listeners_mu);
      st.listeners.erase(t);
    }
    // The trampoline finds nothing for a type without a function, so the
    // order of the two changes does not matter.
    detail::check(ssekit_stream_add_listener(h_, t.c_str(),
                                             adding ? &detail::StreamState::listener_cb : nullptr),
                  "ssekit_stream_add_listener");
    return *this;
  }
  Stream &on_comment(CommentHandler fn) {
    return set_callback(&detail::StreamState::on_comment, std::move(fn), &ssekit_stream_on_comment,
                        &detail::StreamState::comment_cb, "ssekit_stream_on_comment");
  }
  Stream &on_retry(RetryHandler fn) {
    return set_callback(&detail::StreamState::on_retry, std::move(fn), &ssekit_stream_on_retry,
                        &detail::StreamState::retry_cb, "ssekit_stream_on_retry");
  }
  Stream &on_open(std::function<void(const Response &)> fn) {
    return set_callback(&detail::StreamState::on_open, std::move(fn), &ssekit_stream_on_open,
                        &detail::StreamState::open_cb, "ssekit_stream_on_open");
  }
  // Every failure, with the failing response's status, headers and body
  // (the C error callback carries nothing more, so it is not wrapped).
  Stream &on_failure(std::function<void(const Failure &)> fn) {
    return set_callback(&detail::StreamState::on_failure, std::move(fn), &ssekit_stream_on_failure,
                        &detail::StreamState::failure_cb, "ssekit_stream_on_failure");
  }
  Stream &on_state(std::function<void(State)> fn) {
    return set_callback(&detail::StreamState::on_state, std::move(fn), &ssekit_stream_on_state,
                        &detail::StreamState::state_cb, "ssekit_stream_on_state");
  }
  // The last callback, exactly once per started stream: the code is
  // SSEKIT_OK for a finished one-shot stream, SSEKIT_E_CLOSED after close()
  // (or a callback's exception), or the error that ended it. A released
  // stream's callbacks are destroyed on the loop thread right after it.
  Stream &on_closed(std::function<void(int)> fn) {
    detail::StreamState &st = need_state("ssekit_stream_on_closed");
    // The trampoline stays installed; this only checks the stream's state.
    detail::check(ssekit_stream_on_closed(h_, &detail::StreamState::closed_cb),
                  "ssekit_stream_on_closed");
    st.on_closed = std::move(fn);
    return *this;
  }
  // Before every connection attempt, to add fresh headers. Throwing refuses
  // to connect and closes the stream.
  Stream &on_headers(std::function<void(Headers &)> fn) {
    return set_callback(&detail::StreamState::on_headers, std::move(fn), &ssekit_stream_on_headers,
                        &detail::StreamState::headers_cb, "ssekit_stream_on_headers");
  }
  // On 401 or 403: add fresh headers and return true to reconnect at once
  // with them, false to fail; or call defer_auth() to answer later.
  Stream &on_auth(std::function<bool(int, Headers &)> fn) {
    return set_callback(&detail::StreamState::on_auth, std::move(fn), &ssekit_stream_on_auth,
                        &detail::StreamState::auth_cb, "ssekit_stream_on_auth");
  }

  // Control. Any thread, callbacks included.

  // Throws Error (SSEKIT_E_STATE if already started).
  void start() {
    detail::StreamState &st = need_state("ssekit_stream_start");
    if (st.started) throw Error(SSEKIT_E_STATE, "ssekit_stream_start");
    // The library's reference, dropped by the closed trampoline. Everything
    // is set up before the C call: once it succeeds, a callback may already
    // have released the stream and `closed` freed the state.
    st.started = true;
    st.refs.fetch_add(1, std::memory_order_relaxed);
    const int rc = ssekit_stream_start(h_);
    if (rc == SSEKIT_OK) return;
    if (rc == SSEKIT_E_STATE || rc == SSEKIT_E_INVALID) {
      // Nothing started, so no `closed` will come.
      st.started = false;
      st.refs.fetch_sub(1, std::memory_order_relaxed);
    }
    // Other failures may leave the stream started and its `closed` still to
    // come: the reference stays with it.
    throw Error(rc, "ssekit_stream_start");
  }
  // Stops the stream for good (see ssekit_stream_close): from another
  // thread it returns after `closed`; from a callback, at once.
  int close() noexcept { return ssekit_stream_close(h_); }
  int restart() noexcept { return ssekit_stream_restart(h_); }
  // From inside on_auth only: the stream waits, CONNECTING, and the hook's
  // return value is ignored, until resume_auth (any thread) reconnects
  // (true; after set_header gave it the new token) or fails it (false).
  int defer_auth() noexcept { return ssekit_stream_defer_auth(h_); }
  int resume_auth(bool retry) noexcept { return ssekit_stream_resume_auth(h_, retry ? 1 : 0); }

  // Consumers on other threads (see "Threads" in ssekit.h): the loop thread
  // hands events over, and these bound what it reads ahead.
  int pause() noexcept { return ssekit_stream_pause(h_); }
  int resume() noexcept { return ssekit_stream_resume(h_); }

  // Lets go of the stream without waiting (ssekit_stream_release): it stops,
  // its `closed` still runs on the loop thread, and the callbacks are
  // destroyed there afterwards. The Stream is empty afterwards, so an
  // exception a callback throws from now on closes the stream but is not
  // kept for anyone.
  void release() noexcept {
    if (h_ == nullptr) return;
    ssekit_stream_release(std::exchange(h_, nullptr));
    std::exchange(st_, nullptr)->unref();
  }

  // Getters. Any thread.

  State state() const noexcept { return static_cast<State>(ssekit_stream_state(h_)); }
  std::uint64_t metric(Metric m) const noexcept {
    return ssekit_stream_metric(h_, static_cast<int>(m));
  }
  std::string last_event_id() const {
    return copy_out(&ssekit_stream_last_event_id, "ssekit_stream_last_event_id");
  }
  // The URL reconnects go to.
  std::string url() const { return copy_out(&ssekit_stream_url, "ssekit_stream_url"); }

  // The first exception a callback threw (null if none did).
  std::exception_ptr callback_exception() const {
    return st_ == nullptr ? nullptr : st_->exception();
  }
  void rethrow_callback_exception() const {
    if (std::exception_ptr e = callback_exception()) std::rethrow_exception(e);
  }

 private:
  void reset() noexcept {
    if (h_ == nullptr) return;
    // Returns after `closed` except on the loop thread (see StreamState).
    ssekit_stream_free(std::exchange(h_, nullptr));
    std::exchange(st_, nullptr)->unref();
  }

  detail::StreamState &need_state(const char *function) const {
    if (st_ == nullptr) throw Error(SSEKIT_E_INVALID, function);
    return *st_;
  }

  Stream &set_string(int (*setter)(ssekit_stream *, const char *), std::string_view value,
                     const char *function) {
    const std::string v = detail::c_string(value, function);
    detail::check(setter(h_, v.c_str()), function);
    return *this;
  }
  Stream &set_ms(int (*setter)(ssekit_stream *, std::uint64_t), std::chrono::milliseconds d,
                 const char *function) {
    detail::check(setter(h_, detail::to_ms(d, function)), function);
    return *this;
  }
  Stream &set_int(int (*setter)(ssekit_stream *, int), int value, const char *function) {
    detail::check(setter(h_, value), function);
    return *this;
  }
  // The C setter goes first: it refuses after start, and the function must
  // not change while the loop thread may be calling it.
  template <class Fn, class Cb>
  Stream &set_callback(Fn detail::StreamState::*slot, Fn fn, int (*setter)(ssekit_stream *, Cb),
                       typename detail::identity<Cb>::type trampoline, const char *function) {
    detail::StreamState &st = need_state(function);
    detail::check(setter(h_, fn ? trampoline : nullptr), function);
    st.*slot = std::move(fn);
    return *this;
  }
  std::string copy_out(int (*getter)(const ssekit_stream *, char *, std::size_t, std::size_t *),
                       const char *function) const {
    std::string out(64, '\0');
    for (;;) {
      std::size_t len = 0;
      const int rc = getter(h_, &out[0], out.size(), &len);
      if (rc == SSEKIT_OK) {
        out.resize(len);
        return out;
      }
      // The value may grow between the calls: try again with its new size.
      if (rc != SSEKIT_E_BUFFER_TOO_SMALL) throw Error(rc, function);
      out.resize(len);
    }
  }

  ssekit_stream *h_ = nullptr;
  detail::StreamState *st_ = nullptr;
};

enum class ItemKind : int {
  open = SSEKIT_ITEM_OPEN,
  event = SSEKIT_ITEM_EVENT,
  comment = SSEKIT_ITEM_COMMENT,
  retry = SSEKIT_ITEM_RETRY,
  error = SSEKIT_ITEM_ERROR,
  state = SSEKIT_ITEM_STATE,
  closed = SSEKIT_ITEM_CLOSED
};

// One queued item (ssekit_item), valid while its Batch lives.
class Item {
 public:
  explicit Item(const ssekit_item *it) noexcept : it_(it) {}

  ItemKind kind() const noexcept { return static_cast<ItemKind>(it_->kind); }
  // The tag given to Stream::set_queue for the stream it came from.
  void *tag() const noexcept { return static_cast<detail::StreamState *>(it_->userdata)->tag; }
  // event: the event; comment: text() is its text; error: text() is the
  // message.
  Event event() const noexcept {
    return Event{std::string_view(it_->type, it_->type_len),
                 std::string_view(it_->data, it_->data_len),
                 std::string_view(it_->id, it_->id_len)};
  }
  std::string_view text() const noexcept { return std::string_view(it_->data, it_->data_len); }
  // error and closed: an ssekit_error; open and error: the HTTP status.
  int code() const noexcept { return it_->code; }
  int status() const noexcept { return it_->status; }
  // retry: the new reconnection time; error: the delay before reconnecting.
  std::chrono::milliseconds retry() const noexcept { return detail::from_ms(it_->value); }
  bool will_retry() const noexcept { return it_->will_retry != 0; }
  State state() const noexcept { return static_cast<State>(it_->value); }
  // open only.
  Response response() const noexcept { return Response(it_->response); }
  // error only.
  Failure failure() const noexcept { return Failure(it_->failure); }
  const ssekit_item *native_handle() const noexcept { return it_; }

 private:
  const ssekit_item *it_;
};

// What one Queue::take returned: iterable, move-only; its items and their
// strings live as long as it does, on any thread.
class Batch {
 public:
  Batch() noexcept = default;
  explicit Batch(ssekit_batch *b) noexcept : b_(b) {}
  ~Batch() { reset(); }
  Batch(Batch &&o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
  Batch &operator=(Batch &&o) noexcept {
    if (this != &o) {
      reset();
      b_ = std::exchange(o.b_, nullptr);
    }
    return *this;
  }

  // False when the take timed out.
  explicit operator bool() const noexcept { return b_ != nullptr; }
  std::size_t size() const noexcept { return ssekit_batch_count(b_); }
  Item operator[](std::size_t i) const noexcept { return Item(ssekit_batch_item(b_, i)); }

  class iterator {
   public:
    iterator(const ssekit_batch *b, std::size_t i) noexcept : b_(b), i_(i) {}
    Item operator*() const noexcept { return Item(ssekit_batch_item(b_, i_)); }
    iterator &operator++() noexcept {
      ++i_;
      return *this;
    }
    bool operator!=(const iterator &o) const noexcept { return i_ != o.i_; }
    bool operator==(const iterator &o) const noexcept { return i_ == o.i_; }

   private:
    const ssekit_batch *b_;
    std::size_t i_;
  };
  iterator begin() const noexcept { return iterator(b_, 0); }
  iterator end() const noexcept { return iterator(b_, size()); }

 private:
  void reset() noexcept {
    if (b_ == nullptr) return;
    // A CLOSED item is its stream's last delivery: the library's reference
    // to the stream's state goes with it.
    for (std::size_t i = 0, n = ssekit_batch_count(b_); i < n; ++i) {
      const ssekit_item *it = ssekit_batch_item(b_, i);
      if (it->kind == SSEKIT_ITEM_CLOSED)
        static_cast<detail::StreamState *>(it->userdata)->unref();
    }
    ssekit_batch_free(std::exchange(b_, nullptr));
  }

  ssekit_batch *b_ = nullptr;
};

// A delivery queue (ssekit_queue), move-only, for consumers on other
// threads. Feed it only from ssekit::Stream objects (their items carry the
// wrapper's state). take() waits without any ssekit lock held.
class Queue {
 public:
  // 0 for the defaults (see ssekit_queue_new).
  explicit Queue(std::size_t max_items = 0, std::size_t max_bytes = 0)
      : q_(ssekit_queue_new(max_items, max_bytes)) {
    if (q_ == nullptr) throw Error(SSEKIT_E_NOMEM, "ssekit_queue_new");
  }
  ~Queue() { ssekit_queue_free(q_); }
  Queue(Queue &&o) noexcept : q_(std::exchange(o.q_, nullptr)) {}
  Queue &operator=(Queue &&o) noexcept {
    if (this != &o) {
      ssekit_queue_free(q_);
      q_ = std::exchange(o.q_, nullptr);
    }
    return *this;
  }

  // Everything queued; an empty Batch if nothing came within timeout
  // (zero: do not wait; nullopt: wait as long as it takes).
  Batch take(std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
    ssekit_batch *b = nullptr;
    const std::int64_t ms = timeout ? static_cast<std::int64_t>(timeout->count()) : -1;
    detail::check(ssekit_queue_take(q_, ms < -1 ? 0 : ms, &b), "ssekit_queue_take");
    return Batch(b);
  }
  // Readable while the queue holds items: poll it, never read it.
  int fd() const noexcept { return ssekit_queue_fd(q_); }
  ssekit_queue *native_handle() const noexcept { return q_; }

 private:
  ssekit_queue *q_ = nullptr;
};

inline Stream &Stream::set_queue(Queue &q, void *tag) {
  detail::StreamState &st = need_state("ssekit_stream_set_queue");
  detail::check(ssekit_stream_set_queue(h_, q.native_handle()), "ssekit_stream_set_queue");
  st.tag = tag;
  return *this;
}

}  // namespace ssekit

#endif  // SSEKIT_HPP
