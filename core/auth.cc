// A 401/403 whose auth hook answers later, from another thread.
#include "stream.h"

#include "http.h"
#include "stream_util.h"

namespace ssekit {

int Stream::defer_auth() {
  if (!loop_.on_loop_thread() || !in_auth_) return SSEKIT_E_STATE;
  auth_deferred_ = true;
  return SSEKIT_OK;
}

int Stream::resume_auth(bool retry) {
  if (closing() || state() == SSEKIT_STATE_CLOSED) return SSEKIT_E_STATE;
  auto self = shared_from_this();
  loop_.post([self, retry] {
    if (!self->auth_waiting_ || self->stopped_ || self->closing()) return;
    self->auth_waiting_ = false;
    if (retry) {
      self->auth_retried_ = true;
      self->connect();
    } else {
      self->decide_after(std::move(self->auth_failure_));
    }
  });
  return SSEKIT_OK;
}

}  // namespace ssekit
