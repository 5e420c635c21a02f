// UTF-8 as the WHATWG Encoding Standard decodes it.
#ifndef SSEKIT_CORE_UTF8_H
#define SSEKIT_CORE_UTF8_H

#include <cstddef>

namespace ssekit::utf8 {

// True if [s, s+n) is well-formed UTF-8 (no overlongs, no surrogates, no
// code points above U+10FFFF).
bool valid(const char *s, size_t n);

// The size of [s, s+n) once every ill-formed sequence is replaced by U+FFFD,
// one replacement per maximal subpart, exactly as the WHATWG "UTF-8 decode"
// does. Never less than n: a maximal subpart is at most 3 bytes. Because CR
// and LF are ASCII they always end a sequence, so decoding line by line
// gives the same text as decoding the whole stream first.
size_t replaced_size(const char *s, size_t n);

// Decodes the n bytes at buf in place, where buf has room for
// out = replaced_size(buf, n) bytes, leaving the decoded text in buf[0, out).
void replace_in_place(char *buf, size_t n, size_t out);

}  // namespace ssekit::utf8

#endif  // SSEKIT_CORE_UTF8_H
