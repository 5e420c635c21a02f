#include "policy.h"

#include <algorithm>

namespace ssekit {
namespace {

// Failures that retrying cannot fix: the request or the server's answer is
// wrong, not the network.
bool permanent(int code) {
  switch (code) {
    case SSEKIT_E_CONTENT_TYPE:
    case SSEKIT_E_TOO_MANY_REDIRECTS:
    case SSEKIT_E_REDIRECT:
    case SSEKIT_E_REQUEST:
    case SSEKIT_E_HOOK:
    case SSEKIT_E_INVALID:
    case SSEKIT_E_NOMEM:
    case SSEKIT_E_INTERNAL:
      return true;
    default:
      return false;
  }
}

uint64_t saturating_add(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

}  // namespace

bool retryable_status(int status) {
  return status >= 500 || status == 408 || status == 429;
}

Decision decide(const RetryPolicy &policy, RetryState &state, const Outcome &outcome,
                uint64_t now_ms, uint64_t base_ms, double jitter) {
  Decision d;
  d.code = outcome.code;

  if (outcome.code == SSEKIT_E_STREAM_ENDED && policy.on_end == SSEKIT_END_FINISH) {
    d.action = Decision::kFinish;
    d.code = SSEKIT_OK;
    return d;
  }
  if (outcome.fatal || permanent(outcome.code)) return d;
  if (policy.fail_first && !outcome.ever_opened) return d;
  if (!policy.reconnect) return d;
  if (outcome.code == SSEKIT_E_HTTP_STATUS &&
      (policy.strict || !retryable_status(outcome.http_status)))
    return d;

  // A connection that delivered an event, or stayed open long enough, was
  // a success: the failures in a row start again from zero.
  if (outcome.delivered || (outcome.open_ms != 0 && outcome.open_ms >= policy.reset_after_ms))
    state = RetryState{};
  ++state.attempts;
  if (!state.first_failure_ms) state.first_failure_ms = now_ms;

  if (policy.max_attempts != 0 && state.attempts > policy.max_attempts) {
    d.code = SSEKIT_E_RETRIES_EXHAUSTED;
    return d;
  }

  const uint64_t floor = std::min(policy.min_delay_ms, kMaxDurationMs);
  const uint64_t cap = std::max(std::min(policy.max_delay_ms, kMaxDurationMs), floor);
  uint64_t delay = std::max(base_ms, floor);
  for (uint32_t i = 1; i < state.attempts && delay < cap; ++i)
    delay = delay > UINT64_MAX / 2 ? UINT64_MAX : delay * 2;
  delay = std::min(delay, cap);
  if (jitter > 0 && jitter < 1)
    delay -= static_cast<uint64_t>(static_cast<double>(delay / 2) * jitter);
  delay = std::max(delay, floor);
  // The server knows best when it will be back, within reason.
  if (outcome.retry_after_ms) {
    const uint64_t after = std::min(*outcome.retry_after_ms,
                                    std::min(policy.max_retry_after_ms, kMaxDurationMs));
    delay = std::max(delay, after);
  }

  if (policy.max_retry_time_ms != 0 &&
      saturating_add(now_ms, delay) - *state.first_failure_ms > policy.max_retry_time_ms) {
    d.code = SSEKIT_E_RETRIES_EXHAUSTED;
    return d;
  }
  d.action = Decision::kRetry;
  d.delay_ms = delay;
  return d;
}

}  // namespace ssekit
