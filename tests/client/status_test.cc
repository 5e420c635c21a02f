// How the response status and Content-Type decide between open, retry and
// failing for good; authentication retries.

#include <string>
#include <vector>

#include "client_test.h"

namespace ssekit_test {
namespace {

using StatusTest = ClientTest;

// A stream that must fail for good: one error without retry, then closed
// with the same code, never opened, exactly one request.
void ExpectFailedForGood(Recorder& rec, ssekit_stream* s, int code,
                         int http_status) {
  ASSERT_TRUE(rec.WaitClosed());
  auto errors = rec.Get(&Recorder::errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, code) << errors[0].message;
  EXPECT_EQ(errors[0].http_status, http_status);
  EXPECT_EQ(errors[0].will_retry, 0);
  EXPECT_FALSE(errors[0].message.empty());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{code});
  EXPECT_TRUE(rec.Get(&Recorder::events).empty());
  EXPECT_TRUE(rec.Get(&Recorder::opens).empty());
  EXPECT_EQ(rec.Get(&Recorder::states),
            (std::vector<int>{SSEKIT_STATE_CONNECTING, SSEKIT_STATE_CLOSED}));
  auto log = rec.Get(&Recorder::log);
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back(), "closed");
  EXPECT_EQ(ssekit_stream_state(s), SSEKIT_STATE_CLOSED);
  EXPECT_EQ(ssekit_stream_metric(s, SSEKIT_METRIC_LAST_STATUS),
            static_cast<std::uint64_t>(http_status));
}

TEST_F(StatusTest, EventStreamWithCharsetParameterOpens) {
  Recorder rec;
  StreamPtr s = NewStream(
      Url("/ctype?count=2&value=" + UrlEncode("text/event-stream; charset=utf-8")),
      rec);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  auto opens = rec.Get(&Recorder::opens);
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_EQ(opens[0].status, 200);
  EXPECT_EQ(opens[0].content_type, "text/event-stream; charset=utf-8");
  EXPECT_EQ(rec.Ids(), (std::vector<std::string>{"1", "2"}));
  EXPECT_TRUE(rec.Get(&Recorder::errors).empty());
}

TEST_F(StatusTest, MimeTypeIsMatchedCaseInsensitively) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/ctype?count=1&value=TEXT%2FEVENT-STREAM"), rec);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  EXPECT_EQ(rec.Datas(), std::vector<std::string>{"event 1"});
  auto states = rec.Get(&Recorder::states);
  EXPECT_TRUE(IsSubsequence({SSEKIT_STATE_OPEN}, states));
}

class WrongContentTypeTest : public ClientTest,
                             public ::testing::WithParamInterface<const char*> {};

TEST_P(WrongContentTypeTest, FailsForGoodWithoutDispatching) {
  Recorder rec;
  StreamPtr s =
      NewStream(Url("/ctype?count=2&value=" + UrlEncode(GetParam())), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ExpectFailedForGood(rec, s.get(), SSEKIT_E_CONTENT_TYPE, 200);
  EXPECT_EQ(server().Requests("/ctype").size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Types, WrongContentTypeTest,
                         ::testing::Values("text/plain", "",
                                           "application/json",
                                           "text/event-streams",
                                           "text/html; x=text/event-stream"));

TEST_F(StatusTest, NoContentClosesForGoodWithoutRetry) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/204"), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ExpectFailedForGood(rec, s.get(), SSEKIT_E_HTTP_STATUS, 204);
  EXPECT_EQ(server().Requests("/204").size(), 1u);
}

class FailingStatusTest : public ClientTest,
                          public ::testing::WithParamInterface<int> {};

TEST_P(FailingStatusTest, FailsForGoodWithoutRetry) {
  const int status = GetParam();
  const std::string path = "/status/" + std::to_string(status);
  Recorder rec;
  StreamPtr s = NewStream(Url(path), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ExpectFailedForGood(rec, s.get(), SSEKIT_E_HTTP_STATUS, status);
  EXPECT_EQ(server().Requests(path).size(), 1u);
}

// 401 and 403 without an auth hook are ordinary failures.
INSTANTIATE_TEST_SUITE_P(Statuses, FailingStatusTest,
                         ::testing::Values(201, 400, 401, 403, 404, 410));

class RetryableStatusTest : public ClientTest,
                            public ::testing::WithParamInterface<int> {};

TEST_P(RetryableStatusTest, ReconnectsWithBackoff) {
  const int status = GetParam();
  const std::string path = "/status/" + std::to_string(status);
  Recorder rec;
  StreamPtr s = NewStream(Url(path), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(2));
  auto reqs = WaitRequests(path, 3);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  auto errors = rec.Get(&Recorder::errors);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(errors[i].code, SSEKIT_E_HTTP_STATUS) << errors[i].message;
    EXPECT_EQ(errors[i].http_status, status);
    EXPECT_EQ(errors[i].will_retry, 1);
  }
  // Reconnect n waits min(max, base * 2^(n-1)) less up to half of it.
  EXPECT_GE(errors[0].retry_ms, kInitialDelayMs / 2);
  EXPECT_LE(errors[0].retry_ms, kInitialDelayMs);
  EXPECT_GE(errors[1].retry_ms, kInitialDelayMs);
  EXPECT_LE(errors[1].retry_ms, 2 * kInitialDelayMs);
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_CLOSED});
  EXPECT_TRUE(rec.Get(&Recorder::opens).empty());
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_LAST_STATUS),
            static_cast<std::uint64_t>(status));
  EXPECT_GE(ssekit_stream_metric(s.get(), SSEKIT_METRIC_RECONNECTS), 2u);
}

INSTANTIATE_TEST_SUITE_P(Statuses, RetryableStatusTest,
                         ::testing::Values(500, 502, 503, 504, 408, 429));

class RetryAfterTest : public ClientTest,
                       public ::testing::WithParamInterface<int> {};

TEST_P(RetryAfterTest, NextAttemptWaitsForRetryAfterSeconds) {
  const int status = GetParam();
  Recorder rec;
  StreamPtr s = NewStream(Url("/flaky?fail=1&retry_after=1&count=1&status=" +
                              std::to_string(status) + "&key=" + Key()),
                          rec);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  auto errors = rec.Get(&Recorder::errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, SSEKIT_E_HTTP_STATUS);
  EXPECT_EQ(errors[0].http_status, status);
  EXPECT_EQ(errors[0].will_retry, 1);
  EXPECT_GE(errors[0].retry_ms, 1000u);
  EXPECT_LT(errors[0].retry_ms, 3000u);
  auto reqs = server().Requests("/flaky");
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_GE(GapMs(reqs[0], reqs[1]), 990.0);
  EXPECT_EQ(rec.Datas(), std::vector<std::string>{"event 1"});
}

INSTANTIATE_TEST_SUITE_P(Statuses, RetryAfterTest, ::testing::Values(503, 429));

TEST_F(StatusTest, RetryAfterShorterThanTheBackoffDoesNotShortenIt) {
  Recorder rec;
  StreamPtr s =
      NewStream(Url("/flaky?fail=1&retry_after=0&count=1&key=" + Key()), rec);
  ASSERT_EQ(ssekit_stream_set_initial_delay(s.get(), 400), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_max_delay(s.get(), 400), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  auto errors = rec.Get(&Recorder::errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_GE(errors[0].retry_ms, 200u);
  EXPECT_LE(errors[0].retry_ms, 400u);
  auto reqs = server().Requests("/flaky");
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_GE(GapMs(reqs[0], reqs[1]), static_cast<double>(errors[0].retry_ms));
}

TEST_F(StatusTest, StrictModeFailsOnServiceUnavailable) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/status/503"), rec);
  ASSERT_EQ(ssekit_stream_set_strict(s.get(), 1), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ExpectFailedForGood(rec, s.get(), SSEKIT_E_HTTP_STATUS, 503);
  EXPECT_EQ(server().Requests("/status/503").size(), 1u);
}

class AuthRetryTest : public ClientTest,
                      public ::testing::WithParamInterface<int> {};

TEST_P(AuthRetryTest, AuthHookRetriesAtOnceWithFreshHeaders) {
  const int status = GetParam();
  Recorder rec;
  StreamPtr s = NewStream(Url("/flaky?fail=1&count=2&status=" +
                              std::to_string(status) + "&key=" + Key()),
                          rec);
  // A long backoff shows that the auth retry does not wait for it.
  ASSERT_EQ(ssekit_stream_set_initial_delay(s.get(), 3000), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_max_delay(s.get(), 3000), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_add_header(s.get(), "Authorization", "Bearer old"),
            SSEKIT_OK);
  std::vector<int> seen;
  rec.auth_hook = [&seen](int st, ssekit_headers* h) {
    seen.push_back(st);
    return ssekit_headers_set(h, "Authorization", "Bearer fresh") == SSEKIT_OK
               ? 1
               : 0;
  };
  ASSERT_TRUE(rec.UseAuthHook());
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed(milliseconds(2500)))
      << "the auth retry waited for the backoff";

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  EXPECT_EQ(seen, std::vector<int>{status});
  EXPECT_EQ(rec.Ids(), (std::vector<std::string>{"1", "2"}));
  auto reqs = server().Requests("/flaky");
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(Header(reqs[0], "authorization"), "Bearer old");
  EXPECT_EQ(Header(reqs[1], "authorization"), "Bearer fresh");
  EXPECT_LT(GapMs(reqs[0], reqs[1]), 1000.0);
}

INSTANTIATE_TEST_SUITE_P(Statuses, AuthRetryTest, ::testing::Values(401, 403));

TEST_F(StatusTest, SecondUnauthorizedInARowFailsTheStream) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/status/401"), rec);
  rec.auth_hook = [](int, ssekit_headers* h) {
    return ssekit_headers_set(h, "Authorization", "Bearer fresh") == SSEKIT_OK
               ? 1
               : 0;
  };
  ASSERT_TRUE(rec.UseAuthHook());
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_HTTP_STATUS});
  auto errors = rec.Get(&Recorder::errors);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors.back().code, SSEKIT_E_HTTP_STATUS);
  EXPECT_EQ(errors.back().http_status, 401);
  EXPECT_EQ(errors.back().will_retry, 0);
  EXPECT_GE(rec.Get(&Recorder::auth_calls), 1);
  auto reqs = server().Requests("/status/401");
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_FALSE(HasHeader(reqs[0], "authorization"));
  EXPECT_EQ(Header(reqs[1], "authorization"), "Bearer fresh");
}

TEST_F(StatusTest, AuthHookReturningZeroFailsAtOnce) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/status/401"), rec);
  rec.auth_hook = [](int, ssekit_headers*) { return 0; };
  ASSERT_TRUE(rec.UseAuthHook());
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ExpectFailedForGood(rec, s.get(), SSEKIT_E_HTTP_STATUS, 401);
  EXPECT_EQ(rec.Get(&Recorder::auth_calls), 1);
  EXPECT_EQ(server().Requests("/status/401").size(), 1u);
}

}  // namespace
}  // namespace ssekit_test
