// What changes while a stream runs: listeners, request headers, and an
// auth answer supplied later from another thread.

#include <atomic>
#include <string>
#include <vector>

#include "client_test.h"

namespace ssekit_test {
namespace {

using LiveTest = ClientTest;

// Fast reconnects, and a connect timeout of connect_ms, which also bounds
// how long a deferred headers or auth answer is waited for.
void ShortWaits(ssekit_stream* s, uint64_t connect_ms) {
  ASSERT_EQ(ssekit_stream_set_connect_timeout(s, connect_ms), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_initial_delay(s, 20), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_min_delay(s, 20), SSEKIT_OK);
}

std::size_t ListenerCount(Recorder& rec) { return rec.Get(&Recorder::listener_events).size(); }

TEST_F(LiveTest, AListenerAddedAndRemovedWhileTheStreamRuns) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=-1&interval_ms=10&type=tick"), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(3));
  EXPECT_EQ(ListenerCount(rec), 0u);
  ASSERT_TRUE(rec.Listen("tick"));  // from the test thread, stream open
  ASSERT_TRUE(PollUntil([&] { return ListenerCount(rec) >= 3; }));
  if (!Recorder::QueueMode()) {
    ASSERT_EQ(ssekit_stream_add_listener(s.get(), "tick", nullptr), SSEKIT_OK);
    const std::size_t events = rec.EventCount();
    ASSERT_TRUE(rec.WaitEvents(events + 5));
    const std::size_t after = ListenerCount(rec);
    ASSERT_TRUE(rec.WaitEvents(rec.EventCount() + 5));
    EXPECT_EQ(ListenerCount(rec), after) << "a removed listener still runs";
  }
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
}

TEST_F(LiveTest, AListenerAddedFromInsideACallback) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=5&type=tick&interval_ms=30"), rec);
  std::atomic<bool> added{false};
  rec.event_hook = [&](Recorder& r, const RecEvent&) {
    if (!added.exchange(true)) r.Listen("tick");
    return 0;
  };
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  // The event being delivered when it was added did not reach it; the
  // four after it (each its own read, 30 ms apart) did.
  EXPECT_EQ(ListenerCount(rec), 4u);
}

TEST_F(LiveTest, AHeaderSetWhileRunningAppliesFromTheNextConnection) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/echo"), rec);
  ASSERT_EQ(ssekit_stream_set_header(s.get(), "X-Token", "one"), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  WaitRequests("/echo", 1);
  ASSERT_EQ(ssekit_stream_set_header(s.get(), "x-token", "two"), SSEKIT_OK);
  ASSERT_TRUE(PollUntil([&] {
    auto reqs = server().Requests("/echo");
    return !reqs.empty() && Header(reqs.back(), "x-token") == "two";
  }));
  ASSERT_EQ(ssekit_stream_set_header(s.get(), "X-Token", nullptr), SSEKIT_OK);
  ASSERT_TRUE(PollUntil([&] {
    auto reqs = server().Requests("/echo");
    return !reqs.empty() && !HasHeader(reqs.back(), "x-token");
  }));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  auto reqs = server().Requests("/echo");
  EXPECT_EQ(Header(reqs[0], "x-token"), "one");
  // Changes never tear a request: each has one value or none.
  for (const auto& r : reqs) {
    const std::string v = Header(r, "x-token");
    EXPECT_TRUE(v == "one" || v == "two" || v.empty()) << v;
  }
  EXPECT_EQ(ssekit_stream_set_header(s.get(), "Bad Name", "x"), SSEKIT_E_INVALID);
  EXPECT_EQ(ssekit_stream_set_header(s.get(), "X-Ok", "a\r\nb"), SSEKIT_E_INVALID);
}

class DeferredAuthTest : public ClientTest, public ::testing::WithParamInterface<bool> {};

TEST_P(DeferredAuthTest, TheHookAnswersLaterFromAnotherThread) {
  const bool retry = GetParam();
  Recorder rec;
  StreamPtr s = NewStream(Url("/flaky?fail=1&status=401&key=" + Key()), rec);
  ASSERT_EQ(ssekit_stream_set_header(s.get(), "Authorization", "Bearer old"), SSEKIT_OK);
  std::atomic<int> deferred{0};
  ssekit_stream* raw = s.get();
  rec.auth_hook = [&](int, ssekit_headers*) {
    deferred = ssekit_stream_defer_auth(raw) == SSEKIT_OK ? 1 : -1;
    return 0;  // ignored: the answer comes from resume_auth
  };
  ASSERT_TRUE(rec.UseAuthHook());
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(PollUntil([&] { return deferred.load() != 0; }));
  ASSERT_EQ(deferred.load(), 1);
  // Waiting: nothing reconnects on its own, nothing fails.
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(ssekit_stream_state(s.get()), SSEKIT_STATE_CONNECTING);
  EXPECT_TRUE(rec.Get(&Recorder::errors).empty());
  EXPECT_EQ(ssekit_stream_defer_auth(s.get()), SSEKIT_E_STATE);  // not in the hook

  ASSERT_EQ(ssekit_stream_set_header(s.get(), "Authorization", "Bearer new"), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_resume_auth(s.get(), retry ? 1 : 0), SSEKIT_OK);
  if (retry) {
    ASSERT_TRUE(rec.WaitEvents(5));
    ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
    auto reqs = server().Requests("/flaky");
    ASSERT_GE(reqs.size(), 2u);
    EXPECT_EQ(Header(reqs[0], "authorization"), "Bearer old");
    EXPECT_EQ(Header(reqs[1], "authorization"), "Bearer new");
  } else {
    ASSERT_TRUE(rec.WaitClosed());
    EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_HTTP_STATUS});
    auto errors = rec.Get(&Recorder::errors);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].http_status, 401);
    EXPECT_EQ(server().Requests("/flaky").size(), 1u);
  }
}

INSTANTIATE_TEST_SUITE_P(RetryOrFail, DeferredAuthTest, ::testing::Bool());

TEST_F(LiveTest, ClosingWhileTheAuthAnswerIsPendingEndsTheWait) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/status/401"), rec);
  ssekit_stream* raw = s.get();
  rec.auth_hook = [raw](int, ssekit_headers*) {
    ssekit_stream_defer_auth(raw);
    return 0;
  };
  ASSERT_TRUE(rec.UseAuthHook());
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(PollUntil([&] { return rec.Get(&Recorder::auth_calls) == 1; }));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_CLOSED});
  EXPECT_EQ(ssekit_stream_resume_auth(s.get(), 1), SSEKIT_E_STATE);
}

TEST_F(LiveTest, ARestartEndsAPendingAuthWait) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/flaky?fail=1&status=401&key=" + Key()), rec);
  ssekit_stream* raw = s.get();
  rec.auth_hook = [raw](int, ssekit_headers*) {
    ssekit_stream_defer_auth(raw);
    return 0;
  };
  ASSERT_TRUE(rec.UseAuthHook());
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(PollUntil([&] { return rec.Get(&Recorder::auth_calls) == 1; }));
  // The app reconnects on its own; the answer that comes later is stale.
  ASSERT_EQ(ssekit_stream_restart(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(2));
  ASSERT_EQ(ssekit_stream_resume_auth(s.get(), 1), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(5));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_CLOSED});
  for (const auto& e : rec.Get(&Recorder::errors)) EXPECT_NE(e.code, SSEKIT_E_INTERNAL) << e.message;
}

class DeferredHeadersTest : public ClientTest, public ::testing::WithParamInterface<bool> {};

TEST_P(DeferredHeadersTest, TheHookAnswersLaterFromAnotherThread) {
  const bool proceed = GetParam();
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=1&key=" + Key()), rec);
  ssekit_stream* raw = s.get();
  std::atomic<int> deferred{0};
  rec.headers_hook = [&](ssekit_headers* h, int attempt) {
    ssekit_headers_set(h, "X-Sync", ("s" + std::to_string(attempt)).c_str());
    ssekit_headers_set(h, "X-Token", "from the hook");
    deferred = ssekit_stream_defer_headers(raw) == SSEKIT_OK ? attempt : -1;
    return 0;
  };
  ASSERT_TRUE(rec.UseHeadersHook());
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(PollUntil([&] { return deferred.load() != 0; }));
  ASSERT_EQ(deferred.load(), 1);
  // Waiting: no request goes out, nothing fails, no timer fires.
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(ssekit_stream_state(s.get()), SSEKIT_STATE_CONNECTING);
  EXPECT_TRUE(server().Requests("/events").empty());
  EXPECT_TRUE(rec.Get(&Recorder::errors).empty());
  EXPECT_EQ(ssekit_stream_defer_headers(s.get()), SSEKIT_E_STATE);  // not in the hook

  ASSERT_EQ(ssekit_stream_set_header(s.get(), "X-Token", "t1"), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_resume_headers(s.get(), proceed ? 1 : 0), SSEKIT_OK);
  if (proceed) {
    ASSERT_TRUE(rec.WaitEvents(1));
    auto reqs = server().Requests("/events");
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(Header(reqs[0], "x-sync"), "s1");
    EXPECT_EQ(Header(reqs[0], "x-token"), "t1") << "set_header after the hook wins";
    // The reconnection after the response ended asks the hook again.
    ASSERT_TRUE(PollUntil([&] { return deferred.load() == 2; }));
    ASSERT_EQ(ssekit_stream_set_header(s.get(), "X-Token", "t2"), SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_resume_headers(s.get(), 1), SSEKIT_OK);
    ASSERT_TRUE(PollUntil([&] { return server().Requests("/events").size() == 2; }));
    ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
    reqs = server().Requests("/events");
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(Header(reqs[1], "x-sync"), "s2");
    EXPECT_EQ(Header(reqs[1], "x-token"), "t2");
  } else {
    ASSERT_TRUE(rec.WaitClosed());
    EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_HOOK});
    auto errors = rec.Get(&Recorder::errors);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].code, SSEKIT_E_HOOK);
    EXPECT_FALSE(errors[0].will_retry);
    EXPECT_TRUE(server().Requests("/events").empty());
  }
}

INSTANTIATE_TEST_SUITE_P(ProceedOrRefuse, DeferredHeadersTest, ::testing::Bool());

TEST_F(LiveTest, ClosingWhileTheHeadersAnswerIsPendingEndsTheWait) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?key=" + Key()), rec);
  ssekit_stream* raw = s.get();
  rec.headers_hook = [raw](ssekit_headers*, int) {
    ssekit_stream_defer_headers(raw);
    return 0;
  };
  ASSERT_TRUE(rec.UseHeadersHook());
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(PollUntil([&] { return rec.Get(&Recorder::headers_calls) == 1; }));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_CLOSED});
  EXPECT_EQ(ssekit_stream_resume_headers(s.get(), 1), SSEKIT_E_STATE);
  EXPECT_TRUE(server().Requests("/events").empty());
}

TEST_F(LiveTest, ARestartWhileTheHeadersAnswerIsPendingAsksTheHookAgain) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=-1&interval_ms=20&key=" + Key()), rec);
  ssekit_stream* raw = s.get();
  rec.headers_hook = [raw](ssekit_headers*, int attempt) {
    if (attempt == 1) ssekit_stream_defer_headers(raw);
    return 0;
  };
  ASSERT_TRUE(rec.UseHeadersHook());
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(PollUntil([&] { return rec.Get(&Recorder::headers_calls) == 1; }));
  ASSERT_EQ(ssekit_stream_restart(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(2));
  // The stale answer to the first attempt changes nothing.
  ASSERT_EQ(ssekit_stream_resume_headers(s.get(), 0), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(4));
  EXPECT_EQ(ssekit_stream_state(s.get()), SSEKIT_STATE_OPEN);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  EXPECT_EQ(rec.Get(&Recorder::headers_calls), 2);
  EXPECT_EQ(server().Requests("/events").size(), 1u);
}

TEST_F(LiveTest, AHeadersAnswerThatNeverComesTimesOutAndTheHookIsAskedAgain) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=1&key=" + Key()), rec);
  ssekit_stream* raw = s.get();
  // The first answer never comes (a token request that hangs); the
  // second attempt's hook answers at once.
  rec.headers_hook = [raw](ssekit_headers* h, int attempt) {
    if (attempt == 1) {
      ssekit_stream_defer_headers(raw);
    } else {
      ssekit_headers_set(h, "X-Attempt", std::to_string(attempt).c_str());
    }
    return 0;
  };
  ASSERT_TRUE(rec.UseHeadersHook());
  ASSERT_EQ(ssekit_stream_set_connect_timeout(s.get(), 300), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_initial_delay(s.get(), 250), SSEKIT_OK);
  const auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(1));
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(300));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  auto errors = rec.Get(&Recorder::errors);
  ASSERT_GE(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, SSEKIT_E_CONNECT_TIMEOUT);
  EXPECT_TRUE(errors[0].will_retry);
  EXPECT_NE(errors[0].message.find("headers hook did not answer"), std::string::npos)
      << errors[0].message;
  auto reqs = server().Requests("/events");
  ASSERT_GE(reqs.size(), 1u);
  EXPECT_EQ(Header(reqs[0], "x-attempt"), "2");
}

// A timeout (or refusal) before any request is judged on its own attempt,
// not on what the last response left.
TEST_F(LiveTest, AHeadersTimeoutAfterADeliveringConnectionStillCountsAsAFailure) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=1&key=" + Key()), rec);
  ssekit_stream* raw = s.get();
  // The first attempt delivers an event and ends; every later hook call
  // never answers.
  rec.headers_hook = [raw](ssekit_headers*, int attempt) {
    if (attempt >= 2) ssekit_stream_defer_headers(raw);
    return 0;
  };
  ASSERT_TRUE(rec.UseHeadersHook());
  ShortWaits(s.get(), 200);
  ASSERT_EQ(ssekit_stream_set_max_attempts(s.get(), 1), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  // The end after the event is failure 1 of a new run; the timeout is
  // failure 2, over max_attempts (the event delivered by attempt 1 must
  // not reset the count again).
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_RETRIES_EXHAUSTED});
  EXPECT_EQ(rec.Get(&Recorder::headers_calls), 2);
  auto errors = rec.Get(&Recorder::errors);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].code, SSEKIT_E_STREAM_ENDED);
  EXPECT_EQ(errors[1].code, SSEKIT_E_RETRIES_EXHAUSTED);
  EXPECT_NE(errors[1].message.find("headers hook did not answer"), std::string::npos)
      << errors[1].message;
}

TEST_F(LiveTest, AHeadersTimeoutDoesNotCarryTheLastResponsesStatusOrRetryAfter) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/flaky?fail=1&status=503&retry_after=1&key=" + Key()), rec);
  ssekit_stream* raw = s.get();
  rec.headers_hook = [raw](ssekit_headers*, int attempt) {
    if (attempt == 2) ssekit_stream_defer_headers(raw);
    return 0;
  };
  ASSERT_TRUE(rec.UseHeadersHook());
  ASSERT_EQ(ssekit_stream_set_strict(s.get(), 0), SSEKIT_OK);
  ShortWaits(s.get(), 200);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(1));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  auto errors = rec.Get(&Recorder::errors);
  ASSERT_GE(errors.size(), 2u);
  EXPECT_EQ(errors[0].http_status, 503);
  EXPECT_GE(errors[0].retry_ms, 1000u);  // the server's Retry-After
  EXPECT_EQ(errors[1].code, SSEKIT_E_CONNECT_TIMEOUT);
  EXPECT_EQ(errors[1].http_status, 0);
  EXPECT_LT(errors[1].retry_ms, 1000u) << "the backoff, not the 503's Retry-After";
}

TEST_F(LiveTest, AnAuthAnswerThatNeverComesFailsWithTheUnauthorizedStatus) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/status/401"), rec);
  ssekit_stream* raw = s.get();
  rec.auth_hook = [raw](int, ssekit_headers*) {
    ssekit_stream_defer_auth(raw);
    return 0;
  };
  ASSERT_TRUE(rec.UseAuthHook());
  ASSERT_EQ(ssekit_stream_set_connect_timeout(s.get(), 300), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_HTTP_STATUS});
  auto errors = rec.Get(&Recorder::errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].http_status, 401);
  EXPECT_FALSE(errors[0].will_retry);
  EXPECT_NE(errors[0].message.find("auth hook did not answer"), std::string::npos)
      << errors[0].message;
  EXPECT_EQ(server().Requests("/status/401").size(), 1u);
}

TEST_F(LiveTest, ChangesToAStreamWhoseLoopIsGoneAreIgnored) {
  LoopPtr loop(ssekit_loop_new());
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=1&end=hang"), rec);
  ASSERT_EQ(ssekit_stream_set_loop(s.get(), loop.get()), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(1));
  loop.reset();  // closes the stream; the handle lives on
  EXPECT_EQ(ssekit_stream_set_header(s.get(), "X-After", "1"), SSEKIT_OK);
  EXPECT_EQ(ssekit_stream_add_listener(s.get(), "message", nullptr), SSEKIT_OK);
  EXPECT_EQ(ssekit_stream_state(s.get()), SSEKIT_STATE_CLOSED);
}

}  // namespace
}  // namespace ssekit_test
