// One EventSource: connects, parses, reconnects. All its state lives on its
// loop's thread; the public methods marked "any thread" are the only ones
// other threads call, and they either read atomics or post to the loop.
#ifndef SSEKIT_CORE_STREAM_H
#define SSEKIT_CORE_STREAM_H

#include <curl/curl.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dedupe.h"
#include "loop.h"
#include "options.h"
#include "parser.h"
#include "views.h"
#include "policy.h"
#include "queue.h"
#include "ssekit.h"

namespace ssekit {

struct StreamCallbacks {
  ssekit_open_cb open = nullptr;
  ssekit_event_cb event = nullptr;
  ssekit_comment_cb comment = nullptr;
  ssekit_retry_cb retry = nullptr;
  ssekit_error_cb error = nullptr;
  ssekit_failure_cb failure = nullptr;
  ssekit_state_cb state = nullptr;
  ssekit_closed_cb closed = nullptr;
  ssekit_headers_cb headers = nullptr;
  ssekit_auth_cb auth = nullptr;
  std::vector<std::pair<std::string, ssekit_event_cb>> listeners;
  void *userdata = nullptr;
  // Set: what the delivery callbacks would get goes to the queue instead.
  std::shared_ptr<Queue> queue;
};

// Sets or replaces (by case-insensitive name) a header in a list.
void set_header(HeaderList &list, std::string_view name, std::string_view value);
// Removes the header of that name (case-insensitive) if the list has one.
void erase_header(HeaderList &list, std::string_view name);

using ListenerList = std::vector<std::pair<std::string, ssekit_event_cb>>;
// Sets, replaces or (cb NULL) removes the listener for type.
void set_listener(ListenerList &list, std::string_view type, ssekit_event_cb cb);

class Stream : public std::enable_shared_from_this<Stream> {
 public:
  Stream(Loop &loop, StreamOptions options, StreamCallbacks callbacks);
  ~Stream();
  Stream(const Stream &) = delete;
  Stream &operator=(const Stream &) = delete;

  // Any thread.
  void start();
  // Stops the stream; from another thread, waits until it has stopped.
  void close();
  // Stops the stream without waiting, from any thread; after runs once the
  // stream has stopped (after `closed`, on the loop thread), or at once if
  // it had stopped already.
  void release(std::function<void()> after);
  int restart();
  int pause();
  int resume();
  int state() const { return state_.load(std::memory_order_acquire); }
  // For freeing the handle that owns the stream: closes it and returns
  // true once it has stopped, or, on the loop thread (a callback), where
  // it cannot wait, returns false and runs after once it has stopped.
  bool close_or_defer(std::function<void()> after);
  uint64_t metric(int which) const;
  std::string last_event_id() const;
  std::string url() const;

  // Any thread: the queue this stream delivers to has room again.
  void resume_from_queue();
  // Any thread; from the next connection on.
  void set_request_header(std::string name, std::optional<std::string> value);
  // Any thread; between two events.
  void set_listener(std::string type, ssekit_event_cb cb);
  // The auth hook only (loop thread): answer later, with resume_auth.
  int defer_auth();
  // Any thread: after defer_auth, reconnect now (retry) or fail.
  int resume_auth(bool retry);
  // Any thread: the consumer saw the last error; its reconnect may go.
  int ack_error();
  // The headers hook only (loop thread): answer later, with resume_headers.
  int defer_headers();
  // Any thread: after defer_headers, connect now (proceed) or fail.
  int resume_headers(bool proceed);

  // Loop thread.
  void stop(int code);
  void on_transfer_done(CURL *easy, CURLcode result);

 private:
  struct Failure {
    int code = SSEKIT_OK;
    int http_status = 0;
    std::optional<uint64_t> retry_after_ms;
    std::string message;
    bool fatal = false;
    bool from_response = false;  // the response's headers and body tell more
  };

  // One request of an attempt: the first, or one a redirect led to.
  struct Hop {
    std::string url;
    std::string method;
    bool body = false;         // send opts_.body
    bool same_origin = true;   // the origin the caller's headers were set for
    bool https = false;
  };

  bool settle_if_dead();
  void connect();
  // Forgets the last response: before each request, and before a new
  // attempt asks its headers hook.
  void clear_response();
  void start_hop();
  bool setup_request();
  bool follow_redirect(long code, std::string_view location);
  void fail_response(int code, std::string message, bool fatal);
  void fail_on_exception() noexcept;
  void report(const Failure &f, bool will_retry, uint64_t retry_ms, int code);
  void on_error_body_timer();
  bool held() const { return paused_ || queue_paused_; }
  void flush_queue();
  // After a network read: push now if the staged events make a full
  // batch, else let the loop push them (Loop::defer_flush).
  void stage_read();

 public:
  // Loop thread: the loop's deferred push.
  void flush_deferred();

 private:
  void detach_transfer();
  void end_attempt(Failure failure);
  void decide_after(Failure failure);
  void set_state(int s);
  void open_response(long code);
  void remember_id();
  uint64_t now_ms() const;
  void arm_read_timer(uint64_t delay_ms);
  void on_read_timer();
  void arm_event_timer(uint64_t delay_ms);
  void on_event_timer();
  // A deferred headers or auth answer may take as long as the connect
  // timeout: the same wait a connection that does not open gets.
  void arm_hook_timer();
  void on_hook_timer();
  bool closing() const { return closing_.load(std::memory_order_acquire); }
  bool deliver_event(const ssekit_event *event);

  size_t on_header(const char *p, size_t n);
  bool on_headers_end();
  // The options' headers with what the auth hook added, for this attempt.
  void collect_caller_headers();
  void refuse_by_headers_hook();
  size_t on_body(char *p, size_t n);

  static size_t header_cb(char *p, size_t size, size_t n, void *self);
  static size_t write_cb(char *p, size_t size, size_t n, void *self);
  static int parser_event(const ssekit_event *event, void *self);
  static int parser_comment(const char *text, size_t len, void *self);
  static int parser_retry(uint64_t ms, void *self);

  Loop &loop_;
  StreamOptions opts_;
  StreamCallbacks cb_;

  // Written on the loop thread, read anywhere.
  std::atomic<int> state_{SSEKIT_STATE_CONNECTING};
  std::atomic<bool> closing_{false};
  std::atomic<uint64_t> bytes_{0}, events_{0}, attempts_{0}, last_status_{0},
      connections_{0}, deduped_{0};
  std::atomic<int64_t> last_byte_ns_{0};
  mutable std::mutex shared_mu_;
  std::string shared_last_id_;  // guarded by shared_mu_
  std::string shared_url_;      // guarded by shared_mu_

  // close() from another thread waits for stop() to have run.
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  bool done_ = false;                 // guarded by done_mu_
  std::function<void()> after_stop_;  // guarded by done_mu_

  // Loop thread only.
  bool stopped_ = false;
  CURL *easy_ = nullptr;
  bool attached_ = false;
  curl_slist *request_headers_ = nullptr;
  char errbuf_[CURL_ERROR_SIZE] = {};
  std::string origin_;  // of opts_.url: where the caller's headers may go
  Hop start_;           // where each attempt starts
  Hop hop_;             // the request in flight
  uint32_t hops_ = 0;   // redirects followed in this attempt
  bool all_permanent_ = true;
  std::optional<Hop> redirect_to_;  // set when a response is a redirect to follow
  HeaderList caller_headers_;       // this attempt's: options, auth, hook
  Parser parser_;
  std::optional<uint64_t> server_retry_ms_;
  RetryState retry_state_;
  std::mt19937_64 rng_;
  HeaderList auth_headers_;
  bool auth_retried_ = false;
  bool in_auth_ = false;
  bool auth_deferred_ = false;
  bool auth_waiting_ = false;
  bool in_headers_ = false;
  bool headers_deferred_ = false;
  bool headers_waiting_ = false;
  HeaderList hook_headers_;  // what a deferring headers hook added at once
  bool retry_held_ = false;  // a reconnect waits for ack_error
  bool retry_due_ = false;   // and its delay has passed
  Failure auth_failure_;
  Loop::TimerKey hook_timer_{};  // bounds auth_waiting_ and headers_waiting_
  bool paused_ = false;
  bool queue_paused_ = false;  // the queue is over its bounds
  Staged staged_;              // queue mode: items not pushed yet
  bool flush_deferred_ = false;  // the loop will push staged_
  bool finished_ = false;

  // The response of the current attempt.
  HeaderList response_headers_;
  long status_ = 0;
  size_t header_bytes_ = 0;
  bool opened_ = false;
  bool delivered_ = false;  // an event reached the callbacks
  uint64_t opened_at_ms_ = 0;
  Failure failure_;

  Loop::TimerKey read_timer_{};
  Loop::TimerKey event_timer_{};
  Loop::TimerKey error_body_timer_{};
  bool reading_error_body_ = false;
  std::string error_body_;
  int64_t last_event_ns_ = 0;
  Loop::TimerKey retry_timer_{};

  DedupeWindow seen_ids_;
};

}  // namespace ssekit

#endif  // SSEKIT_CORE_STREAM_H
