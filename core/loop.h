// The I/O loop: one thread that owns a libcurl multi handle and drives every
// stream attached to it. The only place that calls curl's multi API. Other
// threads never touch a curl handle: they post a command and wake the loop.
#ifndef SSEKIT_CORE_LOOP_H
#define SSEKIT_CORE_LOOP_H

#include <curl/curl.h>

#include <chrono>
#include <optional>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

// Linux gets an epoll loop driven by curl_multi_socket_action; elsewhere (or
// with SSEKIT_PORTABLE_LOOP) curl_multi_poll over every transfer.
#if defined(__linux__) && !defined(SSEKIT_PORTABLE_LOOP)
#define SSEKIT_EPOLL_LOOP 1
#else
#define SSEKIT_EPOLL_LOOP 0
#endif

namespace ssekit {

class Stream;

class Loop {
 public:
  using Clock = std::chrono::steady_clock;
  using TimerKey = std::pair<Clock::time_point, uint64_t>;

  // Starts the loop thread. Throws std::runtime_error if curl or the thread
  // cannot be set up.
  Loop();
  // Stops every stream still attached (their `closed` callbacks run), then
  // the thread. Must not run on the loop thread.
  ~Loop();
  Loop(const Loop &) = delete;
  Loop &operator=(const Loop &) = delete;

  // The process-wide loop, created on first use and never destroyed, so
  // streams may still run while static destructors do. A child process
  // after fork() gets a new one.
  static Loop &shared();

  // Any thread. True in a child after fork() for a loop the parent made:
  // it has no thread here, posts are dropped and nothing waits for it.
  bool dead() const;
  // How many times this process is a fork() child of a process that used
  // ssekit: what dead() compares with.
  static uint64_t fork_generation_now();
  // The loop thread only (a callback): stops every stream and frees the
  // loop once the current pass returns, without joining itself.
  void free_from_loop_thread();
  // Any thread, for a dead loop: closes its descriptors and leaves the rest.
  void abandon();

  // Any thread. Runs fn on the loop thread, in posting order, outside any
  // curl callback.
  void post(std::function<void()> fn);
  bool on_loop_thread() const { return std::this_thread::get_id() == thread_id_; }

  // Loop thread only.
  CURLM *multi() const { return multi_; }
  TimerKey add_timer(uint64_t delay_ms, std::function<void()> fn);
  void cancel_timer(TimerKey *key);
  void attach(std::shared_ptr<Stream> stream);
  void detach(Stream *stream);
  // A queue-mode stream staged events it has not pushed yet: the loop
  // pushes them before it next waits for the network, or after a few
  // passes if it never idles, so a busy stream fills a batch from several
  // reads and its consumer is woken once for all of them.
  void defer_flush(std::weak_ptr<Stream> stream);

 private:
  void run();
  // Posts the stop of every stream, then ends the loop once it is done.
  void stop_all();
  void cleanup();
  void run_timers();
  long wait_ms();
  void wake();
  void read_messages();
  bool commands_pending();
  void flush_deferred();

  CURLM *multi_ = nullptr;
#if SSEKIT_EPOLL_LOOP
  // curl tells the loop which sockets to watch (socket_cb) and when to call
  // it back (timer_cb); epoll then wakes it for ready sockets only, so a pass
  // costs what is ready, not every transfer on the loop.
  static int socket_cb(CURL *easy, curl_socket_t s, int what, void *loop, void *assigned);
  static int timer_cb(CURLM *multi, long timeout_ms, void *loop);
  void drive(curl_socket_t s, int events);
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // an eventfd
  std::optional<Clock::time_point> curl_due_;
#endif
  std::thread thread_;
  std::thread::id thread_id_;
  uint64_t generation_;
  bool self_free_ = false;

  std::mutex mu_;
  std::vector<std::function<void()>> queue_;  // guarded by mu_
  bool stop_ = false;                         // guarded by mu_

  std::map<TimerKey, std::function<void()>> timers_;
  uint64_t timer_seq_ = 0;
  std::unordered_map<Stream *, std::shared_ptr<Stream>> streams_;
  std::vector<std::weak_ptr<Stream>> deferred_;  // streams with staged events
  unsigned deferred_passes_ = 0;
};

}  // namespace ssekit

#endif  // SSEKIT_CORE_LOOP_H
