// Every C entry point runs its body through guarded(): no C++ exception may
// cross the C ABI, so failures become error codes here.
#ifndef SSEKIT_CAPI_GUARD_H
#define SSEKIT_CAPI_GUARD_H

#include <new>

#include "ssekit.h"

namespace ssekit::capi {

template <typename F>
int guarded(F f) noexcept {
  try {
    return f();
  } catch (const std::bad_alloc &) {
    return SSEKIT_E_NOMEM;
  } catch (...) {
    return SSEKIT_E_INTERNAL;
  }
}

}  // namespace ssekit::capi

#endif  // SSEKIT_CAPI_GUARD_H
