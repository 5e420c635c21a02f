// What the core hands to callbacks besides events: a response, a hook's
// header list, a failure. The C API's opaque types (ssekit_response,
// ssekit_headers, ssekit_failure) are these, cast: their layout stays out
// of the C ABI, and no C type is defined in the core.
#ifndef SSEKIT_CORE_VIEWS_H
#define SSEKIT_CORE_VIEWS_H

#include <cstdint>
#include <string>

#include "options.h"
#include "ssekit.h"

namespace ssekit {

struct ResponseView {
  int status;
  const HeaderList *headers;
};

struct HeaderSink {
  HeaderList items;
};

struct FailureView {
  int code;
  int status;
  const char *message;
  int will_retry;
  uint64_t retry_ms;
  const HeaderList *headers;  // the failing response's, or empty
  const std::string *body;    // its first bytes, or empty
};

inline const ssekit_response *to_c(const ResponseView *v) {
  return reinterpret_cast<const ssekit_response *>(v);
}
inline ssekit_headers *to_c(HeaderSink *v) { return reinterpret_cast<ssekit_headers *>(v); }
inline const ssekit_failure *to_c(const FailureView *v) {
  return reinterpret_cast<const ssekit_failure *>(v);
}

}  // namespace ssekit

#endif  // SSEKIT_CORE_VIEWS_H
