// A growable byte buffer whose append is a bounds check and a memcpy, for
// the parser's data buffer: std::string's general-purpose append costs
// several times more per short line.
#ifndef SSEKIT_CORE_BUFFER_H
#define SSEKIT_CORE_BUFFER_H

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

namespace ssekit::detail {

class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  ~Buffer() { std::free(p_); }

  const char *data() const { return p_; }
  size_t size() const { return n_; }
  // Never a null pointer, even before the first allocation: callers hand
  // the view to C callbacks that were promised a valid pointer.
  std::string_view view() const { return std::string_view(p_ != nullptr ? p_ : "", n_); }

  void clear() { n_ = 0; }
  void assign(const char *s, size_t n) {
    n_ = 0;
    append(s, n);
  }
  void append(const char *s, size_t n) {
    if (cap_ - n_ < n) grow(n);
    if (n != 0) std::memcpy(p_ + n_, s, n);
    n_ += n;
  }
  void push_back(char c) {
    if (n_ == cap_) grow(1);
    p_[n_++] = c;
  }
  // Frees the memory if it grew past keep bytes, so one big event does not
  // pin its buffer for the rest of a long-lived stream.
  void shrink_to(size_t keep) {
    if (cap_ > keep) {
      std::free(p_);
      p_ = nullptr;
      n_ = cap_ = 0;
    }
  }

 private:
  void grow(size_t more) {
    size_t cap = cap_ < 256 ? 256 : cap_;
    while (cap - n_ < more) {
      if (cap > SIZE_MAX / 2) throw std::bad_alloc();
      cap *= 2;
    }
    void *p = std::realloc(p_, cap);
    if (p == nullptr) throw std::bad_alloc();
    p_ = static_cast<char *>(p);
    cap_ = cap;
  }

  char *p_ = nullptr;
  size_t n_ = 0;
  size_t cap_ = 0;
};

}  // namespace ssekit::detail

#endif  // SSEKIT_CORE_BUFFER_H
