// Records every callback of one ssekit stream. Callbacks run on the loop
// thread, tests wait on the test thread: everything is kept under one mutex
// and a condition variable wakes waiters after each callback.

#ifndef SSEKIT_TESTS_CLIENT_RECORDER_H
#define SSEKIT_TESTS_CLIENT_RECORDER_H

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ssekit.h"

namespace ssekit_test {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct RecEvent {
  std::string type;
  std::string data;
  std::string id;
};

struct RecError {
  int code = 0;
  int http_status = 0;
  std::string message;
  int will_retry = 0;
  std::uint64_t retry_ms = 0;
  Clock::time_point at;
  // SSEKIT_METRIC_BYTES and the stream's last event ID when the error was
  // reported.
  std::uint64_t bytes = 0;
  std::string last_id;
};

struct RecOpen {
  int status = 0;
  std::string content_type;
  std::string last_event_id_seen;  // X-Last-Event-ID-Seen, "" if absent
  std::size_t header_count = 0;
  Clock::time_point at;
};

class Recorder {
 public:
  Recorder() : creator_(std::this_thread::get_id()) {}
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;
  ~Recorder() {
    if (consumer_.joinable()) {
      stop_consumer_ = true;
      consumer_.join();
    }
    ssekit_queue_free(queue_);
  }

  // With SSEKIT_TEST_QUEUE=1 in the environment, streams deliver to a queue
  // and a consumer thread replays every item into the same handlers, as a
  // binding would: the client tests then prove the queue path too.
  static bool QueueMode() {
    const char* v = std::getenv("SSEKIT_TEST_QUEUE");
    return v != nullptr && *v != '\0' && *v != '0';
  }

  // Registers every callback of s with this recorder as userdata. Returns
  // false if a setter failed.
  bool Attach(ssekit_stream* s) {
    stream_ = s;
    bool ok = true;
    ok &= ssekit_stream_set_userdata(s, this) == SSEKIT_OK;
    if (QueueMode()) {
      queue_ = ssekit_queue_new(0, 0);
      ok &= queue_ != nullptr && ssekit_stream_set_queue(s, queue_) == SSEKIT_OK;
      if (ok) consumer_ = std::thread([this] { Consume(); });
      return ok;
    }
    ok &= ssekit_stream_on_open(s, &Recorder::OnOpen) == SSEKIT_OK;
    ok &= ssekit_stream_on_event(s, &Recorder::OnEvent) == SSEKIT_OK;
    ok &= ssekit_stream_on_comment(s, &Recorder::OnComment) == SSEKIT_OK;
    ok &= ssekit_stream_on_retry(s, &Recorder::OnRetry) == SSEKIT_OK;
    ok &= ssekit_stream_on_error(s, &Recorder::OnError) == SSEKIT_OK;
    ok &= ssekit_stream_on_state(s, &Recorder::OnState) == SSEKIT_OK;
    ok &= ssekit_stream_on_closed(s, &Recorder::OnClosed) == SSEKIT_OK;
    return ok;
  }
  // A listener for one event type, logged as "listener:<type>".
  bool Listen(const char* type) {
    if (queue_ != nullptr) return ListenQueued(type, &Recorder::OnListener);
    return ssekit_stream_add_listener(stream_, type, &Recorder::OnListener) ==
           SSEKIT_OK;
  }
  // A second listener function, logged as "listener2:<type>", to tell which
  // of two registrations for one type is in force.
  bool Listen2(const char* type) {
    if (queue_ != nullptr) return ListenQueued(type, &Recorder::OnListener2);
    return ssekit_stream_add_listener(stream_, type, &Recorder::OnListener2) ==
           SSEKIT_OK;
  }
  bool UseHeadersHook() {
    return ssekit_stream_on_headers(stream_, &Recorder::OnHeaders) == SSEKIT_OK;
  }
  bool UseAuthHook() {
    return ssekit_stream_on_auth(stream_, &Recorder::OnAuth) == SSEKIT_OK;
  }

  // Hooks run on the loop thread without the lock held, after the event is
  // recorded; their return value is the callback's.
  std::function<int(Recorder&, const RecEvent&)> event_hook;
  std::function<void(Recorder&, const RecError&)> error_hook;
  std::function<int(ssekit_headers*, int attempt)> headers_hook;
  std::function<int(int status, ssekit_headers*)> auth_hook;

  // Waits until pred(*this) holds (evaluated under the lock) or the timeout
  // passes; returns whether it holds.
  template <class Pred>
  bool WaitFor(Pred pred, milliseconds timeout = milliseconds(5000)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(*this); });
  }
  bool WaitClosed(milliseconds timeout = milliseconds(5000)) {
    return WaitFor([](const Recorder& r) { return !r.closed.empty(); },
                   timeout);
  }
  bool WaitEvents(std::size_t n, milliseconds timeout = milliseconds(5000)) {
    return WaitFor([n](const Recorder& r) { return r.events.size() >= n; },
                   timeout);
  }
  bool WaitErrors(std::size_t n, milliseconds timeout = milliseconds(5000)) {
    return WaitFor([n](const Recorder& r) { return r.errors.size() >= n; },
                   timeout);
  }

  // Copies of the record, taken under the lock. In queue mode they first
  // let the consumer replay what is already queued, so that, as with
  // callbacks, everything delivered before a close() or free() returned is
  // in the record.
  template <class T>
  T Get(T Recorder::*member) {
    std::unique_lock<std::mutex> lock(mu_);
    Drain(lock);
    return this->*member;
  }
  std::vector<std::string> Ids() {
    std::unique_lock<std::mutex> lock(mu_);
    Drain(lock);
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.id);
    return out;
  }
  std::vector<std::string> Datas() {
    std::unique_lock<std::mutex> lock(mu_);
    Drain(lock);
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.data);
    return out;
  }
  std::size_t EventCount() {
    std::unique_lock<std::mutex> lock(mu_);
    Drain(lock);
    return events.size();
  }
  std::size_t ClosedCount() {
    std::unique_lock<std::mutex> lock(mu_);
    Drain(lock);
    return closed.size();
  }

  // After MarkCloseReturned(), any callback that starts is counted in
  // late_callbacks: ssekit_stream_close() promises there is none.
  void MarkCloseReturned() {
    // A closed stream's queued items are not delivered, as a binding's
    // close() stops delivery at once.
    discard_.store(true);
    close_returned_.store(true);
  }
  int LateCallbacks() const { return late_callbacks_.load(); }
  // Callbacks that ran on a thread other than the first callback's.
  int ThreadSwitches() const { return thread_switches_.load(); }
  // Callbacks that ran on the thread that made the recorder (the test's);
  // they all belong on the loop thread.
  int OnCreatorThread() const { return on_creator_thread_.load(); }
  std::thread::id CallbackThread() {
    std::lock_guard<std::mutex> lock(mu_);
    return thread_;
  }
  ssekit_stream* stream() const { return stream_; }

  // The record. Read it with the lock held (WaitFor predicates) or through
  // Get() once the stream is closed or freed.
  std::vector<RecEvent> events;
  std::vector<RecEvent> listener_events;
  std::vector<std::string> comments;
  std::vector<std::uint64_t> retries;
  std::vector<RecError> errors;
  std::vector<int> states;
  std::vector<RecOpen> opens;
  std::vector<int> closed;
  // Every callback in order: "open", "event:<type>", "listener:<type>",
  // "comment", "retry", "error", "state:<n>", "closed", "headers", "auth".
  std::vector<std::string> log;
  int headers_calls = 0;
  int auth_calls = 0;

 private:
  // Listeners are the consumer's in queue mode: it dispatches by type, and
  // a second registration for a type replaces the first.
  bool ListenQueued(const char* type, ssekit_event_cb cb) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& l : queued_listeners_) {
      if (l.first == type) {
        l.second = cb;
        return true;
      }
    }
    queued_listeners_.emplace_back(type, cb);
    return true;
  }

  // Waits (bounded) until the consumer has seen `closed`, or until a take
  // that began after this call found the queue empty: every item queued
  // before the call has then been replayed.
  void Drain(std::unique_lock<std::mutex>& lock) {
    if (queue_ == nullptr) return;
    const std::uint64_t after = takes_started_;
    cv_.wait_for(lock, milliseconds(5000),
                 [&] { return consumer_done_ || last_empty_take_ > after; });
  }

  void Consume() {
    bool done = false;
    while (!done && !stop_consumer_.load()) {
      ssekit_batch* b = nullptr;
      std::uint64_t take = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        take = ++takes_started_;
      }
      if (ssekit_queue_take(queue_, 20, &b) != SSEKIT_OK || b == nullptr) {
        std::lock_guard<std::mutex> lock(mu_);
        last_empty_take_ = take;
        cv_.notify_all();
        continue;
      }
      for (std::size_t i = 0; i < ssekit_batch_count(b); ++i) {
        const ssekit_item* it = ssekit_batch_item(b, i);
        if (it->kind == SSEKIT_ITEM_CLOSED) {
          OnClosed(it->code, this);
          {
            // The destructor joins this thread, so the recorder is alive.
            std::lock_guard<std::mutex> lock(mu_);
            consumer_done_ = true;
            cv_.notify_all();
          }
          done = true;
          break;
        }
        if (!discard_.load()) Replay(it);
      }
      ssekit_batch_free(b);
    }
  }

  void Replay(const ssekit_item* it) {
    switch (it->kind) {
      case SSEKIT_ITEM_OPEN:
        OnOpen(it->response, this);
        break;
      case SSEKIT_ITEM_EVENT: {
        const ssekit_event ev{it->type, it->type_len, it->data, it->data_len, it->id, it->id_len};
        std::vector<std::pair<std::string, ssekit_event_cb>> listeners;
        {
          std::lock_guard<std::mutex> lock(mu_);
          listeners = queued_listeners_;
        }
        for (const auto& l : listeners) {
          if (l.first == std::string(it->type, it->type_len)) l.second(&ev, this);
        }
        if (OnEvent(&ev, this) != 0) {
          // The callback's non-zero return: close, and deliver nothing more.
          discard_ = true;
          ssekit_stream_close(stream_);
        }
        break;
      }
      case SSEKIT_ITEM_COMMENT:
        OnComment(it->data, it->data_len, this);
        break;
      case SSEKIT_ITEM_RETRY:
        OnRetry(it->value, this);
        break;
      case SSEKIT_ITEM_ERROR:
        OnError(it->code, it->status, ssekit_failure_message(it->failure), it->will_retry,
                it->value, this);
        break;
      case SSEKIT_ITEM_STATE:
        OnState(static_cast<int>(it->value), this);
        break;
      default:
        break;
    }
  }

  static Recorder* Self(void* userdata) {
    auto* r = static_cast<Recorder*>(userdata);
    r->Enter();
    return r;
  }
  void Enter() {
    if (close_returned_.load()) late_callbacks_.fetch_add(1);
    const auto me = std::this_thread::get_id();
    if (me == creator_) on_creator_thread_.fetch_add(1);
    std::lock_guard<std::mutex> lock(mu_);
    if (thread_ == std::thread::id()) {
      thread_ = me;
    } else if (thread_ != me) {
      thread_switches_.fetch_add(1);
    }
  }
  // Notifying under the lock: a waiter woken by `closed` may destroy the
  // recorder as soon as it holds the lock, so nothing may touch it after.
  void Notify() {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }

  static RecEvent Copy(const ssekit_event* e) {
    return RecEvent{std::string(e->type, e->type_len),
                    std::string(e->data, e->data_len),
                    std::string(e->id, e->id_len)};
  }

  static void OnOpen(const ssekit_response* response, void* userdata) {
    Recorder* r = Self(userdata);
    RecOpen o;
    o.status = ssekit_response_status(response);
    const char* ct = ssekit_response_header(response, "content-type");
    o.content_type = ct ? ct : "";
    const char* seen = ssekit_response_header(response, "X-Last-Event-ID-Seen");
    o.last_event_id_seen = seen ? seen : "";
    o.header_count = ssekit_response_header_count(response);
    o.at = Clock::now();
    {
      std::lock_guard<std::mutex> lock(r->mu_);
      r->opens.push_back(o);
      r->log.emplace_back("open");
    }
    r->Notify();
  }
  static int OnEvent(const ssekit_event* e, void* userdata) {
    Recorder* r = Self(userdata);
    RecEvent ev = Copy(e);
    {
      std::lock_guard<std::mutex> lock(r->mu_);
      r->events.push_back(ev);
      r->log.push_back("event:" + ev.type);
    }
    int rc = r->event_hook ? r->event_hook(*r, ev) : 0;
    r->Notify();
    return rc;
  }
  static int OnListener(const ssekit_event* e, void* userdata) {
    Recorder* r = Self(userdata);
    RecEvent ev = Copy(e);
    {
      std::lock_guard<std::mutex> lock(r->mu_);
      r->listener_events.push_back(ev);
      r->log.push_back("listener:" + ev.type);
    }
    r->Notify();
    return 0;
  }
  static int OnListener2(const ssekit_event* e, void* userdata) {
    Recorder* r = Self(userdata);
    RecEvent ev = Copy(e);
    {
      std::lock_guard<std::mutex> lock(r->mu_);
      r->log.push_back("listener2:" + ev.type);
    }
    r->Notify();
    return 0;
  }
  static int OnComment(const char* text, std::size_t len, void* userdata) {
    Recorder* r = Self(userdata);
    {
      std::lock_guard<std::mutex> lock(r->mu_);
      r->comments.emplace_back(text, len);
      r->log.emplace_back("comment");
    }
    r->Notify();
    return 0;
  }
  static int OnRetry(std::uint64_t retry_ms, void* userdata) {
    Recorder* r = Self(userdata);
    {
      std::lock_guard<std::mutex> lock(r->mu_);
      r->retries.push_back(retry_ms);
      r->log.emplace_back("retry");
    }
    r->Notify();
    return 0;
  }
  static void OnError(int code, int http_status, const char* message,
                      int will_retry, std::uint64_t retry_ms, void* userdata) {
    Recorder* r = Self(userdata);
    RecError err;
    err.code = code;
    err.http_status = http_status;
    err.message = message ? message : "<NULL>";
    err.will_retry = will_retry;
    err.retry_ms = retry_ms;
    err.at = Clock::now();
    err.bytes = ssekit_stream_metric(r->stream_, SSEKIT_METRIC_BYTES);
    char id[256];
    std::size_t id_len = 0;
    if (ssekit_stream_last_event_id(r->stream_, id, sizeof id, &id_len) ==
        SSEKIT_OK) {
      err.last_id.assign(id, id_len);
    } else {
      err.last_id = "<unreadable>";
    }
    {
      std::lock_guard<std::mutex> lock(r->mu_);
      r->errors.push_back(err);
      r->log.emplace_back("error");
    }
    if (r->error_hook) r->error_hook(*r, err);
    r->Notify();
  }
  static void OnState(int state, void* userdata) {
    Recorder* r = Self(userdata);
    {
      std::lock_guard<std::mutex> lock(r->mu_);
      r->states.push_back(state);
      r->log.push_back("state:" + std::to_string(state));
    }
    r->Notify();
  }
  static void OnClosed(int code, void* userdata) {
    Recorder* r = Self(userdata);
    {
      std::lock_guard<std::mutex> lock(r->mu_);
      r->closed.push_back(code);
      r->log.emplace_back("closed");
    }
    r->Notify();
  }
  static int OnHeaders(ssekit_headers* headers, void* userdata) {
    Recorder* r = Self(userdata);
    int attempt = 0;
    {
      std::lock_guard<std::mutex> lock(r->mu_);
      attempt = ++r->headers_calls;
      r->log.emplace_back("headers");
    }
    int rc = r->headers_hook ? r->headers_hook(headers, attempt) : 0;
    r->Notify();
    return rc;
  }
  static int OnAuth(int http_status, ssekit_headers* headers, void* userdata) {
    Recorder* r = Self(userdata);
    {
      std::lock_guard<std::mutex> lock(r->mu_);
      ++r->auth_calls;
      r->log.emplace_back("auth");
    }
    int rc = r->auth_hook ? r->auth_hook(http_status, headers) : 0;
    r->Notify();
    return rc;
  }

  ssekit_stream* stream_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread::id creator_;
  std::thread::id thread_;
  std::atomic<bool> close_returned_{false};
  std::atomic<int> late_callbacks_{0};
  std::atomic<int> thread_switches_{0};
  std::atomic<int> on_creator_thread_{0};

  ssekit_queue* queue_ = nullptr;
  std::thread consumer_;
  std::atomic<bool> stop_consumer_{false};
  std::atomic<bool> discard_{false};
  std::vector<std::pair<std::string, ssekit_event_cb>> queued_listeners_;  // guarded by mu_
  std::uint64_t takes_started_ = 0;    // guarded by mu_
  std::uint64_t last_empty_take_ = 0;  // guarded by mu_
  bool consumer_done_ = false;         // guarded by mu_
};

}  // namespace ssekit_test

#endif  // SSEKIT_TESTS_CLIENT_RECORDER_H
