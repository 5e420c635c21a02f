// Shared pieces of the client tests: a suite fixture owning one test server,
// handle wrappers, and small helpers for reading the server's request log.

#ifndef SSEKIT_TESTS_CLIENT_CLIENT_TEST_H
#define SSEKIT_TESTS_CLIENT_CLIENT_TEST_H

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "recorder.h"
#include "server_fixture.h"
#include "ssekit.h"

namespace ssekit_test {

struct StreamDeleter {
  void operator()(ssekit_stream* s) const { ssekit_stream_free(s); }
};
using StreamPtr = std::unique_ptr<ssekit_stream, StreamDeleter>;

struct LoopDeleter {
  void operator()(ssekit_loop* l) const { ssekit_loop_free(l); }
};
using LoopPtr = std::unique_ptr<ssekit_loop, LoopDeleter>;

// Short delays keep reconnect tests fast; individual tests override them.
// The floor is lowered below them too (its default, 250 ms, has tests of
// its own).
constexpr std::uint64_t kMinDelayMs = 10;
constexpr std::uint64_t kInitialDelayMs = 20;
constexpr std::uint64_t kMaxDelayMs = 200;

// Polls pred every few milliseconds until it holds or the timeout passes,
// for state that no callback announces (the server's log, metrics).
template <class Pred>
bool PollUntil(Pred pred, milliseconds timeout = milliseconds(5000)) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

// Fails the test once per error callback the stream made.
inline void ExpectNoErrors(Recorder& rec) {
  for (const auto& e : rec.Get(&Recorder::errors)) {
    ADD_FAILURE() << "unexpected error " << e.code << ": " << e.message;
  }
}

inline std::string StreamUrl(const ssekit_stream* s) {
  char buf[2048];
  std::size_t len = 0;
  if (ssekit_stream_url(s, buf, sizeof buf, &len) != SSEKIT_OK) return "<error>";
  return std::string(buf, len);
}

inline std::string StreamLastId(const ssekit_stream* s) {
  char buf[1024];
  std::size_t len = 0;
  if (ssekit_stream_last_event_id(s, buf, sizeof buf, &len) != SSEKIT_OK) {
    return "<error>";
  }
  return std::string(buf, len);
}

inline std::string Header(const nlohmann::json& request,
                          const std::string& name) {
  std::string value;
  RequestHeader(request, name, &value);
  return value;
}

inline bool HasHeader(const nlohmann::json& request, const std::string& name) {
  std::string value;
  return RequestHeader(request, name, &value);
}

// Milliseconds between two recorded requests, by the server's clock.
inline double GapMs(const nlohmann::json& earlier, const nlohmann::json& later) {
  return static_cast<double>(later.at("time_ns").get<std::int64_t>() -
                             earlier.at("time_ns").get<std::int64_t>()) /
         1e6;
}

// The entries of log that start with prefix, in order.
inline std::vector<std::string> Filter(const std::vector<std::string>& log,
                                       const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& e : log) {
    if (e.compare(0, prefix.size(), prefix) == 0) out.push_back(e);
  }
  return out;
}

// Whether want appears in have in order (not necessarily adjacent).
inline bool IsSubsequence(const std::vector<int>& want,
                          const std::vector<int>& have) {
  std::size_t i = 0;
  for (int h : have) {
    if (i < want.size() && h == want[i]) ++i;
  }
  return i == want.size();
}

class ClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { StartServer(ServerOptions{false, true}); }
  static void TearDownTestSuite() { server_.reset(); }

  static void StartServer(const ServerOptions& options) {
    server_ = std::make_unique<TestServer>(options);
  }

  void SetUp() override {
    ASSERT_TRUE(server_) << "no test server";
    ASSERT_TRUE(server_->ok()) << "test server failed: " << server_->error();
    if (!server_->tls()) server_->Reset();
  }

  static TestServer& server() { return *server_; }
  static std::string Url(const std::string& path,
                         const std::string& host = "127.0.0.1") {
    return server_->Url(path, host);
  }

  // A /flaky key no other test uses.
  static std::string Key() {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return std::string(info ? info->name() : "t") + "-" +
           std::to_string(counter.fetch_add(1));
  }

  // A new stream with short delays and no proxy, recorded by rec. Callers
  // may change any setting before starting it.
  static StreamPtr NewStream(const std::string& url, Recorder& rec) {
    StreamPtr s = NewBareStream(url);
    if (s) {
      EXPECT_TRUE(rec.Attach(s.get()));
    }
    return s;
  }

  // The same settings, with no callbacks.
  static StreamPtr NewBareStream(const std::string& url) {
    StreamPtr s(ssekit_stream_new(url.c_str()));
    EXPECT_TRUE(s) << "ssekit_stream_new(" << url << ") failed";
    if (!s) return s;
    EXPECT_EQ(ssekit_stream_set_initial_delay(s.get(), kInitialDelayMs),
              SSEKIT_OK);
    EXPECT_EQ(ssekit_stream_set_min_delay(s.get(), kMinDelayMs), SSEKIT_OK);
    EXPECT_EQ(ssekit_stream_set_max_delay(s.get(), kMaxDelayMs), SSEKIT_OK);
    EXPECT_EQ(ssekit_stream_set_proxy(s.get(), ""), SSEKIT_OK);
    EXPECT_EQ(ssekit_stream_set_connect_timeout(s.get(), 5000), SSEKIT_OK);
    return s;
  }

  // The requests for path, once at least n have arrived (or after the
  // timeout, with a test failure).
  static nlohmann::json WaitRequests(const std::string& path, std::size_t n,
                                     milliseconds timeout = milliseconds(5000)) {
    nlohmann::json reqs = nlohmann::json::array();
    bool ok = PollUntil(
        [&] {
          reqs = server_->Requests(path);
          return reqs.size() >= n;
        },
        timeout);
    EXPECT_TRUE(ok) << "expected at least " << n << " requests for " << path
                    << ", got " << reqs.size();
    return reqs;
  }

  static inline std::unique_ptr<TestServer> server_;
};

// The same tests against an HTTPS server with a generated CA.
class TlsClientTest : public ClientTest {
 protected:
  static void SetUpTestSuite() { StartServer(ServerOptions{true, false}); }
};

}  // namespace ssekit_test

#endif  // SSEKIT_TESTS_CLIENT_CLIENT_TEST_H
