// Small pieces the stream's files share. Private to the core.
#ifndef SSEKIT_CORE_STREAM_UTIL_H
#define SSEKIT_CORE_STREAM_UTIL_H

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace ssekit {

// Counters have one writer, the loop thread: a plain add, published with a
// relaxed store, is enough and avoids a locked instruction per event.
inline void bump(std::atomic<uint64_t> &counter, uint64_t n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

inline int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A curl_easy_setopt that failed: the option's name and curl's reason.
// Thrown while a request is built, caught where the attempt starts.
struct SetoptError {
  CURLcode rc;
  const char *option;
};

}  // namespace ssekit

#endif  // SSEKIT_CORE_STREAM_UTIL_H
