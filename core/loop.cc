#include "loop.h"

#include <stdexcept>

#include "stream.h"

namespace ssekit {
namespace {

void global_init() {
  // curl_global_init is not thread-safe on every build: once, before any
  // loop thread exists.
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) throw std::runtime_error(curl_easy_strerror(rc));
}

}  // namespace

Loop::Loop() {
  global_init();
  multi_ = curl_multi_init();
  if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
  // Streams to one host share a connection where the server speaks HTTP/2.
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  try {
    thread_ = std::thread([this] { run(); });
  } catch (...) {
    curl_multi_cleanup(multi_);
    throw;
  }
  thread_id_ = thread_.get_id();
}

Loop::~Loop() {
  post([this] {
    // Copy first: stopping a stream detaches it.
    std::vector<std::shared_ptr<Stream>> all;
    all.reserve(streams_.size());
    for (auto &entry : streams_) all.push_back(entry.second);
    for (auto &s : all) s->stop(SSEKIT_E_CLOSED);
  });
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  curl_multi_wakeup(multi_);
  thread_.join();
  curl_multi_cleanup(multi_);
}

Loop &Loop::shared() {
  static Loop *loop = new Loop();
  return *loop;
}

void Loop::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(fn));
  }
  curl_multi_wakeup(multi_);
}

Loop::TimerKey Loop::add_timer(uint64_t delay_ms, std::function<void()> fn) {
  const TimerKey key{Clock::now() + std::chrono::milliseconds(delay_ms), ++timer_seq_};
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

void Loop::run_timers() {
  const auto now = Clock::now();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto fn = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    fn();
  }
}

long Loop::wait_ms() {
  long curl_ms = -1;
  curl_multi_timeout(multi_, &curl_ms);
  // No timer and nothing for curl: sleep until woken; a bound keeps a lost
  // wakeup from being fatal.
  long wait = curl_ms < 0 ? 1000 : curl_ms;
  if (!timers_.empty()) {
    const auto due = std::chrono::duration_cast<std::chrono::milliseconds>(
                         timers_.begin()->first.first - Clock::now())
                         .count();
    // Round up so the timer is due when the wait ends.
    const long timer_ms = due <= 0 ? 0 : static_cast<long>(due) + 1;
    if (timer_ms < wait) wait = timer_ms;
  }
  return wait;
}

void Loop::run() {
  std::vector<std::function<void()>> batch;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch.swap(queue_);
    }
    for (auto &fn : batch) fn();
    batch.clear();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_ && queue_.empty()) break;
    }
    run_timers();

    int running = 0;
    curl_multi_perform(multi_, &running);
    int left = 0;
    while (CURLMsg *msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Stream *stream = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &stream);
      if (stream != nullptr) stream->on_transfer_done(msg->easy_handle, msg->data.result);
    }

    bool pending;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending = !queue_.empty();
    }
    if (!pending) curl_multi_poll(multi_, nullptr, 0, static_cast<int>(wait_ms()), nullptr);
  }
}

}  // namespace ssekit
