#include "loop.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <stdexcept>

#if SSEKIT_EPOLL_LOOP
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#endif

#include "options.h"
#include "stream.h"

namespace ssekit {
namespace {

// Bumped in a child after fork(): loops of an older generation have no
// thread there, and their epoll and eventfd are shared with the parent.
std::atomic<uint64_t> fork_generation{0};

void on_fork_child() { fork_generation.fetch_add(1, std::memory_order_relaxed); }

void global_init() {
  static const int atfork = pthread_atfork(nullptr, nullptr, &on_fork_child);
  (void)atfork;
  // curl_global_init is not thread-safe on every build: once, before any
  // loop thread exists.
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) throw std::runtime_error(curl_easy_strerror(rc));
}

// A bound on every wait, so that a lost wakeup can only delay, not hang.
constexpr long kMaxWaitMs = 1000;

// Everything the loop runs (commands, timers, transfer ends) is called here,
// so no exception unwinds the loop thread; the stream code reports its own
// failures, and what escapes it (an allocation failing while reporting one)
// has nowhere better to go.
template <typename F>
void guarded(F &&fn) noexcept {
  try {
    fn();
  } catch (...) {
  }
}

}  // namespace

Loop::Loop() : generation_(fork_generation.load(std::memory_order_relaxed)) {
  global_init();
  multi_ = curl_multi_init();
  if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
  // Streams to one host share a connection where the server speaks HTTP/2.
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
#if SSEKIT_EPOLL_LOOP
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  if (epoll_fd_ < 0 || wake_fd_ < 0 || epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    curl_multi_cleanup(multi_);
    throw std::runtime_error("epoll or eventfd setup failed");
  }
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Loop::socket_cb);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Loop::timer_cb);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
#endif
  try {
    // The loop thread blocks every asynchronous signal, so a Ctrl-C reaches
    // the application's threads (Python raises KeyboardInterrupt in its
    // main thread); faults are delivered to the faulting thread anyway.
    sigset_t all, old;
    sigfillset(&all);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS})
      sigdelset(&all, sig);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    try {
      thread_ = std::thread([this] {
        run();
        // Freed from its own thread: nothing else will join or free it.
        if (self_free_) delete this;
      });
    } catch (...) {
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
      throw;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  } catch (...) {
#if SSEKIT_EPOLL_LOOP
    ::close(epoll_fd_);
    ::close(wake_fd_);
#endif
    curl_multi_cleanup(multi_);
    throw;
  }
  thread_id_ = thread_.get_id();
}

Loop::~Loop() {
  if (!thread_.joinable()) {
    // Freed by its own thread after run() returned (free_from_loop_thread).
    cleanup();
    return;
  }
  stop_all();
  wake();
  thread_.join();
  cleanup();
}

void Loop::stop_all() {
  post([this] {
    // Copy first: stopping a stream detaches it.
    std::vector<std::shared_ptr<Stream>> all;
    all.reserve(streams_.size());
    for (auto &entry : streams_) all.push_back(entry.second);
    for (auto &s : all) s->stop(SSEKIT_E_CLOSED);
  });
  std::lock_guard<std::mutex> lock(mu_);
  stop_ = true;
}

void Loop::cleanup() {
  curl_multi_cleanup(multi_);
#if SSEKIT_EPOLL_LOOP
  ::close(epoll_fd_);
  ::close(wake_fd_);
#endif
}

uint64_t Loop::fork_generation_now() { return fork_generation.load(std::memory_order_relaxed); }

bool Loop::dead() const {
  return generation_ != fork_generation.load(std::memory_order_relaxed);
}

void Loop::free_from_loop_thread() {
  // Joining itself would never return: the thread is detached, stops every
  // stream, and frees the loop once the current pass is over.
  thread_.detach();
  self_free_ = true;
  stop_all();
}

void Loop::abandon() {
  // After fork() the thread is gone: nothing can be joined or driven, and
  // curl's state may be mid-change. Only the descriptors are this
  // process's to close; the rest is left, as a child that exits would.
#if SSEKIT_EPOLL_LOOP
  ::close(epoll_fd_);
  ::close(wake_fd_);
#endif
}

Loop &Loop::shared() {
  // A child after fork() gets a new default loop of its own; the parent's
  // is abandoned there, never freed.
  static std::mutex mu;
  static Loop *loop = nullptr;
  std::lock_guard<std::mutex> lock(mu);
  if (loop != nullptr && loop->dead()) {
    loop->abandon();
    loop = nullptr;
  }
  if (loop == nullptr) loop = new Loop();
  return *loop;
}

void Loop::post(std::function<void()> fn) {
  // A loop inherited through fork(): its thread does not exist here, and
  // waking it would wake the parent's.
  if (dead()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(fn));
  }
  wake();
}

void Loop::wake() {
#if SSEKIT_EPOLL_LOOP
  const uint64_t one = 1;
  // A full counter (EAGAIN) already means "wake up".
  while (::write(wake_fd_, &one, sizeof one) < 0 && errno == EINTR) {
  }
#else
  curl_multi_wakeup(multi_);
#endif
}

bool Loop::commands_pending() {
  std::lock_guard<std::mutex> lock(mu_);
  return !queue_.empty();
}

Loop::TimerKey Loop::add_timer(uint64_t delay_ms, std::function<void()> fn) {
  // Clamped where delays enter the timer code, whatever computed them: a
  // larger value would overflow the clock's signed nanoseconds.
  const auto delay = std::chrono::milliseconds(std::min(delay_ms, kMaxDurationMs));
  const TimerKey key{Clock::now() + delay, ++timer_seq_};
  timers_.emplace(key, std::move(fn));
  return key;
}

void Loop::cancel_timer(TimerKey *key) {
  if (key->second != 0) timers_.erase(*key);
  key->second = 0;
}

void Loop::attach(std::shared_ptr<Stream> stream) {
  Stream *raw = stream.get();
  streams_.emplace(raw, std::move(stream));
}

void Loop::detach(Stream *stream) {
  // The stream may be running the code that detaches it: let it finish
  // before the last reference goes.
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  std::shared_ptr<Stream> keep = std::move(it->second);
  streams_.erase(it);
  post([keep] {});
}

void Loop::defer_flush(std::weak_ptr<Stream> stream) { deferred_.push_back(std::move(stream)); }

void Loop::flush_deferred() {
  deferred_passes_ = 0;
  if (deferred_.empty()) return;
  std::vector<std::weak_ptr<Stream>> streams;
  streams.swap(deferred_);
  for (auto &w : streams) {
    if (auto s = w.lock()) s->flush_deferred();
  }
}

void Loop::run_timers() {
  const auto now = Clock::now();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto fn = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    guarded(fn);
  }
}

void Loop::read_messages() {
  int left = 0;
  while (CURLMsg *msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Stream *stream = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &stream);
    if (stream != nullptr) {
      CURL *easy = msg->easy_handle;
      const CURLcode result = msg->data.result;
      guarded([&] { stream->on_transfer_done(easy, result); });
    }
  }
}

long Loop::wait_ms() {
  auto until = [](Clock::time_point t) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
    // Round up so the deadline has passed when the wait ends.
    return ms <= 0 ? 0L : static_cast<long>(ms) + 1;
  };
  long wait = kMaxWaitMs;
#if SSEKIT_EPOLL_LOOP
  if (curl_due_) wait = std::min(wait, until(*curl_due_));
#else
  long curl_ms = -1;
  curl_multi_timeout(multi_, &curl_ms);
  if (curl_ms >= 0) wait = std::min(wait, curl_ms);
#endif
  if (!timers_.empty()) wait = std::min(wait, until(timers_.begin()->first.first));
  return wait;
}

#if SSEKIT_EPOLL_LOOP

int Loop::socket_cb(CURL *, curl_socket_t s, int what, void *self, void *assigned) {
  auto *loop = static_cast<Loop *>(self);
  if (what == CURL_POLL_REMOVE) {
    // The socket may be closed already, which removed it from epoll.
    epoll_ctl(loop->epoll_fd_, EPOLL_CTL_DEL, s, nullptr);
    curl_multi_assign(loop->multi_, s, nullptr);
    return 0;
  }
  epoll_event ev{};
  ev.events = ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0u) |
              ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0u);
  ev.data.fd = s;
  // curl may hand back a socket number that a closed socket had: try both.
  const int first = assigned != nullptr ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(loop->epoll_fd_, first, s, &ev) != 0) {
    const int second = first == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(loop->epoll_fd_, second, s, &ev) != 0) return -1;
  }
  if (assigned == nullptr) curl_multi_assign(loop->multi_, s, loop);
  return 0;
}

int Loop::timer_cb(CURLM *, long timeout_ms, void *self) {
  auto *loop = static_cast<Loop *>(self);
  if (timeout_ms < 0) {
    loop->curl_due_.reset();
  } else {
    loop->curl_due_ = Clock::now() + std::chrono::milliseconds(timeout_ms);
  }
  return 0;
}

void Loop::drive(curl_socket_t s, int events) {
  int running = 0;
  curl_multi_socket_action(multi_, s, events, &running);
  read_messages();
}

void Loop::run() {
  std::vector<std::function<void()>> batch;
  epoll_event ready[64];
  // Passes a stream's staged events may wait while the loop never idles.
  constexpr unsigned kMaxDeferredPasses = 8;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch.swap(queue_);
    }
    for (auto &fn : batch) guarded(fn);
    batch.clear();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_ && queue_.empty()) break;
    }
    run_timers();
    if (curl_due_ && *curl_due_ <= Clock::now()) {
      curl_due_.reset();
      drive(CURL_SOCKET_TIMEOUT, 0);
    }

    const int wait = commands_pending() ? 0 : static_cast<int>(wait_ms());
    int n = 0;
    if (!deferred_.empty()) {
      // More data already waiting joins the staged events; otherwise they
      // go to their queues before the loop sleeps.
      n = ++deferred_passes_ < kMaxDeferredPasses ? epoll_wait(epoll_fd_, ready, 64, 0) : 0;
      if (n <= 0) flush_deferred();
    }
    if (n <= 0) n = epoll_wait(epoll_fd_, ready, 64, wait);
    for (int i = 0; i < n; ++i) {
      const int fd = ready[i].data.fd;
      if (fd == wake_fd_) {
        uint64_t count;
        while (::read(wake_fd_, &count, sizeof count) < 0 && errno == EINTR) {
        }
        continue;
      }
      const uint32_t e = ready[i].events;
      int flags = 0;
      if ((e & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) != 0) flags |= CURL_CSELECT_IN;
      if ((e & EPOLLOUT) != 0) flags |= CURL_CSELECT_OUT;
      if ((e & EPOLLERR) != 0) flags |= CURL_CSELECT_ERR;
      drive(fd, flags);
    }
  }
}

#else

void Loop::run() {
  std::vector<std::function<void()>> batch;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch.swap(queue_);
    }
    for (auto &fn : batch) guarded(fn);
    batch.clear();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_ && queue_.empty()) break;
    }
    run_timers();
    int running = 0;
    curl_multi_perform(multi_, &running);
    read_messages();
    flush_deferred();
    if (!commands_pending())
      curl_multi_poll(multi_, nullptr, 0, static_cast<int>(wait_ms()), nullptr);
  }
}

#endif

}  // namespace ssekit
