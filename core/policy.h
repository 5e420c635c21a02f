// What to do after a connection ends: pure functions of what happened, so
// they are tested with a fake clock and no sockets.
#ifndef SSEKIT_CORE_POLICY_H
#define SSEKIT_CORE_POLICY_H

#include <cstdint>
#include <optional>

#include "options.h"

namespace ssekit {

// How one connection attempt ended.
struct Outcome {
  int code = SSEKIT_OK;       // an ssekit_error; SSEKIT_E_STREAM_ENDED for a clean end
  int http_status = 0;
  std::optional<uint64_t> retry_after_ms;  // from a Retry-After header
  uint64_t open_ms = 0;       // how long the connection was open (0: never)
  bool delivered = false;     // the connection delivered at least one event
  bool ever_opened = false;   // some connection of the stream reached OPEN
  // Set for failures retrying cannot fix whatever their code, such as a
  // certificate that does not verify.
  bool fatal = false;
};

// Consecutive failures, carried from one decision to the next.
struct RetryState {
  uint32_t attempts = 0;
  std::optional<uint64_t> first_failure_ms;  // clock time of the first failure in a row
};

struct Decision {
  enum Action { kRetry, kFail, kFinish } action = kFail;
  int code = SSEKIT_OK;   // the error reported (may become RETRIES_EXHAUSTED)
  uint64_t delay_ms = 0;  // for kRetry
};

// Whether a status is worth retrying when not in strict mode: 5xx, 408, 429.
bool retryable_status(int status);

// now_ms: a monotonic clock reading; base_ms: the reconnection time (the
// initial delay or the server's latest `retry`); jitter: a number in [0, 1)
// that takes up to half off the delay. The delay of failure n in a row is
// min(max_delay, max(base, min_delay) * 2^(n-1)), jittered, then raised to
// min_delay, then to a Retry-After (capped at max_retry_after) if longer.
Decision decide(const RetryPolicy &policy, RetryState &state, const Outcome &outcome,
                uint64_t now_ms, uint64_t base_ms, double jitter);

}  // namespace ssekit

#endif  // SSEKIT_CORE_POLICY_H
