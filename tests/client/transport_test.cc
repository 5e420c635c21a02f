// Transport: redirects and credential scoping, awkward body framings,
// decoding, size limits and TLS.

#include <memory>
#include <string>
#include <vector>

#include "client_test.h"

namespace ssekit_test {
namespace {

using RedirectTest = ClientTest;
using BodyTest = ClientTest;

class TemporaryRedirectTest : public ClientTest,
                              public ::testing::WithParamInterface<int> {};

TEST_P(TemporaryRedirectTest, IsFollowedAndReconnectsUseTheOriginalUrl) {
  const std::string original = Url("/redirect?status=" +
                                   std::to_string(GetParam()) + "&to=" +
                                   UrlEncode("/events?count=2"));
  Recorder rec;
  StreamPtr s = NewStream(original, rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(2));
  auto redirects = WaitRequests("/redirect", 2);
  // The reconnect's second hop follows its redirect: wait for it too.
  WaitRequests("/events", 2);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  EXPECT_EQ(rec.Ids(), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(rec.Get(&Recorder::opens)[0].status, 200);
  EXPECT_EQ(StreamUrl(s.get()), original);
  // The reconnect after the body ended went through the redirect again.
  EXPECT_EQ(Header(redirects[1], "last-event-id"), "2");
}

INSTANTIATE_TEST_SUITE_P(Statuses, TemporaryRedirectTest,
                         ::testing::Values(302, 303, 307));

class PermanentRedirectTest : public ClientTest,
                              public ::testing::WithParamInterface<int> {};

TEST_P(PermanentRedirectTest, LaterReconnectsGoToTheNewUrl) {
  Recorder rec;
  StreamPtr s =
      NewStream(Url("/redirect?status=" + std::to_string(GetParam()) +
                    "&to=" + UrlEncode("/events?count=2")),
                rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(2));
  auto events = WaitRequests("/events", 3);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  EXPECT_EQ(server().Requests("/redirect").size(), 1u);
  EXPECT_EQ(StreamUrl(s.get()), Url("/events?count=2"));
  EXPECT_EQ(Header(events[1], "last-event-id"), "2");
}

INSTANTIATE_TEST_SUITE_P(Statuses, PermanentRedirectTest,
                         ::testing::Values(301, 308));

TEST_F(RedirectTest, CrossHostRedirectSendsNoneOfTheCallersHeaders) {
  Recorder rec;
  StreamPtr s = NewStream(
      Url("/redirect?status=307&to_host=127.0.0.2&to_path=/echo"), rec);
  ASSERT_EQ(ssekit_stream_add_header(s.get(), "Authorization", "Bearer secret"),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_add_header(s.get(), "Cookie", "session=abc"),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_add_header(s.get(), "X-Custom", "kept"), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});

  auto first = server().Requests("/redirect");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(Header(first[0], "authorization"), "Bearer secret");
  EXPECT_EQ(Header(first[0], "cookie"), "session=abc");
  auto echo = server().Requests("/echo");
  ASSERT_EQ(echo.size(), 1u);
  const std::string local = echo[0]["server"];
  EXPECT_EQ(local.rfind("127.0.0.2:", 0), 0u) << local;
  EXPECT_FALSE(HasHeader(echo[0], "authorization"))
      << Header(echo[0], "authorization");
  EXPECT_FALSE(HasHeader(echo[0], "cookie")) << Header(echo[0], "cookie");
  EXPECT_FALSE(HasHeader(echo[0], "x-custom")) << Header(echo[0], "x-custom");
  EXPECT_EQ(Header(echo[0], "accept"), "text/event-stream");
}

TEST_F(RedirectTest, CrossHostRedirectDropsAuthorizationFromTheHeadersHook) {
  Recorder rec;
  StreamPtr s = NewStream(
      Url("/redirect?status=302&to_host=127.0.0.2&to_path=/echo"), rec);
  rec.headers_hook = [](ssekit_headers* h, int) {
    return ssekit_headers_set(h, "Authorization", "Bearer hooked") == SSEKIT_OK
               ? 0
               : 1;
  };
  ASSERT_TRUE(rec.UseHeadersHook());
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  auto first = server().Requests("/redirect");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(Header(first[0], "authorization"), "Bearer hooked");
  auto echo = server().Requests("/echo");
  ASSERT_EQ(echo.size(), 1u);
  EXPECT_FALSE(HasHeader(echo[0], "authorization"));
}

TEST_F(RedirectTest, SameHostRedirectKeepsAuthorizationAndCookie) {
  Recorder rec;
  StreamPtr s = NewStream(
      Url("/redirect?status=307&to_host=127.0.0.1&to_path=/echo"), rec);
  ASSERT_EQ(ssekit_stream_add_header(s.get(), "Authorization", "Bearer secret"),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_add_header(s.get(), "Cookie", "session=abc"),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  auto echo = server().Requests("/echo");
  ASSERT_EQ(echo.size(), 1u);
  const std::string local = echo[0]["server"];
  EXPECT_EQ(local.rfind("127.0.0.1:", 0), 0u) << local;
  EXPECT_EQ(Header(echo[0], "authorization"), "Bearer secret");
  EXPECT_EQ(Header(echo[0], "cookie"), "session=abc");
}

// A chain of n redirects ending at /events?count=1.
std::string RedirectChain(int n) {
  std::string target = "/events?count=1";
  for (int i = 0; i < n; ++i) {
    target = "/redirect?status=302&to=" + UrlEncode(target);
  }
  return target;
}

TEST_F(RedirectTest, ChainWithinTheLimitIsFollowed) {
  Recorder rec;
  StreamPtr s = NewStream(Url(RedirectChain(3)), rec);
  ASSERT_EQ(ssekit_stream_set_max_redirects(s.get(), 3), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  EXPECT_EQ(rec.Datas(), std::vector<std::string>{"event 1"});
  EXPECT_EQ(server().Requests("/redirect").size(), 3u);
}

TEST_F(RedirectTest, TooManyRedirectsFail) {
  Recorder rec;
  StreamPtr s = NewStream(Url(RedirectChain(3)), rec);
  ASSERT_EQ(ssekit_stream_set_max_redirects(s.get(), 2), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(1));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  auto errors = rec.Get(&Recorder::errors);
  EXPECT_EQ(errors[0].code, SSEKIT_E_TOO_MANY_REDIRECTS) << errors[0].message;
  EXPECT_TRUE(rec.Get(&Recorder::opens).empty());
  EXPECT_EQ(server().Requests("/events").size(), 0u);
  EXPECT_GE(server().Requests("/redirect").size(), 3u);
}

TEST_F(RedirectTest, ZeroMaxRedirectsRefusesRedirects) {
  Recorder rec;
  StreamPtr s = NewStream(Url(RedirectChain(1)), rec);
  ASSERT_EQ(ssekit_stream_set_max_redirects(s.get(), 0), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(1));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  auto errors = rec.Get(&Recorder::errors);
  EXPECT_EQ(errors[0].code, SSEKIT_E_TOO_MANY_REDIRECTS) << errors[0].message;
  EXPECT_EQ(server().Requests("/events").size(), 0u);
}

class BytewiseTest : public ClientTest,
                     public ::testing::WithParamInterface<const char*> {};

TEST_P(BytewiseTest, OneByteChunksGiveTheSameEvents) {
  Recorder rec;
  StreamPtr s = NewStream(
      Url(std::string("/bytewise?count=3&type=t&bom=1&eol=") + GetParam()),
      rec);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  auto events = rec.Get(&Recorder::events);
  ASSERT_EQ(events.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(events[i].type, "t");
    EXPECT_EQ(events[i].id, std::to_string(i + 1));
    EXPECT_EQ(events[i].data, "event " + std::to_string(i + 1));
  }
}

INSTANTIATE_TEST_SUITE_P(LineEnds, BytewiseTest,
                         ::testing::Values("lf", "crlf", "cr"));

TEST_F(BodyTest, InvalidUtf8DecodesToReplacementCharacters) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/invalid-utf8?delay_ms=5"), rec);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  const std::string r = "\xef\xbf\xbd";  // U+FFFD
  const std::vector<std::string> want = {
      "a" + r + "b",
      "euro \xe2\x82\xac end",
      "smile \xf0\x9f\x98\x80",
      "cut " + r + "(",
      "overlong " + r + r,
      "surrogate " + r + r + r,
      "lone " + r + r,
      "tail " + r,
      "ok"};
  EXPECT_EQ(rec.Datas(), want);
  EXPECT_EQ(rec.Ids(), (std::vector<std::string>{"1", "2", "3", "4", "5", "6",
                                                 "7", "8", "9"}));
}

TEST_F(BodyTest, GzipEncodedStreamIsDecoded) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/gzip?count=3&force=1"), rec);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  EXPECT_EQ(rec.Datas(),
            (std::vector<std::string>{"event 1", "event 2", "event 3"}));
}

TEST_F(BodyTest, GzipEventsArriveBeforeTheBodyEnds) {
  Recorder rec;
  // end=hang: the gzip trailer never comes, so each event must be decoded
  // from its sync-flushed block.
  StreamPtr s = NewStream(Url("/gzip?count=2&force=1&end=hang"), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(2));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  EXPECT_EQ(rec.Datas(), (std::vector<std::string>{"event 1", "event 2"}));
}

TEST_F(BodyTest, OverlongLineDropsTheConnectionWithoutBufferingIt) {
  Recorder rec;
  // A comment line: a data line is bounded by the event limit instead.
  StreamPtr s = NewStream(Url("/oversize?bytes=8388608&field=comment"), rec);
  ASSERT_EQ(ssekit_stream_set_max_line(s.get(), 4096), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(1));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  auto errors = rec.Get(&Recorder::errors);
  EXPECT_EQ(errors[0].code, SSEKIT_E_LINE_TOO_LONG) << errors[0].message;
  EXPECT_EQ(errors[0].will_retry, 1);
  EXPECT_LT(errors[0].bytes, 1024u * 1024u)
      << "the whole oversized line was read before failing";
  for (const auto& d : rec.Datas()) EXPECT_LE(d.size(), 4096u);
}

TEST_F(BodyTest, OversizedEventDropsTheConnectionWithoutBufferingIt) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/oversize?bytes=8388608&line_bytes=100"), rec);
  ASSERT_EQ(ssekit_stream_set_max_event(s.get(), 4096), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(1));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  auto errors = rec.Get(&Recorder::errors);
  EXPECT_EQ(errors[0].code, SSEKIT_E_EVENT_TOO_LARGE) << errors[0].message;
  EXPECT_EQ(errors[0].will_retry, 1);
  EXPECT_LT(errors[0].bytes, 1024u * 1024u)
      << "the whole oversized event was read before failing";
  for (const auto& d : rec.Datas()) EXPECT_LE(d.size(), 4096u);
}

TEST_F(BodyTest, EventWithinTheLimitsIsDelivered) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/oversize?bytes=3000"), rec);
  ASSERT_EQ(ssekit_stream_set_max_line(s.get(), 4096), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_max_event(s.get(), 4096), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  EXPECT_EQ(rec.Datas(),
            (std::vector<std::string>{std::string(3000, 'x'), "after"}));
}

using TlsTest = TlsClientTest;

TEST_F(TlsTest, VerifiesTheServerWithTheGivenCaFile) {
  ASSERT_FALSE(server().ca_file().empty());
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=2"), rec);
  ASSERT_EQ(ssekit_stream_set_ca_file(s.get(), server().ca_file().c_str()),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  ExpectNoErrors(rec);
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  EXPECT_EQ(rec.Ids(), (std::vector<std::string>{"1", "2"}));
}

TEST_F(TlsTest, UnknownIssuerFailsVerificationWithTlsError) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=2"), rec);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(1));
  auto errors = rec.Get(&Recorder::errors);
  EXPECT_EQ(errors[0].code, SSEKIT_E_TLS) << errors[0].message;
  EXPECT_EQ(errors[0].http_status, 0);
  // Whether a verification failure is retried is the library's choice; the
  // closed code must agree with it.
  if (errors[0].will_retry) {
    ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
    EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_CLOSED});
  } else {
    ASSERT_TRUE(rec.WaitClosed());
    EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_TLS});
  }
  EXPECT_TRUE(rec.Get(&Recorder::opens).empty());
  EXPECT_TRUE(rec.Get(&Recorder::events).empty());
}

TEST_F(TlsTest, InsecureModeSkipsVerification) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=2"), rec);
  ASSERT_EQ(ssekit_stream_set_insecure(s.get(), 1), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  EXPECT_EQ(rec.Ids(), (std::vector<std::string>{"1", "2"}));
}

// The server offers only HTTP/1.1 (ALPN): streams started together must
// not queue behind one another's never-ending response.
TEST_F(TlsTest, StreamsStartedTogetherOverHttp11AllConnect) {
  std::vector<std::unique_ptr<Recorder>> recs;
  std::vector<StreamPtr> streams;
  for (int i = 0; i < 3; ++i) {
    recs.push_back(std::make_unique<Recorder>());
    streams.push_back(
        NewStream(Url("/events?count=-1&interval_ms=20"), *recs.back()));
    ASSERT_EQ(ssekit_stream_set_ca_file(streams.back().get(),
                                        server().ca_file().c_str()),
              SSEKIT_OK);
  }
  for (auto& s : streams) ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  for (std::size_t i = 0; i < recs.size(); ++i) {
    EXPECT_TRUE(recs[i]->WaitEvents(1)) << "stream " << i << " got no event";
  }
  streams.clear();
}

}  // namespace
}  // namespace ssekit_test
