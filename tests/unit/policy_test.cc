// The reconnection policy, driven with a fake clock: no sockets, no sleeps.
#include <gtest/gtest.h>

#include "policy.h"

namespace ssekit {
namespace {

Outcome ended(uint64_t open_ms = 10) {
  Outcome o;
  o.code = SSEKIT_E_STREAM_ENDED;
  o.open_ms = open_ms;
  return o;
}

Outcome status(int code, std::optional<uint64_t> retry_after = std::nullopt) {
  Outcome o;
  o.code = SSEKIT_E_HTTP_STATUS;
  o.http_status = code;
  o.retry_after_ms = retry_after;
  return o;
}

TEST(Policy, BackoffDoublesFromTheBaseAndIsCapped) {
  RetryPolicy p;  // 3 s initial, 30 s cap
  RetryState st;
  const uint64_t expected[] = {3000, 6000, 12000, 24000, 30000, 30000};
  for (uint64_t want : expected) {
    const Decision d = decide(p, st, ended(), 0, p.initial_delay_ms, 0.0);
    ASSERT_EQ(d.action, Decision::kRetry);
    EXPECT_EQ(d.delay_ms, want);
  }
}

TEST(Policy, JitterTakesOffAtMostHalf) {
  RetryPolicy p;
  RetryState st;
  EXPECT_EQ(decide(p, st, ended(), 0, 1000, 0.999999).delay_ms, 501u);
  RetryState st2;
  EXPECT_EQ(decide(p, st2, ended(), 0, 1000, 0.5).delay_ms, 750u);
}

TEST(Policy, ServerRetryIsTheBase) {
  RetryPolicy p;
  RetryState st;
  EXPECT_EQ(decide(p, st, ended(), 0, 250, 0.0).delay_ms, 250u);
  EXPECT_EQ(decide(p, st, ended(), 0, 250, 0.0).delay_ms, 500u);
}

TEST(Policy, AHealthyConnectionResetsTheBackoff) {
  RetryPolicy p;
  RetryState st;
  decide(p, st, ended(), 0, 1000, 0.0);
  decide(p, st, ended(), 0, 1000, 0.0);
  EXPECT_EQ(decide(p, st, ended(59999), 0, 1000, 0.0).delay_ms, 4000u);
  EXPECT_EQ(decide(p, st, ended(60000), 0, 1000, 0.0).delay_ms, 1000u);
  EXPECT_EQ(st.attempts, 1u);
}

TEST(Policy, MaxAttemptsEndsWithRetriesExhausted) {
  RetryPolicy p;
  p.max_attempts = 2;
  RetryState st;
  EXPECT_EQ(decide(p, st, ended(), 0, 10, 0.0).action, Decision::kRetry);
  EXPECT_EQ(decide(p, st, ended(), 0, 10, 0.0).action, Decision::kRetry);
  const Decision d = decide(p, st, ended(), 0, 10, 0.0);
  EXPECT_EQ(d.action, Decision::kFail);
  EXPECT_EQ(d.code, SSEKIT_E_RETRIES_EXHAUSTED);
}

TEST(Policy, MaxRetryTimeCountsFromTheFirstFailureInARow) {
  RetryPolicy p;
  p.max_retry_time_ms = 5000;
  RetryState st;
  EXPECT_EQ(decide(p, st, ended(), 1000, 1000, 0.0).action, Decision::kRetry);  // retry at 2000
  EXPECT_EQ(decide(p, st, ended(), 2000, 1000, 0.0).action, Decision::kRetry);  // at 4000
  const Decision d = decide(p, st, ended(), 4000, 1000, 0.0);                  // would be 8000
  EXPECT_EQ(d.action, Decision::kFail);
  EXPECT_EQ(d.code, SSEKIT_E_RETRIES_EXHAUSTED);
}

TEST(Policy, StatusesFollowTheDocumentedTable) {
  RetryPolicy p;
  for (int code : {500, 502, 503, 504, 408, 429}) {
    RetryState st;
    EXPECT_EQ(decide(p, st, status(code), 0, 10, 0.0).action, Decision::kRetry) << code;
  }
  for (int code : {204, 201, 301, 400, 401, 403, 404, 410}) {
    RetryState st;
    const Decision d = decide(p, st, status(code), 0, 10, 0.0);
    EXPECT_EQ(d.action, Decision::kFail) << code;
    EXPECT_EQ(d.code, SSEKIT_E_HTTP_STATUS);
  }
}

TEST(Policy, StrictModeFailsEveryStatus) {
  RetryPolicy p;
  p.strict = true;
  RetryState st;
  EXPECT_EQ(decide(p, st, status(503), 0, 10, 0.0).action, Decision::kFail);
  // Network errors still reconnect, as in a browser.
  Outcome o;
  o.code = SSEKIT_E_NETWORK;
  EXPECT_EQ(decide(p, st, o, 0, 10, 0.0).action, Decision::kRetry);
}

TEST(Policy, FailFirstEndsTheStreamUntilAConnectionOpened) {
  RetryPolicy p;
  p.fail_first = true;
  RetryState st;
  Outcome o;
  o.code = SSEKIT_E_NETWORK;
  EXPECT_EQ(decide(p, st, o, 0, 10, 0.0).action, Decision::kFail);
  EXPECT_EQ(decide(p, st, status(503), 0, 10, 0.0).action, Decision::kFail);
  // Once some connection opened, failures reconnect as configured.
  o.ever_opened = true;
  EXPECT_EQ(decide(p, st, o, 0, 10, 0.0).action, Decision::kRetry);
  Outcome s = status(503);
  s.ever_opened = true;
  EXPECT_EQ(decide(p, st, s, 0, 10, 0.0).action, Decision::kRetry);
}

TEST(Policy, WithoutReconnectEveryFailureAndEveryEndIsFinal) {
  RetryPolicy p;
  p.reconnect = false;
  RetryState st;
  Outcome o;
  o.code = SSEKIT_E_NETWORK;
  o.ever_opened = true;
  o.delivered = true;
  EXPECT_EQ(decide(p, st, o, 0, 10, 0.0).action, Decision::kFail);
  EXPECT_EQ(decide(p, st, status(503), 0, 10, 0.0).action, Decision::kFail);
  Outcome end;
  end.code = SSEKIT_E_STREAM_ENDED;
  const Decision d = decide(p, st, end, 0, 10, 0.0);
  EXPECT_EQ(d.action, Decision::kFail);
  EXPECT_EQ(d.code, SSEKIT_E_STREAM_ENDED);
  p.on_end = SSEKIT_END_FINISH;
  EXPECT_EQ(decide(p, st, end, 0, 10, 0.0).action, Decision::kFinish);
}

TEST(Policy, RetryAfterWinsWhenLongerThanTheBackoff) {
  RetryPolicy p;
  RetryState st;
  EXPECT_EQ(decide(p, st, status(503, 7000), 0, 100, 0.0).delay_ms, 7000u);
  RetryState st2;
  EXPECT_EQ(decide(p, st2, status(503, 10), 0, 1000, 0.0).delay_ms, 1000u);
}

TEST(Policy, CleanEndFinishesOneShotStreams) {
  RetryPolicy p;
  p.on_end = SSEKIT_END_FINISH;
  RetryState st;
  const Decision d = decide(p, st, ended(), 0, 10, 0.0);
  EXPECT_EQ(d.action, Decision::kFinish);
  EXPECT_EQ(d.code, SSEKIT_OK);
  Outcome net;
  net.code = SSEKIT_E_NETWORK;
  EXPECT_EQ(decide(p, st, net, 0, 10, 0.0).action, Decision::kRetry);
}

TEST(Policy, PermanentFailuresNeverRetry) {
  RetryPolicy p;
  for (int code : {SSEKIT_E_CONTENT_TYPE, SSEKIT_E_TOO_MANY_REDIRECTS, SSEKIT_E_REQUEST,
                   SSEKIT_E_HOOK}) {
    RetryState st;
    Outcome o;
    o.code = code;
    EXPECT_EQ(decide(p, st, o, 0, 10, 0.0).action, Decision::kFail) << code;
  }
  RetryState st;
  Outcome tls;
  tls.code = SSEKIT_E_TLS;
  tls.fatal = true;
  EXPECT_EQ(decide(p, st, tls, 0, 10, 0.0).action, Decision::kFail);
}

TEST(Policy, HugeDelaysSaturateInsteadOfOverflowing) {
  RetryPolicy p;
  p.max_delay_ms = UINT64_MAX;
  RetryState st;
  uint64_t last = 0;
  for (int i = 0; i < 80; ++i) {
    const Decision d = decide(p, st, ended(), 0, UINT64_MAX / 4, 0.0);
    ASSERT_EQ(d.action, Decision::kRetry);
    ASSERT_GE(d.delay_ms, last);
    last = d.delay_ms;
  }
}

TEST(Policy, RetryZeroCannotGoBelowTheFloor) {
  // A server sending `retry: 0` and ending every response.
  RetryPolicy p;  // 250 ms floor
  RetryState st;
  const uint64_t expected[] = {250, 500, 1000, 2000};
  for (uint64_t want : expected) {
    const Decision d = decide(p, st, ended(), 0, 0, 0.0);
    ASSERT_EQ(d.action, Decision::kRetry);
    EXPECT_EQ(d.delay_ms, want);
  }
}

TEST(Policy, TheFloorAppliesAfterJitter) {
  RetryPolicy p;
  RetryState st;
  EXPECT_EQ(decide(p, st, ended(), 0, 300, 0.999999).delay_ms, 250u);
  p.min_delay_ms = 0;  // a caller may lower it explicitly
  RetryState st2;
  EXPECT_EQ(decide(p, st2, ended(), 0, 0, 0.5).delay_ms, 0u);
}

TEST(Policy, AConnectionThatDeliveredAnEventResetsTheBackoff) {
  // A polling server: `retry: 200`, one event, a clean end, every time.
  RetryPolicy p;
  RetryState st;
  Outcome polled = ended(5);
  polled.delivered = true;
  for (int i = 0; i < 6; ++i) {
    const Decision d = decide(p, st, polled, 0, 200, 0.0);
    ASSERT_EQ(d.action, Decision::kRetry);
    EXPECT_EQ(d.delay_ms, 250u) << i;  // the base, raised to the floor
  }
  EXPECT_EQ(st.attempts, 1u);
}

TEST(Policy, MaxAttemptsCountsFailuresInARowOnly) {
  RetryPolicy p;
  p.max_attempts = 2;
  RetryState st;
  Outcome good = ended();
  good.delivered = true;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(decide(p, st, ended(), 0, 10, 0.0).action, Decision::kRetry);
    EXPECT_EQ(decide(p, st, good, 0, 10, 0.0).action, Decision::kRetry);
  }
  decide(p, st, ended(), 0, 10, 0.0);
  EXPECT_EQ(decide(p, st, ended(), 0, 10, 0.0).code, SSEKIT_E_RETRIES_EXHAUSTED);
}

TEST(Policy, RetryAfterIsCappedButOverridesTheBackoffCap) {
  RetryPolicy p;  // 30 s backoff cap, 10 min Retry-After cap
  RetryState st;
  EXPECT_EQ(decide(p, st, status(503, 120000), 0, 100, 0.0).delay_ms, 120000u);
  RetryState st2;
  // Fri, 31 Dec 9999 23:59:59 GMT, as milliseconds from now.
  const uint64_t far = uint64_t{253402300799} * 1000;
  EXPECT_EQ(decide(p, st2, status(503, far), 0, 100, 0.0).delay_ms, 600000u);
  RetryState st3;
  EXPECT_EQ(decide(p, st3, status(503, UINT64_MAX), 0, 100, 0.0).delay_ms, 600000u);
}

TEST(Policy, DelaysNeverExceedWhatTheTimersTake) {
  RetryPolicy p;
  p.max_delay_ms = UINT64_MAX;
  p.max_retry_after_ms = UINT64_MAX;
  RetryState st;
  for (int i = 0; i < 80; ++i) {
    const Decision d = decide(p, st, status(503, UINT64_MAX), 0, UINT64_MAX, 0.0);
    ASSERT_EQ(d.action, Decision::kRetry);
    ASSERT_LE(d.delay_ms, kMaxDurationMs);
  }
}

}  // namespace
}  // namespace ssekit
