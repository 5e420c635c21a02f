// UTF-8 as the WHATWG Encoding Standard decodes it.
#ifndef SSEKIT_CORE_UTF8_H
#define SSEKIT_CORE_UTF8_H

#include <cstddef>
#include <string>

namespace ssekit::utf8 {

// True if [s, s+n) is well-formed UTF-8 (no overlongs, no surrogates, no
// code points above U+10FFFF).
bool valid(const char *s, size_t n);

// Appends [s, s+n) to out with every ill-formed sequence replaced by U+FFFD,
// one replacement per maximal subpart, exactly as the WHATWG "UTF-8 decode"
// does. Because CR and LF are ASCII they always end a sequence, so decoding
// line by line gives the same text as decoding the whole stream first.
void append_replacing(const char *s, size_t n, std::string &out);

}  // namespace ssekit::utf8

#endif  // SSEKIT_CORE_UTF8_H
