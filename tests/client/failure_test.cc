// The failure handle: an HTTP error reaches the application with its
// status, headers and the first bytes of its body.

#include <mutex>
#include <string>
#include <vector>

#include "client_test.h"

namespace ssekit_test {
namespace {

struct RecFailure {
  int code = 0;
  int status = 0;
  std::string message;
  int will_retry = 0;
  std::uint64_t retry_ms = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type;  // through ssekit_failure_header
  std::string body;
};

struct Failures {
  std::mutex mu;
  std::vector<RecFailure> all;
  std::vector<int> error_codes;  // from the positional error callback
  std::atomic<int> closed{0};

  std::vector<RecFailure> Get() {
    std::lock_guard<std::mutex> lock(mu);
    return all;
  }
};

void OnFailure(const ssekit_failure* f, void* userdata) {
  auto* r = static_cast<Failures*>(userdata);
  RecFailure rf;
  rf.code = ssekit_failure_code(f);
  rf.status = ssekit_failure_status(f);
  rf.message = ssekit_failure_message(f);
  rf.will_retry = ssekit_failure_will_retry(f);
  rf.retry_ms = ssekit_failure_retry_ms(f);
  for (std::size_t i = 0; i < ssekit_failure_header_count(f); ++i) {
    const char* name = nullptr;
    const char* value = nullptr;
    EXPECT_EQ(ssekit_failure_header_at(f, i, &name, &value), SSEKIT_OK);
    rf.headers.emplace_back(name, value);
  }
  EXPECT_EQ(ssekit_failure_header_at(f, ssekit_failure_header_count(f), nullptr, nullptr),
            SSEKIT_E_INVALID);
  const char* ct = ssekit_failure_header(f, "content-type");
  if (ct != nullptr) rf.content_type = ct;
  std::size_t len = 0;
  const char* body = ssekit_failure_body(f, &len);
  EXPECT_NE(body, nullptr);
  rf.body.assign(body, len);
  std::lock_guard<std::mutex> lock(r->mu);
  r->all.push_back(std::move(rf));
}

void OnError(int code, int, const char*, int, std::uint64_t, void* userdata) {
  auto* r = static_cast<Failures*>(userdata);
  std::lock_guard<std::mutex> lock(r->mu);
  r->error_codes.push_back(code);
}

void OnClosed(int, void* userdata) { static_cast<Failures*>(userdata)->closed.fetch_add(1); }

class FailureTest : public ClientTest {
 protected:
  StreamPtr Start(const std::string& path, Failures& f,
                  void (*configure)(ssekit_stream*) = nullptr) {
    StreamPtr s = NewBareStream(Url(path));
    EXPECT_EQ(ssekit_stream_set_userdata(s.get(), &f), SSEKIT_OK);
    EXPECT_EQ(ssekit_stream_on_failure(s.get(), &OnFailure), SSEKIT_OK);
    EXPECT_EQ(ssekit_stream_on_error(s.get(), &OnError), SSEKIT_OK);
    EXPECT_EQ(ssekit_stream_on_closed(s.get(), &OnClosed), SSEKIT_OK);
    if (configure != nullptr) configure(s.get());
    EXPECT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
    return s;
  }
  static bool WaitFailures(Failures& f, std::size_t n) {
    return PollUntil([&] { return f.Get().size() >= n; });
  }
};

TEST_F(FailureTest, AnHttpErrorCarriesItsStatusHeadersAndBody) {
  Failures f;
  const std::string body = R"({"error":{"message":"bad key","type":"invalid_request"}})";
  StreamPtr s = Start("/status/401?ctype=application/json&header=" +
                          UrlEncode("WWW-Authenticate: Bearer realm=\"api\"") +
                          "&body=" + UrlEncode(body),
                      f);
  ASSERT_TRUE(PollUntil([&] { return f.closed.load() == 1; }));
  auto all = f.Get();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].code, SSEKIT_E_HTTP_STATUS);
  EXPECT_EQ(all[0].status, 401);
  EXPECT_EQ(all[0].will_retry, 0);
  EXPECT_EQ(all[0].body, body);
  EXPECT_EQ(all[0].content_type, "application/json");
  bool auth = false;
  for (const auto& h : all[0].headers) {
    if (h.first == "WWW-Authenticate") auth = h.second == "Bearer realm=\"api\"";
  }
  EXPECT_TRUE(auth);
  // The positional error callback saw the same failure.
  EXPECT_EQ(f.error_codes, std::vector<int>{SSEKIT_E_HTTP_STATUS});
}

TEST_F(FailureTest, ARetriedStatusCarriesRetryAfter) {
  Failures f;
  StreamPtr s = Start("/status/429?retry_after=1&body=slow%20down", f);
  ASSERT_TRUE(WaitFailures(f, 1));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  auto all = f.Get();
  EXPECT_EQ(all[0].status, 429);
  EXPECT_EQ(all[0].will_retry, 1);
  EXPECT_GE(all[0].retry_ms, 1000u);
  EXPECT_EQ(all[0].body, "slow down");
  bool retry_after = false;
  for (const auto& h : all[0].headers) retry_after |= h.first == "Retry-After" && h.second == "1";
  EXPECT_TRUE(retry_after);
}

TEST_F(FailureTest, ALargeBodyIsCutAtTheLimit) {
  Failures f;
  StreamPtr s = Start("/status/500?body_bytes=1000000", f);
  ASSERT_TRUE(WaitFailures(f, 1));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  auto all = f.Get();
  EXPECT_EQ(all[0].body, std::string(65536, 'e'));
  EXPECT_EQ(all[0].will_retry, 1);

  Failures small;
  StreamPtr t = Start("/status/500?body_bytes=1000000", small, [](ssekit_stream* st) {
    EXPECT_EQ(ssekit_stream_set_error_body(st, 100, 5000), SSEKIT_OK);
  });
  ASSERT_TRUE(WaitFailures(small, 1));
  ASSERT_EQ(ssekit_stream_close(t.get()), SSEKIT_OK);
  EXPECT_EQ(small.Get()[0].body, std::string(100, 'e'));
}

TEST_F(FailureTest, ABodyThatNeverEndsIsBoundedInTime) {
  Failures f;
  StreamPtr s = Start("/status/503?body_bytes=-1", f, [](ssekit_stream* st) {
    EXPECT_EQ(ssekit_stream_set_error_body(st, 64u << 20, 300), SSEKIT_OK);
  });
  ASSERT_TRUE(WaitFailures(f, 1));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  auto all = f.Get();
  EXPECT_EQ(all[0].code, SSEKIT_E_HTTP_STATUS);
  EXPECT_EQ(all[0].status, 503);
  EXPECT_GT(all[0].body.size(), 0u);
  EXPECT_LT(all[0].body.size(), 64u << 20);
}

TEST_F(FailureTest, AWrongContentTypeCarriesTheResponse) {
  Failures f;
  StreamPtr s = Start("/ctype?value=text/html", f);
  ASSERT_TRUE(PollUntil([&] { return f.closed.load() == 1; }));
  auto all = f.Get();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].code, SSEKIT_E_CONTENT_TYPE);
  EXPECT_EQ(all[0].content_type, "text/html");
  EXPECT_NE(all[0].body.find("data: "), std::string::npos) << all[0].body;
}

TEST_F(FailureTest, ANetworkErrorHasNoResponse) {
  Failures f;
  StreamPtr s = Start("/drop?after=1", f);
  ASSERT_TRUE(WaitFailures(f, 1));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  auto all = f.Get();
  EXPECT_EQ(all[0].code, SSEKIT_E_NETWORK) << all[0].message;
  EXPECT_TRUE(all[0].headers.empty());
  EXPECT_TRUE(all[0].body.empty());
}

TEST_F(FailureTest, ZeroMaxErrorBodyReadsNone) {
  Failures f;
  StreamPtr s = Start("/status/400?body=nope", f, [](ssekit_stream* st) {
    EXPECT_EQ(ssekit_stream_set_error_body(st, 0, 5000), SSEKIT_OK);
  });
  ASSERT_TRUE(PollUntil([&] { return f.closed.load() == 1; }));
  auto all = f.Get();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].status, 400);
  EXPECT_TRUE(all[0].body.empty());
}

TEST_F(FailureTest, NullFailureAccessorsAreSafe) {
  std::size_t len = 7;
  EXPECT_EQ(ssekit_failure_code(nullptr), SSEKIT_E_INVALID);
  EXPECT_EQ(ssekit_failure_status(nullptr), 0);
  EXPECT_STREQ(ssekit_failure_message(nullptr), "");
  EXPECT_EQ(ssekit_failure_header(nullptr, "x"), nullptr);
  EXPECT_EQ(ssekit_failure_header_count(nullptr), 0u);
  EXPECT_STREQ(ssekit_failure_body(nullptr, &len), "");
  EXPECT_EQ(len, 0u);
}

}  // namespace
}  // namespace ssekit_test
