#include "utf8.h"

#include <cstdint>
#include <cstring>

namespace ssekit::utf8 {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";

// For a lead byte: how many continuation bytes follow, and the allowed range
// of the first one (the ranges exclude overlongs, surrogates and > U+10FFFF).
// Returns false for bytes that can never start a sequence.
inline bool lead(unsigned char c, size_t *need, unsigned char *lo,
                 unsigned char *hi) {
  *lo = 0x80;
  *hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    *need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    *need = 2;
    if (c == 0xE0) *lo = 0xA0;
    if (c == 0xED) *hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    *need = 3;
    if (c == 0xF0) *lo = 0x90;
    if (c == 0xF4) *hi = 0x8F;
  } else {
    return false;
  }
  return true;
}

// Length of the well-formed sequence at s[i], or 0 plus the length of its
// maximal subpart in *bad (at least 1) if it is ill-formed.
inline size_t sequence(const unsigned char *s, size_t i, size_t n,
                       size_t *bad) {
  size_t need;
  unsigned char lo, hi;
  if (!lead(s[i], &need, &lo, &hi)) {
    *bad = 1;
    return 0;
  }
  size_t j = i + 1;
  for (size_t k = 0; k < need; ++k, ++j) {
    if (j >= n || s[j] < lo || s[j] > hi) {
      *bad = j - i;
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return need + 1;
}

inline bool ascii8(const unsigned char *s) {
  uint64_t w;
  std::memcpy(&w, s, 8);
  return (w & 0x8080808080808080ull) == 0;
}

}  // namespace

bool valid(const char *str, size_t n) {
  const auto *s = reinterpret_cast<const unsigned char *>(str);
  size_t i = 0;
  while (i < n) {
    if (i + 16 <= n && ascii8(s + i) && ascii8(s + i + 8)) {
      i += 16;
      continue;
    }
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    size_t bad;
    const size_t len = sequence(s, i, n, &bad);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

size_t replaced_size(const char *str, size_t n) {
  const auto *s = reinterpret_cast<const unsigned char *>(str);
  size_t out = 0;
  size_t i = 0;
  while (i < n) {
    if (s[i] < 0x80) {
      ++i;
      ++out;
      continue;
    }
    size_t bad;
    const size_t len = sequence(s, i, n, &bad);
    if (len != 0) {
      i += len;
      out += len;
    } else {
      i += bad;
      out += 3;
    }
  }
  return out;
}

void replace_in_place(char *buf, size_t n, size_t out) {
  // The input moves to the end of the room and is decoded from there to the
  // start: no replacement is shorter than what it replaces, so the writer
  // never passes the reader.
  char *const in = buf + (out - n);
  std::memmove(in, buf, n);
  const auto *s = reinterpret_cast<const unsigned char *>(in);
  char *w = buf;
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    while (run < n && s[run] < 0x80) ++run;
    std::memmove(w, in + i, run - i);
    w += run - i;
    i = run;
    if (i >= n) break;
    size_t bad;
    const size_t len = sequence(s, i, n, &bad);
    if (len != 0) {
      std::memmove(w, in + i, len);
      w += len;
      i += len;
    } else {
      // The byte that broke the sequence is not consumed: it may start the
      // next one (WHATWG: "prepend byte to stream").
      std::memcpy(w, kReplacement, 3);
      w += 3;
      i += bad;
    }
  }
}

}  // namespace ssekit::utf8
