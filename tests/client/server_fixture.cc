#include "server_fixture.h"

#include <gtest/gtest.h>

#include <exception>

#include "support/net.h"

namespace ssekit_test {
namespace {

// TLS start-up generates certificates with the openssl tool, which can take
// a few seconds on a busy machine.
constexpr auto kReadyTimeout = std::chrono::seconds(30);

}  // namespace

TestServer::TestServer(const ServerOptions& options)
    : child_("ssekit-client-test") {
  Start(options);
}

TestServer::~TestServer() = default;

void TestServer::Start(const ServerOptions& options) {
  tls_ = options.tls;
  scheme_ = tls_ ? "https" : "http";
  const std::string ready = child_.dir() + "/ready.json";
  std::vector<std::string> args = {SSEKIT_TEST_PYTHON,
                                   SSEKIT_TEST_SERVER_SCRIPT,
                                   "--port",
                                   "0",
                                   "--ready-file",
                                   ready,
                                   "--cert-dir",
                                   child_.dir(),
                                   "--watch-stdin"};
  if (options.tls) args.emplace_back("--tls");
  if (options.also_host) {
    args.emplace_back("--also-host");
    args.emplace_back("127.0.0.2");
  }
  error_ = child_.Spawn(args, ssekit_test_support::SpawnOptions{});
  if (!error_.empty()) return;

  using Wait = ssekit_test_support::ChildProcess::WaitResult;
  int status = 0;
  const Wait waited = child_.WaitForFile(ready, kReadyTimeout, &status);
  if (waited == Wait::kExited) {
    error_ = "test server exited before it was ready (status " +
             std::to_string(status) + ")";
    return;
  }
  if (waited == Wait::kTimedOut) {
    error_ = "test server did not become ready in time";
    return;
  }
  try {
    auto info = nlohmann::json::parse(ssekit_test_support::ReadFirstLine(ready));
    port_ = info.at("port").get<int>();
    ca_file_ = info.at("ca_file").get<std::string>();
    client_cert_ = info.value("client_cert", std::string());
    client_key_ = info.value("client_key", std::string());
  } catch (const std::exception& e) {
    error_ = std::string("bad ready file: ") + e.what();
  }
}

std::string TestServer::Url(const std::string& path,
                            const std::string& host) const {
  return scheme_ + "://" + host + ":" + std::to_string(port_) + path;
}

std::string TestServer::Get(const std::string& target, int* status) const {
  *status = 0;
  if (tls_ || port_ == 0) return "";
  ssekit_test_support::HttpReply reply =
      ssekit_test_support::HttpGet(port_, target);
  *status = reply.status;
  return reply.body;
}

nlohmann::json TestServer::Requests(const std::string& path) const {
  int status = 0;
  std::string body =
      Get(path.empty() ? "/_requests" : "/_requests?path=" + UrlEncode(path),
          &status);
  EXPECT_EQ(status, 200) << "GET /_requests failed";
  if (status != 200) return nlohmann::json::array();
  try {
    return nlohmann::json::parse(body);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "bad /_requests body: " << e.what();
    return nlohmann::json::array();
  }
}

void TestServer::Reset() const {
  int status = 0;
  Get("/_reset", &status);
  EXPECT_EQ(status, 200) << "GET /_reset failed";
}

bool RequestHeader(const nlohmann::json& request, const std::string& name,
                   std::string* value) {
  const auto& map = request.at("header_map");
  auto it = map.find(name);
  if (it == map.end()) {
    value->clear();
    return false;
  }
  *value = it->get<std::string>();
  return true;
}

std::string Latin1ToBytes(const std::string& utf8) {
  std::string out;
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if ((c & 0xE0) == 0xC0 && i + 1 < utf8.size()) {
      auto c2 = static_cast<unsigned char>(utf8[++i]);
      out.push_back(static_cast<char>(((c & 0x1F) << 6) | (c2 & 0x3F)));
    } else {
      // Not a Latin-1 code point: keep a marker that never matches raw bytes.
      out.append("<?>");
    }
  }
  return out;
}

std::string UrlEncode(const std::string& text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace ssekit_test
