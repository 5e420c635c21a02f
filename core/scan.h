// Line-end search: the parser's innermost loop.
#ifndef SSEKIT_CORE_SCAN_H
#define SSEKIT_CORE_SCAN_H

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ssekit::detail {

// Returns the first CR or LF in [p, end), or end. Sets *nonascii if a byte
// >= 0x80 occurs before the returned position, so that a pure-ASCII line
// (the common case) skips UTF-8 validation without a second pass.
inline const char *find_eol(const char *p, const char *end, bool *nonascii) {
#if defined(__SSE2__)
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  unsigned high = 0;
  // Two blocks per iteration keeps both load ports busy on long lines.
  while (end - p >= 32) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
    const __m128i b =
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(p + 16));
    const __m128i ea = _mm_or_si128(_mm_cmpeq_epi8(a, cr), _mm_cmpeq_epi8(a, lf));
    const __m128i eb = _mm_or_si128(_mm_cmpeq_epi8(b, cr), _mm_cmpeq_epi8(b, lf));
    const uint32_t m = static_cast<uint32_t>(_mm_movemask_epi8(ea)) |
                       static_cast<uint32_t>(_mm_movemask_epi8(eb)) << 16;
    const uint32_t h = static_cast<uint32_t>(_mm_movemask_epi8(a)) |
                       static_cast<uint32_t>(_mm_movemask_epi8(b)) << 16;
    if (m != 0) {
      const unsigned k = static_cast<unsigned>(__builtin_ctz(m));
      high |= h & ((1u << k) - 1u);
      *nonascii = *nonascii || high != 0;
      return p + k;
    }
    high |= h;
    p += 32;
  }
  if (end - p >= 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
    const __m128i ea = _mm_or_si128(_mm_cmpeq_epi8(a, cr), _mm_cmpeq_epi8(a, lf));
    const unsigned m = static_cast<unsigned>(_mm_movemask_epi8(ea));
    const unsigned h = static_cast<unsigned>(_mm_movemask_epi8(a));
    if (m != 0) {
      const unsigned k = static_cast<unsigned>(__builtin_ctz(m));
      high |= h & ((1u << k) - 1u);
      *nonascii = *nonascii || high != 0;
      return p + k;
    }
    high |= h;
    p += 16;
  }
  *nonascii = *nonascii || high != 0;
#endif
  unsigned char seen = 0;
  for (; p < end; ++p) {
    const unsigned char c = static_cast<unsigned char>(*p);
    if (c == '\n' || c == '\r') break;
    seen |= c;
  }
  *nonascii = *nonascii || (seen & 0x80u) != 0;
  return p;
}

}  // namespace ssekit::detail

#endif  // SSEKIT_CORE_SCAN_H
