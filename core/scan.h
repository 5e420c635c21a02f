// Line-end search: the parser's innermost loop.
//
// Each scanner returns the first CR or LF in [p, end), or end, and sets
// *nonascii if a byte >= 0x80 occurs before it, so that a pure-ASCII line
// (the common case) skips UTF-8 validation without a second pass. The
// parser is instantiated once per scanner and picks one at run time.
#ifndef SSEKIT_CORE_SCAN_H
#define SSEKIT_CORE_SCAN_H

#include <cstddef>
#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define SSEKIT_HAVE_AVX2_SCAN 1
#endif
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SSEKIT_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define SSEKIT_ALWAYS_INLINE inline
#endif

namespace ssekit::detail {

struct ScalarScan {
  static SSEKIT_ALWAYS_INLINE const char *find(const char *p, const char *end,
                                               bool *nonascii) {
    unsigned char seen = 0;
    for (; p < end; ++p) {
      const unsigned char c = static_cast<unsigned char>(*p);
      if (c == '\n' || c == '\r') break;
      seen |= c;
    }
    *nonascii = *nonascii || (seen & 0x80u) != 0;
    return p;
  }
};

#if defined(__SSE2__)
struct Sse2Scan {
  static SSEKIT_ALWAYS_INLINE const char *find(const char *p, const char *end,
                                               bool *nonascii) {
    const __m128i cr = _mm_set1_epi8('\r');
    const __m128i lf = _mm_set1_epi8('\n');
    // Bytes before the line end are OR-ed together; only their top bits
    // matter, and they are read once at the end.
    __m128i seen = _mm_setzero_si128();
    while (end - p >= 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
      const __m128i eol = _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf));
      const auto m = static_cast<unsigned>(_mm_movemask_epi8(eol));
      if (m != 0) {
        const auto k = static_cast<unsigned>(__builtin_ctz(m));
        const auto before = static_cast<unsigned>(_mm_movemask_epi8(v)) & ((1u << k) - 1u);
        *nonascii = *nonascii || before != 0 || _mm_movemask_epi8(seen) != 0;
        return p + k;
      }
      seen = _mm_or_si128(seen, v);
      p += 16;
    }
    *nonascii = *nonascii || _mm_movemask_epi8(seen) != 0;
    return ScalarScan::find(p, end, nonascii);
  }
};
using BaselineScan = Sse2Scan;
#else
using BaselineScan = ScalarScan;
#endif

#if defined(SSEKIT_HAVE_AVX2_SCAN)
struct Avx2Scan {
  // Plain inline: GCC refuses always_inline into the generic template body,
  // but inlines it once that body is inlined into the avx2 wrapper.
  __attribute__((target("avx2"))) static inline const char *find(
      const char *p, const char *end, bool *nonascii) {
    const __m256i cr = _mm256_set1_epi8('\r');
    const __m256i lf = _mm256_set1_epi8('\n');
    __m256i seen = _mm256_setzero_si256();
    while (end - p >= 32) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p));
      const __m256i eol =
          _mm256_or_si256(_mm256_cmpeq_epi8(v, cr), _mm256_cmpeq_epi8(v, lf));
      const auto m = static_cast<uint32_t>(_mm256_movemask_epi8(eol));
      if (m != 0) {
        const auto k = static_cast<unsigned>(__builtin_ctz(m));
        const uint32_t below = k == 0 ? 0u : (~0u >> (32u - k));
        const auto before = static_cast<uint32_t>(_mm256_movemask_epi8(v)) & below;
        *nonascii = *nonascii || before != 0 || _mm256_movemask_epi8(seen) != 0;
        return p + k;
      }
      seen = _mm256_or_si256(seen, v);
      p += 32;
    }
    *nonascii = *nonascii || _mm256_movemask_epi8(seen) != 0;
    return BaselineScan::find(p, end, nonascii);
  }
};

inline bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2") != 0;
  return has;
}
#endif

}  // namespace ssekit::detail

#endif  // SSEKIT_CORE_SCAN_H
