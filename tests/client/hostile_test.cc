// Hostile and careless servers: redirects that would leak credentials,
// reconnect storms, timer overflows, and limits that must surface as what
// they are.

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "client_test.h"

namespace ssekit_test {
namespace {

// ------------------------------------------------------------- redirects

enum class Target { kOtherHost, kOtherPort, kHttpsToHttp, kSameOrigin };

const char* TargetName(Target t) {
  switch (t) {
    case Target::kOtherHost: return "OtherHost";
    case Target::kOtherPort: return "OtherPort";
    case Target::kHttpsToHttp: return "HttpsToHttp";
    case Target::kSameOrigin: return "SameOrigin";
  }
  return "?";
}

// Three servers: the suite's own (127.0.0.1 and 127.0.0.2, one port),
// another on a second port, and an HTTPS one.
class RedirectOriginTest
    : public ClientTest,
      public ::testing::WithParamInterface<std::tuple<int, Target>> {
 protected:
  static void SetUpTestSuite() {
    StartServer(ServerOptions{false, true});
    other_ = std::make_unique<TestServer>(ServerOptions{false, false});
    tls_ = std::make_unique<TestServer>(ServerOptions{true, false});
  }
  static void TearDownTestSuite() {
    other_.reset();
    tls_.reset();
    server_.reset();
  }
  void SetUp() override {
    ClientTest::SetUp();
    ASSERT_TRUE(other_->ok()) << other_->error();
    ASSERT_TRUE(tls_->ok()) << tls_->error();
    other_->Reset();
  }

  static inline std::unique_ptr<TestServer> other_;
  static inline std::unique_ptr<TestServer> tls_;
};

void AddSecrets(ssekit_stream* s) {
  ASSERT_EQ(ssekit_stream_add_header(s, "Authorization", "Bearer SECRET"),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_add_header(s, "Cookie", "sid=S"), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_add_header(s, "X-Api-Key", "KEY"), SSEKIT_OK);
}

void ExpectNoSecrets(const nlohmann::json& req) {
  EXPECT_FALSE(HasHeader(req, "authorization")) << Header(req, "authorization");
  EXPECT_FALSE(HasHeader(req, "cookie")) << Header(req, "cookie");
  EXPECT_FALSE(HasHeader(req, "x-api-key")) << Header(req, "x-api-key");
  EXPECT_EQ(Header(req, "accept"), "text/event-stream");
}

void ExpectSecrets(const nlohmann::json& req) {
  EXPECT_EQ(Header(req, "authorization"), "Bearer SECRET");
  EXPECT_EQ(Header(req, "cookie"), "sid=S");
  EXPECT_EQ(Header(req, "x-api-key"), "KEY");
}

TEST_P(RedirectOriginTest, HeadersGoOnlyToTheirOriginOnTheFirstHopAndReconnects) {
  const int status = std::get<0>(GetParam());
  const Target target = std::get<1>(GetParam());
  std::string to;
  TestServer* dest = &server();
  switch (target) {
    case Target::kOtherHost: to = Url("/echo", "127.0.0.2"); break;
    case Target::kOtherPort: to = other_->Url("/echo"); dest = other_.get(); break;
    case Target::kHttpsToHttp:
    case Target::kSameOrigin: to = Url("/echo"); break;
  }
  const std::string path = "/redirect?status=" + std::to_string(status) + "&to=" + UrlEncode(to);
  const std::string start = target == Target::kHttpsToHttp ? tls_->Url(path) : Url(path);

  Recorder rec;
  StreamPtr s = NewStream(start, rec);
  AddSecrets(s.get());
  if (target == Target::kHttpsToHttp) {
    ASSERT_EQ(ssekit_stream_set_ca_file(s.get(), tls_->ca_file().c_str()), SSEKIT_OK);
  }
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);

  if (target == Target::kHttpsToHttp) {
    // Refused by default: the stream fails at once and nothing reaches
    // the plain-text server.
    ASSERT_TRUE(rec.WaitClosed());
    EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_REDIRECT});
    auto errors = rec.Get(&Recorder::errors);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].code, SSEKIT_E_REDIRECT);
    EXPECT_EQ(errors[0].will_retry, 0);
    EXPECT_NE(errors[0].message.find("https to http"), std::string::npos) << errors[0].message;
    EXPECT_EQ(server().Requests("/echo").size(), 0u);
    return;
  }

  // The first hop and two reconnects (each /echo response ends).
  ASSERT_TRUE(PollUntil([&] { return dest->Requests("/echo").size() >= 3; }));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  auto echoes = dest->Requests("/echo");
  ASSERT_GE(echoes.size(), 3u);

  auto redirects = server().Requests("/redirect");
  ASSERT_GE(redirects.size(), 1u);
  ExpectSecrets(redirects[0]);
  for (const auto& r : redirects) ExpectSecrets(r);

  const bool permanent = status == 301 || status == 308;
  for (const auto& e : echoes) {
    if (target == Target::kSameOrigin) {
      ExpectSecrets(e);
    } else {
      ExpectNoSecrets(e);
    }
  }
  if (target == Target::kOtherHost) {
    const std::string local = echoes[0]["server"];
    EXPECT_EQ(local.rfind("127.0.0.2:", 0), 0u) << local;
  }
  if (permanent && target == Target::kSameOrigin) {
    // Remembered: reconnects go straight to the new URL.
    EXPECT_EQ(redirects.size(), 1u);
    EXPECT_EQ(StreamUrl(s.get()), to);
  } else {
    // Not remembered (a temporary redirect, or another origin): every
    // attempt asks the origin the headers belong to again.
    EXPECT_GE(redirects.size(), echoes.size());
    EXPECT_EQ(StreamUrl(s.get()), start);
  }
}

INSTANTIATE_TEST_SUITE_P(
    StatusesAndTargets, RedirectOriginTest,
    ::testing::Combine(::testing::Values(301, 302, 303, 307, 308),
                       ::testing::Values(Target::kOtherHost, Target::kOtherPort,
                                         Target::kHttpsToHttp, Target::kSameOrigin)),
    [](const ::testing::TestParamInfo<std::tuple<int, Target>>& p) {
      return std::to_string(std::get<0>(p.param)) + "_" +
             TargetName(std::get<1>(p.param));
    });

TEST_F(RedirectOriginTest, OptInForwardsOnlyNonCredentialHeaders) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/redirect?status=307&to_host=127.0.0.2&to_path=/echo"), rec);
  AddSecrets(s.get());
  ASSERT_EQ(ssekit_stream_add_header(s.get(), "Proxy-Authorization", "Basic P"), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_redirect_headers(s.get(), 1), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  auto echo = server().Requests("/echo");
  ASSERT_EQ(echo.size(), 1u);
  EXPECT_EQ(Header(echo[0], "x-api-key"), "KEY");
  EXPECT_FALSE(HasHeader(echo[0], "authorization"));
  EXPECT_FALSE(HasHeader(echo[0], "cookie"));
  EXPECT_FALSE(HasHeader(echo[0], "proxy-authorization"));
}

TEST_F(RedirectOriginTest, HeadersFromTheHookStayWithTheirOrigin) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/redirect?status=302&to_host=127.0.0.2&to_path=/echo"), rec);
  rec.headers_hook = [](ssekit_headers* h, int) {
    return ssekit_headers_set(h, "X-Api-Key", "HOOKED") == SSEKIT_OK ? 0 : 1;
  };
  ASSERT_TRUE(rec.UseHeadersHook());
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  auto first = server().Requests("/redirect");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(Header(first[0], "x-api-key"), "HOOKED");
  auto echo = server().Requests("/echo");
  ASSERT_EQ(echo.size(), 1u);
  EXPECT_FALSE(HasHeader(echo[0], "x-api-key"));
}

TEST_F(RedirectOriginTest, HttpsToHttpIsFollowedWhenAllowedWithoutCredentials) {
  Recorder rec;
  StreamPtr s = NewStream(
      tls_->Url("/redirect?status=301&to=" + UrlEncode(Url("/echo"))), rec);
  AddSecrets(s.get());
  ASSERT_EQ(ssekit_stream_set_ca_file(s.get(), tls_->ca_file().c_str()), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_insecure_redirects(s.get(), 1), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  auto echoes = WaitRequests("/echo", 2);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  for (const auto& e : server().Requests("/echo")) ExpectNoSecrets(e);
}

TEST_F(RedirectOriginTest, RedirectToAnotherSchemeIsRefused) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/redirect?status=302&location=" + UrlEncode("ftp://127.0.0.1/x")),
                          rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_REDIRECT});
}

class EmptyLocationTest : public ClientTest, public ::testing::WithParamInterface<int> {};

TEST_P(EmptyLocationTest, FailsAsAStatusError) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/redirect?location=&status=" + std::to_string(GetParam())), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_HTTP_STATUS});
  auto errors = rec.Get(&Recorder::errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].http_status, GetParam());
  EXPECT_EQ(errors[0].will_retry, 0);
  EXPECT_NE(errors[0].message.find("without a Location"), std::string::npos) << errors[0].message;
  EXPECT_EQ(server().Requests("/redirect").size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Statuses, EmptyLocationTest, ::testing::Values(301, 302, 303, 307, 308));

// What a redirect does to a POST with a body, on the first hop and on
// every reconnect alike.
class RedirectMethodTest : public ClientTest, public ::testing::WithParamInterface<int> {};

TEST_P(RedirectMethodTest, MethodAndBodyFollowTheStatusOnEveryAttempt) {
  const int status = GetParam();
  Recorder rec;
  StreamPtr s = NewStream(
      Url("/redirect?status=" + std::to_string(status) + "&to=" + UrlEncode("/echo")), rec);
  ASSERT_EQ(ssekit_stream_set_method(s.get(), "POST"), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_body(s.get(), "{\"q\":1}", 7), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_add_header(s.get(), "Content-Type", "application/json"), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  WaitRequests("/echo", 3);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  const bool keeps = status == 307 || status == 308;
  auto redirects = server().Requests("/redirect");
  ASSERT_GE(redirects.size(), 1u);
  EXPECT_EQ(redirects[0]["method"], "POST");
  for (const auto& e : server().Requests("/echo")) {
    EXPECT_EQ(e["method"], keeps ? "POST" : "GET");
    EXPECT_EQ(e["body_length"], keeps ? 7 : 0);
    EXPECT_EQ(HasHeader(e, "content-type"), keeps) << Header(e, "content-type");
  }
}

INSTANTIATE_TEST_SUITE_P(Statuses, RedirectMethodTest, ::testing::Values(301, 302, 303, 307, 308));

// -------------------------------------------------------- reconnect timing

using TimingTest = ClientTest;

// A stream with the library's own delays (no test shortcuts).
StreamPtr DefaultDelayStream(const std::string& url, Recorder& rec) {
  StreamPtr s(ssekit_stream_new(url.c_str()));
  EXPECT_TRUE(s);
  EXPECT_EQ(ssekit_stream_set_proxy(s.get(), ""), SSEKIT_OK);
  EXPECT_TRUE(rec.Attach(s.get()));
  return s;
}

TEST_F(TimingTest, RetryZeroCannotCauseARequestStorm) {
  Recorder rec;
  StreamPtr s = DefaultDelayStream(Url("/events?count=1&retry=0"), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  std::this_thread::sleep_for(milliseconds(1300));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  // 1300 ms at one request per 250 ms or more.
  EXPECT_LE(server().Requests("/events").size(), 7u);
  EXPECT_GE(server().Requests("/events").size(), 2u);
  for (const auto& e : rec.Get(&Recorder::errors)) EXPECT_GE(e.retry_ms, 250u);
}

TEST_F(TimingTest, FailuresAfterRetryZeroBackOffFromTheFloor) {
  // `retry: 0`, then an empty body, every time: failures in a row.
  Recorder rec;
  StreamPtr s = DefaultDelayStream(Url("/events?count=0&retry=0"), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(3, milliseconds(5000)));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  auto errors = rec.Get(&Recorder::errors);
  EXPECT_EQ(errors[0].retry_ms, 250u);
  EXPECT_GE(errors[1].retry_ms, 250u);
  EXPECT_LE(errors[1].retry_ms, 500u);
  EXPECT_GE(errors[2].retry_ms, 500u);
  EXPECT_LE(errors[2].retry_ms, 1000u);
}

TEST_F(TimingTest, APollingServerGetsTheBaseDelayEveryTime) {
  // `retry: 200`, one event, a clean end: each connection was a success.
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=1&ids=0&retry=200"), rec);
  ASSERT_EQ(ssekit_stream_set_max_delay(s.get(), 30000), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(6));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  for (const auto& e : rec.Get(&Recorder::errors)) {
    EXPECT_EQ(e.code, SSEKIT_E_STREAM_ENDED);
    EXPECT_GE(e.retry_ms, 100u);
    EXPECT_LE(e.retry_ms, 200u);
  }
}

TEST_F(TimingTest, MaxAttemptsCountsOnlyFailuresInARow) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=1&ids=0"), rec);
  ASSERT_EQ(ssekit_stream_set_max_attempts(s.get(), 1), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(5));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  for (const auto& e : rec.Get(&Recorder::errors)) EXPECT_EQ(e.will_retry, 1);
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_CLOSED});
}

TEST_F(TimingTest, AFarRetryAfterIsCappedAtTenMinutes) {
  Recorder rec;
  StreamPtr s = NewStream(
      Url("/status/503?retry_after=" + UrlEncode("Fri, 31 Dec 9999 23:59:59 GMT")), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(1));
  std::this_thread::sleep_for(milliseconds(500));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  auto errors = rec.Get(&Recorder::errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].will_retry, 1);
  EXPECT_EQ(errors[0].retry_ms, 600000u);
  EXPECT_EQ(server().Requests("/status/503").size(), 1u);
}

TEST_F(TimingTest, TheRetryAfterCapIsASetting) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/status/503?retry_after=3600"), rec);
  ASSERT_EQ(ssekit_stream_set_max_retry_after(s.get(), 300), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(2));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  auto errors = rec.Get(&Recorder::errors);
  EXPECT_EQ(errors[0].retry_ms, 300u);
  auto reqs = server().Requests("/status/503");
  ASSERT_GE(reqs.size(), 2u);
  EXPECT_GE(GapMs(reqs[0], reqs[1]), 250.0);
}

double ProcessCpuMs() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

TEST_F(TimingTest, HugeTimeoutsMeanForeverWithoutSpinning) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=1&end=hang"), rec);
  ASSERT_EQ(ssekit_stream_set_read_timeout(s.get(), UINT64_MAX), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_connect_timeout(s.get(), UINT64_MAX), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(1));
  const double before = ProcessCpuMs();
  std::this_thread::sleep_for(milliseconds(1000));
  const double used = ProcessCpuMs() - before;
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  ExpectNoErrors(rec);
  // An idle stream: a spinning loop thread would use the whole second.
  EXPECT_LT(used, 400.0);
}

// ------------------------------------------------------ limits and memory

using LimitTest = ClientTest;

TEST_F(LimitTest, AnIdTooLongToSendIsNotSentAndTheStreamGoesOn) {
  Recorder rec;
  // 1.1 MiB: legal for the parser, over libcurl's 1 MiB request limit.
  StreamPtr s = NewStream(Url("/oversize?field=id&bytes=1153434&tail=0"), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  auto reqs = WaitRequests("/oversize", 3);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  for (const auto& r : reqs) EXPECT_FALSE(HasHeader(r, "last-event-id"));
  for (const auto& e : rec.Get(&Recorder::errors)) {
    EXPECT_EQ(e.code, SSEKIT_E_STREAM_ENDED) << e.message;
  }
  auto events = rec.Get(&Recorder::events);
  ASSERT_GE(events.size(), 1u);
  EXPECT_EQ(events[0].id.size(), 1153434u);
}

TEST_F(LimitTest, AGiantResponseHeaderLineIsNotOutOfMemory) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/big-headers?line_bytes=67108864"), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(2, milliseconds(10000)));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  for (const auto& e : rec.Get(&Recorder::errors)) {
    EXPECT_EQ(e.code, SSEKIT_E_RESPONSE_TOO_LARGE) << e.message;
    EXPECT_EQ(e.will_retry, 1);
  }
}

TEST_F(LimitTest, TooManyResponseHeaderBytesAreBounded) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/big-headers?line_bytes=1000&lines=400"), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(1));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  auto errors = rec.Get(&Recorder::errors);
  EXPECT_EQ(errors[0].code, SSEKIT_E_RESPONSE_TOO_LARGE) << errors[0].message;
  EXPECT_EQ(errors[0].will_retry, 1);
  EXPECT_TRUE(rec.Get(&Recorder::opens).empty());
}

TEST_F(LimitTest, AURLOverLibcurlsLimitFailsWithARequestError) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?pad=" + std::string(9000000, 'a')), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_REQUEST});
  auto errors = rec.Get(&Recorder::errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("URL"), std::string::npos) << errors[0].message;
}

TEST_F(LimitTest, HeadersOverLibcurlsRequestLimitFailWithARequestError) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events"), rec);
  const std::string big(2 * 1024 * 1024, 'v');
  ASSERT_EQ(ssekit_stream_add_header(s.get(), "X-Big", big.c_str()), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_REQUEST});
  EXPECT_EQ(server().Requests("/events").size(), 0u);
}

// -------------------------------------------------- robustness in the code

using RobustnessTest = ClientTest;

TEST_F(RobustnessTest, AnExceptionFromACallbackEndsTheStreamWithoutUnwindingLibcurl) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=3"), rec);
  rec.event_hook = [](Recorder&, const RecEvent&) -> int { throw std::runtime_error("boom"); };
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_CALLBACK});
}

TEST_F(RobustnessTest, BadAllocFromACallbackIsOutOfMemory) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=3"), rec);
  rec.event_hook = [](Recorder&, const RecEvent&) -> int { throw std::bad_alloc(); };
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_NOMEM});
}

struct FreeInCallback {
  ssekit_stream* s = nullptr;
  std::atomic<uint64_t> events_in_closed{0};
  std::atomic<int> closed_code{1};
  std::atomic<bool> done{false};
};

int FreeOnEvent(const ssekit_event*, void* userdata) {
  auto* f = static_cast<FreeInCallback*>(userdata);
  ssekit_stream_free(f->s);
  return 0;
}

void ReadOnClosed(int code, void* userdata) {
  auto* f = static_cast<FreeInCallback*>(userdata);
  // The handle is still valid here: it is released after `closed`.
  f->events_in_closed = ssekit_stream_metric(f->s, SSEKIT_METRIC_EVENTS);
  char buf[64];
  size_t len = 0;
  EXPECT_EQ(ssekit_stream_url(f->s, buf, sizeof buf, &len), SSEKIT_OK);
  f->closed_code = code;
  f->done = true;
}

TEST_F(RobustnessTest, FreeingInsideACallbackKeepsTheHandleUntilClosed) {
  FreeInCallback f;
  f.s = ssekit_stream_new(Url("/events?count=3").c_str());
  ASSERT_NE(f.s, nullptr);
  ASSERT_EQ(ssekit_stream_set_proxy(f.s, ""), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_userdata(f.s, &f), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_on_event(f.s, &FreeOnEvent), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_on_closed(f.s, &ReadOnClosed), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(f.s), SSEKIT_OK);
  ASSERT_TRUE(PollUntil([&] { return f.done.load(); }));
  EXPECT_EQ(f.events_in_closed.load(), 1u);
  EXPECT_EQ(f.closed_code.load(), SSEKIT_E_CLOSED);
}

TEST_F(RobustnessTest, HeaderLinesThatKeepComingHoldOffTheReadTimeout) {
  // Seven lines 300 ms apart: 2.1 s of headers, never 1 s without a line.
  Recorder rec;
  StreamPtr s = NewStream(Url("/slow-headers?unit=line&delay_ms=300"), rec);
  ASSERT_EQ(ssekit_stream_set_read_timeout(s.get(), 1000), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(1, milliseconds(8000)));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  for (const auto& e : rec.Get(&Recorder::errors)) {
    EXPECT_NE(e.code, SSEKIT_E_READ_TIMEOUT) << e.message;
  }
}

TEST_F(RobustnessTest, AHeaderLineTrickledByteByByteCountsAsOneArrival) {
  // As documented: the read timeout counts complete header lines, so a
  // 17-byte status line sent 100 ms a byte is 1.7 s without one.
  Recorder rec;
  StreamPtr s = NewStream(Url("/slow-headers?unit=byte&delay_ms=100"), rec);
  ASSERT_EQ(ssekit_stream_set_read_timeout(s.get(), 1000), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(1, milliseconds(5000)));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  auto errors = rec.Get(&Recorder::errors);
  EXPECT_EQ(errors[0].code, SSEKIT_E_READ_TIMEOUT) << errors[0].message;
  EXPECT_EQ(errors[0].will_retry, 1);
}

TEST_F(RobustnessTest, DedupeWithLongIdsStillSkipsReplays) {
  // Connections replaying the same 30 KB-id event: delivered once.
  Recorder rec;
  StreamPtr s = NewStream(Url("/oversize?field=id&bytes=30000&tail=0"), rec);
  ASSERT_EQ(ssekit_stream_set_dedupe(s.get(), 1), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  WaitRequests("/oversize", 3);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  EXPECT_EQ(rec.EventCount(), 1u);
  EXPECT_GE(ssekit_stream_metric(s.get(), SSEKIT_METRIC_DEDUPED), 1u);
}

}  // namespace
}  // namespace ssekit_test
