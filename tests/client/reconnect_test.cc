// Reconnection: dropped connections, the server's retry field, backoff and
// its limits, restart, read timeouts, one-shot streams and replay dedupe.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "client_test.h"

namespace ssekit_test {
namespace {

using ReconnectTest = ClientTest;

// Ids must read 1, 2, 3, ... with nothing lost and nothing repeated.
void ExpectConsecutiveIds(const std::vector<std::string>& ids) {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(ids[i], std::to_string(i + 1)) << "at position " << i;
  }
}

// The number of events delivered before the n-th open callback (n from 1).
std::size_t EventsBeforeOpen(const std::vector<std::string>& log, int n) {
  std::size_t events = 0;
  int opens = 0;
  for (const auto& e : log) {
    if (e == "open" && ++opens == n) return events;
    if (e.compare(0, 6, "event:") == 0) ++events;
  }
  return events;
}

struct DropCase {
  const char* how;
  const char* partial;
};

void PrintTo(const DropCase& c, std::ostream* os) {
  *os << "how=" << c.how << " partial=" << c.partial;
}

class DropTest : public ClientTest,
                 public ::testing::WithParamInterface<DropCase> {};

TEST_P(DropTest, PartialEventIsDiscardedAndTheStreamResumes) {
  const DropCase c = GetParam();
  Recorder rec;
  StreamPtr s = NewStream(Url(std::string("/drop?after=2&how=") + c.how +
                              "&partial=" + c.partial),
                          rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(4));
  auto reqs = WaitRequests("/drop", 2);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  auto ids = rec.Ids();
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(std::vector<std::string>(ids.begin(), ids.begin() + 4),
            (std::vector<std::string>{"1", "2", "3", "4"}));
  for (const auto& d : rec.Datas()) EXPECT_NE(d, "partial");

  auto errors = rec.Get(&Recorder::errors);
  ASSERT_GE(errors.size(), 1u);
  EXPECT_TRUE(errors[0].code == SSEKIT_E_NETWORK ||
              errors[0].code == SSEKIT_E_STREAM_ENDED)
      << "code " << errors[0].code << ": " << errors[0].message;
  // The connection broke during a 200 response.
  EXPECT_EQ(errors[0].http_status, 200);
  EXPECT_EQ(errors[0].will_retry, 1);
  EXPECT_EQ(errors[0].last_id, "2") << "the partial event's id leaked";

  EXPECT_EQ(Header(reqs[1], "last-event-id"), "2");
  auto states = rec.Get(&Recorder::states);
  ASSERT_GE(states.size(), 4u);
  EXPECT_EQ(std::vector<int>(states.begin(), states.begin() + 4),
            (std::vector<int>{SSEKIT_STATE_CONNECTING, SSEKIT_STATE_OPEN,
                              SSEKIT_STATE_CONNECTING, SSEKIT_STATE_OPEN}));
  EXPECT_GE(rec.Get(&Recorder::opens).size(), 2u);
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_CLOSED});
}

INSTANTIATE_TEST_SUITE_P(
    Cuts, DropTest,
    ::testing::Values(DropCase{"close", "line"}, DropCase{"close", "event"},
                      DropCase{"close", "none"}, DropCase{"rst", "line"},
                      DropCase{"rst", "event"}),
    [](const ::testing::TestParamInfo<DropCase>& p) {
      return std::string(p.param.how) + "_" + p.param.partial;
    });

TEST_F(ReconnectTest, CleanEndOfBodyReconnectsByDefault) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=2"), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  auto reqs = WaitRequests("/events", 2);
  ASSERT_TRUE(rec.WaitErrors(1));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  auto errors = rec.Get(&Recorder::errors);
  EXPECT_EQ(errors[0].code, SSEKIT_E_STREAM_ENDED) << errors[0].message;
  EXPECT_EQ(errors[0].will_retry, 1);
  EXPECT_EQ(Header(reqs[1], "last-event-id"), "2");
  EXPECT_EQ(rec.Ids(), (std::vector<std::string>{"1", "2"}));
}

TEST_F(ReconnectTest, ServerRetryFieldSetsTheReconnectionDelay) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/drop?after=1&retry=300"), rec);
  ASSERT_EQ(ssekit_stream_set_max_delay(s.get(), 5000), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(1));
  auto reqs = WaitRequests("/drop", 2);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  auto retries = rec.Get(&Recorder::retries);
  ASSERT_GE(retries.size(), 1u);
  EXPECT_EQ(retries[0], 300u);
  auto errors = rec.Get(&Recorder::errors);
  EXPECT_EQ(errors[0].will_retry, 1);
  EXPECT_GE(errors[0].retry_ms, 150u);
  EXPECT_LE(errors[0].retry_ms, 300u);
  EXPECT_GE(GapMs(reqs[0], reqs[1]), static_cast<double>(errors[0].retry_ms));
}

TEST_F(ReconnectTest, BackoffGrowsExponentiallyAndIsCapped) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/flaky?fail=6&count=1&key=" + Key()), rec);
  ASSERT_EQ(ssekit_stream_set_initial_delay(s.get(), 20), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_max_delay(s.get(), 100), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  auto errors = rec.Get(&Recorder::errors);
  ASSERT_EQ(errors.size(), 6u);
  auto reqs = server().Requests("/flaky");
  ASSERT_EQ(reqs.size(), 7u);
  const std::uint64_t caps[] = {20, 40, 80, 100, 100, 100};
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(errors[i].code, SSEKIT_E_HTTP_STATUS);
    EXPECT_EQ(errors[i].http_status, 500);
    EXPECT_EQ(errors[i].will_retry, 1);
    EXPECT_GE(errors[i].retry_ms, caps[i] / 2) << "reconnect " << i + 1;
    EXPECT_LE(errors[i].retry_ms, caps[i]) << "reconnect " << i + 1;
    EXPECT_GE(GapMs(reqs[i], reqs[i + 1]),
              static_cast<double>(errors[i].retry_ms) - 1.0)
        << "reconnect " << i + 1 << " came early";
  }
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_RECONNECTS), 6u);
}

TEST_F(ReconnectTest, BackoffRestartsAfterAConnectionStayedHealthy) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/drop?after=3&interval_ms=60"), rec);
  ASSERT_EQ(ssekit_stream_set_initial_delay(s.get(), 20), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_max_delay(s.get(), 10000), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_reset_after(s.get(), 50), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(3));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  auto errors = rec.Get(&Recorder::errors);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(errors[i].will_retry, 1);
    EXPECT_GE(errors[i].retry_ms, 10u) << "error " << i;
    EXPECT_LE(errors[i].retry_ms, 20u) << "error " << i;
  }
}

TEST_F(ReconnectTest, BackoffKeepsGrowingAcrossConnectionsThatDeliverNothing) {
  // Each connection opens, then drops before its first event: failures in
  // a row, however briefly the connection was open.
  Recorder rec;
  StreamPtr s = NewStream(Url("/drop?after=0"), rec);
  ASSERT_EQ(ssekit_stream_set_initial_delay(s.get(), 20), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_max_delay(s.get(), 10000), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_reset_after(s.get(), 60000), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(3));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  auto errors = rec.Get(&Recorder::errors);
  EXPECT_GE(errors[2].retry_ms, 40u);
  EXPECT_LE(errors[2].retry_ms, 80u);
}

TEST_F(ReconnectTest, MaxAttemptsEndsTheStreamWithRetriesExhausted) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/status/500"), rec);
  ASSERT_EQ(ssekit_stream_set_max_attempts(s.get(), 3), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::closed),
            std::vector<int>{SSEKIT_E_RETRIES_EXHAUSTED});
  auto errors = rec.Get(&Recorder::errors);
  ASSERT_GE(errors.size(), 4u);
  for (std::size_t i = 0; i + 1 < errors.size(); ++i) {
    EXPECT_EQ(errors[i].will_retry, 1) << "error " << i;
  }
  EXPECT_EQ(errors.back().will_retry, 0);
  // Three reconnects after the first attempt: four requests.
  EXPECT_EQ(server().Requests("/status/500").size(), 4u);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_RECONNECTS), 3u);
  EXPECT_EQ(ssekit_stream_state(s.get()), SSEKIT_STATE_CLOSED);
}

TEST_F(ReconnectTest, MaxRetryTimeEndsTheStreamWithRetriesExhausted) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/status/503"), rec);
  ASSERT_EQ(ssekit_stream_set_max_delay(s.get(), 50), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_max_retry_time(s.get(), 300), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::closed),
            std::vector<int>{SSEKIT_E_RETRIES_EXHAUSTED});
  auto reqs = server().Requests("/status/503");
  ASSERT_GE(reqs.size(), 3u);
  EXPECT_LE(GapMs(reqs.front(), reqs.back()), 700.0);
  EXPECT_EQ(rec.Get(&Recorder::errors).back().will_retry, 0);
}

TEST_F(ReconnectTest, RestartReconnectsAtOnceKeepingTheLastIdWithoutError) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=-1&interval_ms=20"), rec);
  ASSERT_EQ(ssekit_stream_set_initial_delay(s.get(), 3000), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_max_delay(s.get(), 3000), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(3));
  ASSERT_EQ(ssekit_stream_restart(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitFor([](const Recorder& r) { return r.opens.size() >= 2; },
                          milliseconds(1500)))
      << "restart did not reconnect at once";
  const std::size_t before = EventsBeforeOpen(rec.Get(&Recorder::log), 2);
  ASSERT_TRUE(rec.WaitEvents(before + 2));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  EXPECT_TRUE(rec.Get(&Recorder::errors).empty());
  auto ids = rec.Ids();
  ExpectConsecutiveIds(ids);
  auto reqs = server().Requests("/events");
  ASSERT_EQ(reqs.size(), 2u);
  ASSERT_GE(before, 3u);
  EXPECT_EQ(Header(reqs[1], "last-event-id"), ids[before - 1]);
  EXPECT_TRUE(IsSubsequence({SSEKIT_STATE_OPEN, SSEKIT_STATE_CONNECTING,
                             SSEKIT_STATE_OPEN},
                            rec.Get(&Recorder::states)));
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_CONNECTIONS), 2u);
}

TEST_F(ReconnectTest, RestartIsAStateErrorBeforeStartAndAfterClose) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=1"), rec);
  EXPECT_EQ(ssekit_stream_restart(s.get()), SSEKIT_E_STATE);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  EXPECT_EQ(ssekit_stream_restart(s.get()), SSEKIT_E_STATE);
}

TEST_F(ReconnectTest, ReadTimeoutDropsASilentConnectionAndReconnects) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/stall?after=1&ms=3000"), rec);
  ASSERT_EQ(ssekit_stream_set_read_timeout(s.get(), 200), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(1, milliseconds(2000)));
  auto reqs = WaitRequests("/stall", 2);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  auto errors = rec.Get(&Recorder::errors);
  EXPECT_EQ(errors[0].code, SSEKIT_E_READ_TIMEOUT) << errors[0].message;
  EXPECT_EQ(errors[0].will_retry, 1);
  auto opens = rec.Get(&Recorder::opens);
  ASSERT_GE(opens.size(), 1u);
  EXPECT_GE(errors[0].at - opens[0].at, milliseconds(180));
  EXPECT_EQ(Header(reqs[1], "last-event-id"), "1");
}

TEST_F(ReconnectTest, KeepAliveCommentsPreventTheReadTimeout) {
  Recorder rec;
  StreamPtr s = NewStream(
      Url("/stall?after=1&count=3&ms=800&heartbeat_ms=50&then=resume"), rec);
  ASSERT_EQ(ssekit_stream_set_read_timeout(s.get(), 250), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  ExpectNoErrors(rec);
  EXPECT_EQ(rec.Ids(), (std::vector<std::string>{"1", "2", "3"}));
  auto comments = rec.Get(&Recorder::comments);
  EXPECT_GE(comments.size(), 5u);
  for (const auto& c : comments) EXPECT_EQ(c, "");
  EXPECT_EQ(server().Requests("/stall").size(), 1u);
}

TEST_F(ReconnectTest, RefusedConnectionIsANetworkErrorThatRetries) {
  // A bound socket that never listens: connecting to its port is refused,
  // and no other process can take the port meanwhile.
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string url =
      "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/events";

  Recorder rec;
  StreamPtr s = NewStream(url, rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  const bool got = rec.WaitErrors(2);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  close(fd);
  ASSERT_TRUE(got);

  for (const auto& e : rec.Get(&Recorder::errors)) {
    EXPECT_EQ(e.code, SSEKIT_E_NETWORK) << e.message;
    EXPECT_EQ(e.http_status, 0);
    EXPECT_EQ(e.will_retry, 1);
  }
  EXPECT_TRUE(rec.Get(&Recorder::opens).empty());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_CLOSED});
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_LAST_STATUS), 0u);
}

TEST_F(ReconnectTest, OneShotStreamFinishesWhenTheBodyEnds) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=3"), rec);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  EXPECT_EQ(rec.Ids(), (std::vector<std::string>{"1", "2", "3"}));
  for (const auto& e : rec.Get(&Recorder::errors)) {
    EXPECT_EQ(e.will_retry, 0) << "a finished stream must not retry: "
                               << e.message;
  }
  EXPECT_EQ(ssekit_stream_state(s.get()), SSEKIT_STATE_CLOSED);
  EXPECT_EQ(rec.Get(&Recorder::states),
            (std::vector<int>{SSEKIT_STATE_CONNECTING, SSEKIT_STATE_OPEN,
                              SSEKIT_STATE_CLOSED}));
  // Longer than the reconnection delay: a reconnect would have shown up.
  std::this_thread::sleep_for(milliseconds(5 * kInitialDelayMs));
  EXPECT_EQ(server().Requests("/events").size(), 1u);
  EXPECT_EQ(rec.Get(&Recorder::log).back(), "closed");
}

TEST_F(ReconnectTest, DoneSentinelFinishesTheStreamAndIsNotDelivered) {
  Recorder rec;
  // end=hang keeps the body open: only the sentinel can finish the stream.
  StreamPtr s = NewStream(Url("/events?count=2&done=1&end=hang"), rec);
  ASSERT_EQ(ssekit_stream_set_done_sentinel(s.get(), "[DONE]"), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  EXPECT_EQ(rec.Datas(), (std::vector<std::string>{"event 1", "event 2"}));
  EXPECT_TRUE(rec.Get(&Recorder::errors).empty());
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_EVENTS), 2u);
  EXPECT_EQ(server().Requests("/events").size(), 1u);
}

TEST_F(ReconnectTest, DedupeSkipsIdsAServerReplaysAfterReconnect) {
  Recorder rec;
  // /ticks ignores Last-Event-ID: every connection starts again at id 1.
  StreamPtr s = NewStream(Url("/ticks?count=-1&interval_ms=15"), rec);
  ASSERT_EQ(ssekit_stream_set_dedupe(s.get(), 1), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(5));
  ASSERT_EQ(ssekit_stream_restart(s.get()), SSEKIT_OK);
  ASSERT_TRUE(
      rec.WaitFor([](const Recorder& r) { return r.opens.size() >= 2; }));
  const std::size_t before = EventsBeforeOpen(rec.Get(&Recorder::log), 2);
  ASSERT_TRUE(rec.WaitEvents(before + 3));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  ExpectConsecutiveIds(rec.Ids());
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_DEDUPED),
            static_cast<std::uint64_t>(before));
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_EVENTS),
            static_cast<std::uint64_t>(rec.EventCount()));
}

TEST_F(ReconnectTest, WithoutDedupeReplayedIdsAreDelivered) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/ticks?count=-1&interval_ms=15"), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(5));
  ASSERT_EQ(ssekit_stream_restart(s.get()), SSEKIT_OK);
  ASSERT_TRUE(
      rec.WaitFor([](const Recorder& r) { return r.opens.size() >= 2; }));
  const std::size_t before = EventsBeforeOpen(rec.Get(&Recorder::log), 2);
  ASSERT_TRUE(rec.WaitEvents(before + 1));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  EXPECT_EQ(rec.Ids()[before], "1");
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_DEDUPED), 0u);
}

TEST_F(ReconnectTest, DedupeSkipsAWholeReplayedStream) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/ticks?count=3"), rec);
  ASSERT_EQ(ssekit_stream_set_dedupe(s.get(), 1), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  WaitRequests("/ticks", 3);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  EXPECT_EQ(rec.Ids(), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_GE(ssekit_stream_metric(s.get(), SSEKIT_METRIC_DEDUPED), 3u);
}

TEST_F(ReconnectTest, FailFirstReportsAFirstFailureAtOnce) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/flaky?fail=1&status=503&key=" + Key()), rec);
  ASSERT_EQ(ssekit_stream_set_fail_first(s.get(), 1), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_HTTP_STATUS});
  auto errors = rec.Get(&Recorder::errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].http_status, 503);
  EXPECT_EQ(errors[0].will_retry, 0);
  EXPECT_EQ(server().Requests("/flaky").size(), 1u);
}

TEST_F(ReconnectTest, FailFirstReconnectsOnceAConnectionOpened) {
  Recorder rec;
  // Two events and a clean end: the end of an opened stream reconnects.
  StreamPtr s = NewStream(Url("/events?count=2&key=" + Key()), rec);
  ASSERT_EQ(ssekit_stream_set_fail_first(s.get(), 1), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(1));
  ASSERT_TRUE(PollUntil([&] { return server().Requests("/events").size() >= 2; }));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  auto errors = rec.Get(&Recorder::errors);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].code, SSEKIT_E_STREAM_ENDED);
  EXPECT_EQ(errors[0].will_retry, 1);
}

TEST_F(ReconnectTest, WithoutReconnectADroppedAnswerIsNeverRequestedAgain) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/drop?after=2&key=" + Key()), rec);
  ASSERT_EQ(ssekit_stream_set_method(s.get(), "POST"), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_body(s.get(), "{}", 2), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_reconnect(s.get(), 0), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_NETWORK});
  EXPECT_EQ(rec.Ids(), (std::vector<std::string>{"1", "2"}));
  auto errors = rec.Get(&Recorder::errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].will_retry, 0);
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(server().Requests("/drop").size(), 1u);
}

TEST_F(ReconnectTest, WithAckErrorsAReconnectWaitsForTheAck) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/drop?after=1&key=" + Key()), rec);
  ASSERT_EQ(ssekit_stream_set_ack_errors(s.get(), 1), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(1));
  // The delay (10 to 20 ms here) passes; without the ack nothing goes out.
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(server().Requests("/drop").size(), 1u);
  EXPECT_EQ(ssekit_stream_state(s.get()), SSEKIT_STATE_CONNECTING);
  ASSERT_EQ(ssekit_stream_ack_error(s.get()), SSEKIT_OK);
  ASSERT_TRUE(PollUntil([&] { return server().Requests("/drop").size() == 2; }));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
}

TEST_F(ReconnectTest, WithAckErrorsAStreamClosedBeforeTheAckNeverReconnects) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/drop?after=1&key=" + Key()), rec);
  ASSERT_EQ(ssekit_stream_set_ack_errors(s.get(), 1), SSEKIT_OK);
  // What an EventSource's onerror does: close, and no ack follows.
  rec.error_hook = [](Recorder& r, const RecError&) { ssekit_stream_close(r.stream()); };
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(server().Requests("/drop").size(), 1u);
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_CLOSED});
  EXPECT_EQ(ssekit_stream_ack_error(s.get()), SSEKIT_E_STATE);
}

}  // namespace
}  // namespace ssekit_test
