// The C API's opaque views, back to what the core made them from.
#ifndef SSEKIT_CAPI_HANDLES_H
#define SSEKIT_CAPI_HANDLES_H

#include "ssekit.h"
#include "views.h"

namespace ssekit::capi {

inline const ResponseView *view(const ssekit_response *r) {
  return reinterpret_cast<const ResponseView *>(r);
}
inline HeaderSink *view(ssekit_headers *h) { return reinterpret_cast<HeaderSink *>(h); }
inline const FailureView *view(const ssekit_failure *f) {
  return reinterpret_cast<const FailureView *>(f);
}

}  // namespace ssekit::capi

#endif  // SSEKIT_CAPI_HANDLES_H
