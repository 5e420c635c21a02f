// The replay window of a stream's dedupe option: remembers the last N event
// ids delivered and tells whether an id is one of them.
#ifndef SSEKIT_CORE_DEDUPE_H
#define SSEKIT_CORE_DEDUPE_H

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string_view>
#include <unordered_set>

namespace ssekit {

class DedupeWindow {
 public:
  explicit DedupeWindow(size_t capacity = 4096) : capacity_(capacity) {}

  // Whether id is in the window; if not, it is added (the oldest id leaves
  // a full window). Only 64-bit fingerprints are kept, so the memory held
  // does not depend on the ids' length: two distinct ids with the same
  // fingerprint (about one chance in 2^64 / capacity per id) count as one,
  // and the later event is skipped.
  bool seen_or_add(std::string_view id) {
    const uint64_t fp = fingerprint(id);
    if (set_.count(fp) != 0) return true;
    set_.insert(fp);
    order_.push_back(fp);
    if (order_.size() > capacity_) {
      set_.erase(order_.front());
      order_.pop_front();
    }
    return false;
  }

  size_t size() const { return order_.size(); }
  // An upper bound of the bytes the window holds, for tests of its bound.
  size_t bytes_held() const {
    // A hash node is a fingerprint, a cached hash and a next pointer.
    return set_.bucket_count() * sizeof(void *) + set_.size() * 3 * sizeof(uint64_t) +
           (order_.size() + 512) * sizeof(uint64_t);
  }

  // FNV-1a, 64 bits: fixed by this file, not by the standard library, so
  // the collision rule is the same on every platform.
  static uint64_t fingerprint(std::string_view id) {
    uint64_t h = 14695981039346656037ull;
    for (const char c : id) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
    return h;
  }

 private:
  size_t capacity_;
  std::unordered_set<uint64_t> set_;
  std::deque<uint64_t> order_;
};

}  // namespace ssekit

#endif  // SSEKIT_CORE_DEDUPE_H
