// A growable byte buffer whose append is a bounds check and a memcpy, for
// the parser's buffers: std::string's general-purpose append costs several
// times more per short line, and its growth cannot be capped.
#ifndef SSEKIT_CORE_BUFFER_H
#define SSEKIT_CORE_BUFFER_H

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

namespace ssekit::detail {

class Buffer {
 public:
  // Growth stops at limit bytes (0: no limit) unless more is asked for, so a
  // buffer whose contents stay within its limit never allocates more.
  explicit Buffer(size_t limit = 0) : limit_(limit) {}
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  Buffer(Buffer &&o) noexcept : p_(o.p_), n_(o.n_), cap_(o.cap_), limit_(o.limit_) {
    o.p_ = nullptr;
    o.n_ = o.cap_ = 0;
  }
  Buffer &operator=(Buffer &&o) noexcept {
    if (this != &o) {
      std::free(p_);
      p_ = o.p_;
      n_ = o.n_;
      cap_ = o.cap_;
      limit_ = o.limit_;
      o.p_ = nullptr;
      o.n_ = o.cap_ = 0;
    }
    return *this;
  }
  ~Buffer() { std::free(p_); }

  void reserve(size_t n) {
    if (n > cap_) grow(n - n_);
  }
  // Makes room for n more bytes and returns where they go.
  char *extend(size_t n) {
    if (cap_ - n_ < n) grow(n);
    char *at = p_ + n_;
    n_ += n;
    return at;
  }

  void set_limit(size_t limit) { limit_ = limit; }

  const char *data() const { return p_; }
  char *data() { return p_; }
  size_t size() const { return n_; }
  size_t capacity() const { return cap_; }
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
  // Bytes past the old size are left uninitialised for the caller to fill.
  void resize(size_t n) {
    if (n > cap_) grow(n - n_);
    n_ = n;
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
    if (more > SIZE_MAX / 2 - n_) throw std::bad_alloc();
    const size_t need = n_ + more;
    size_t cap = cap_ < 256 ? 256 : cap_;
    while (cap < need) cap *= 2;
    if (limit_ != 0 && cap > limit_) cap = limit_ < need ? need : limit_;
    void *p = std::realloc(p_, cap);
    if (p == nullptr) throw std::bad_alloc();
    p_ = static_cast<char *>(p);
    cap_ = cap;
  }

  char *p_ = nullptr;
  size_t n_ = 0;
  size_t cap_ = 0;
  size_t limit_;
};

}  // namespace ssekit::detail

#endif  // SSEKIT_CORE_BUFFER_H
