// What the client puts on the wire: method, headers, body, Last-Event-ID.

#include <cctype>
#include <string>
#include <vector>

#include "client_test.h"

namespace ssekit_test {
namespace {

using RequestTest = ClientTest;

TEST_F(RequestTest, SendsAcceptAndCacheControlAndNoLastEventIdByDefault) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=1"), rec);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  auto reqs = server().Requests("/events");
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0]["method"], "GET");
  EXPECT_EQ(Header(reqs[0], "accept"), "text/event-stream");
  EXPECT_EQ(Header(reqs[0], "cache-control"), "no-cache");
  EXPECT_FALSE(HasHeader(reqs[0], "last-event-id"))
      << "an empty last event ID must not be sent";
  EXPECT_EQ(reqs[0]["body_length"], 0);
}

TEST_F(RequestTest, CustomHeadersAreSentAndReplaceTheDefaultsOfTheirName) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=1"), rec);
  ASSERT_EQ(ssekit_stream_add_header(s.get(), "X-Custom", "one two"),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_add_header(s.get(), "Accept",
                                     "application/json, text/event-stream"),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_add_header(s.get(), "cache-control", "max-age=0"),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  auto reqs = server().Requests("/events");
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(Header(reqs[0], "x-custom"), "one two");
  // One header of each name: a replaced default is not sent as well.
  EXPECT_EQ(Header(reqs[0], "accept"), "application/json, text/event-stream");
  EXPECT_EQ(Header(reqs[0], "cache-control"), "max-age=0");
  int accepts = 0;
  for (const auto& h : reqs[0]["headers"]) {
    std::string name = h[0];
    for (auto& c : name) c = static_cast<char>(std::tolower(c));
    if (name == "accept") ++accepts;
  }
  EXPECT_EQ(accepts, 1);
}

TEST_F(RequestTest, PostBodyIsSentAgainOnEveryReconnect) {
  const std::string key = Key();
  Recorder rec;
  StreamPtr s = NewStream(
      Url("/flaky?fail=1&status=500&count=1&key=" + UrlEncode(key)), rec);
  const std::string body("{\"q\":\"hi\"}\n\0tail", 16);
  ASSERT_EQ(body.size(), 16u);
  ASSERT_EQ(ssekit_stream_set_method(s.get(), "POST"), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_body(s.get(), body.data(), body.size()),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_add_header(s.get(), "Content-Type",
                                     "application/json"),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  auto errors = rec.Get(&Recorder::errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, SSEKIT_E_HTTP_STATUS) << errors[0].message;
  EXPECT_EQ(errors[0].will_retry, 1);
  EXPECT_EQ(rec.Datas(), std::vector<std::string>{"event 1"});

  auto reqs = server().Requests("/flaky");
  ASSERT_EQ(reqs.size(), 2u);
  for (const auto& r : reqs) {
    EXPECT_EQ(r["method"], "POST");
    EXPECT_EQ(r["body_length"], 16);
    EXPECT_EQ(r["body"].get<std::string>(), body);
    EXPECT_EQ(Header(r, "content-type"), "application/json");
    EXPECT_EQ(Header(r, "accept"), "text/event-stream");
  }
}

TEST_F(RequestTest, HeadersHookSuppliesAFreshValueForEachAttempt) {
  const std::string key = Key();
  Recorder rec;
  StreamPtr s = NewStream(
      Url("/flaky?fail=2&status=503&count=1&key=" + UrlEncode(key)), rec);
  rec.headers_hook = [](ssekit_headers* h, int attempt) {
    const std::string n = std::to_string(attempt);
    if (ssekit_headers_set(h, "X-Attempt", "stale") != SSEKIT_OK) return 1;
    // Setting a name twice replaces the value.
    if (ssekit_headers_set(h, "X-Attempt", n.c_str()) != SSEKIT_OK) return 1;
    return ssekit_headers_set(h, "Authorization", ("Bearer t" + n).c_str()) ==
                   SSEKIT_OK
               ? 0
               : 1;
  };
  ASSERT_TRUE(rec.UseHeadersHook());
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  EXPECT_EQ(rec.Get(&Recorder::headers_calls), 3);
  auto reqs = server().Requests("/flaky");
  ASSERT_EQ(reqs.size(), 3u);
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    const std::string n = std::to_string(i + 1);
    EXPECT_EQ(Header(reqs[i], "x-attempt"), n) << "request " << i;
    EXPECT_EQ(Header(reqs[i], "authorization"), "Bearer t" + n);
  }
}

TEST_F(RequestTest, HeadersHookReturningNonZeroFailsWithHookError) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=1"), rec);
  rec.headers_hook = [](ssekit_headers*, int) { return 1; };
  ASSERT_TRUE(rec.UseHeadersHook());
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  auto errors = rec.Get(&Recorder::errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, SSEKIT_E_HOOK);
  EXPECT_EQ(errors[0].will_retry, 0);
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_HOOK});
  EXPECT_EQ(rec.Get(&Recorder::headers_calls), 1);
  EXPECT_EQ(server().Requests("/events").size(), 0u);
  EXPECT_EQ(ssekit_stream_state(s.get()), SSEKIT_STATE_CLOSED);
}

TEST_F(RequestTest, InitialLastEventIdIsSentAsRawUtf8BytesOnEveryAttempt) {
  const std::string key = Key();
  const std::string id = "caf\xc3\xa9 \xe2\x82\xac-7";
  Recorder rec;
  StreamPtr s = NewStream(
      Url("/flaky?fail=1&status=503&count=0&key=" + UrlEncode(key)), rec);
  ASSERT_EQ(ssekit_stream_set_last_event_id(s.get(), id.data(), id.size()),
            SSEKIT_OK);
  EXPECT_EQ(StreamLastId(s.get()), id);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  auto reqs = server().Requests("/flaky");
  ASSERT_EQ(reqs.size(), 2u);
  for (const auto& r : reqs) {
    EXPECT_EQ(Latin1ToBytes(Header(r, "last-event-id")), id);
  }
  EXPECT_EQ(StreamLastId(s.get()), id);
}

TEST_F(RequestTest, LastEventIdAfterReconnectIsTheLastDeliveredId) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/drop?after=2"), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(4));
  auto reqs = WaitRequests("/drop", 2);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  EXPECT_FALSE(HasHeader(reqs[0], "last-event-id"));
  EXPECT_EQ(Header(reqs[1], "last-event-id"), "2");
  EXPECT_EQ(rec.Ids(), (std::vector<std::string>{"1", "2", "3", "4"}));
}

TEST_F(RequestTest, LastEventIdQueryParameterIsPercentEncodedAndReplaced) {
  const std::string id = "a b/\xc3\xa9&x=1";
  Recorder rec;
  StreamPtr s = NewStream(Url("/drop?after=1&lei=stale&keep=yes"), rec);
  ASSERT_EQ(ssekit_stream_set_last_event_id(s.get(), id.data(), id.size()),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_last_event_id_param(s.get(), "lei"), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  auto reqs = WaitRequests("/drop", 2);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  ASSERT_GE(rec.EventCount(), 1u);
  const std::string first_delivered = rec.Ids()[0];

  auto count_params = [](const std::string& target, const std::string& name) {
    int n = 0;
    auto q = target.find('?');
    while (q != std::string::npos) {
      if (target.compare(q + 1, name.size() + 1, name + "=") == 0) ++n;
      q = target.find('&', q + 1);
    }
    return n;
  };
  const std::string t0 = reqs[0]["target"];
  const std::string t1 = reqs[1]["target"];
  EXPECT_EQ(count_params(t0, "lei"), 1) << t0;
  EXPECT_EQ(count_params(t1, "lei"), 1) << t1;
  EXPECT_EQ(reqs[0]["query"]["lei"], id) << t0;
  EXPECT_EQ(reqs[0]["query"]["keep"], "yes") << t0;
  EXPECT_EQ(reqs[0]["query"]["after"], "1") << t0;
  EXPECT_EQ(reqs[1]["query"]["lei"], first_delivered) << t1;
  EXPECT_EQ(reqs[1]["query"]["keep"], "yes") << t1;
}

}  // namespace
}  // namespace ssekit_test
