// Runs tests/server/sse_test_server.py as a child process and talks to its
// /_requests log, so client tests can check what really went over the wire.

#ifndef SSEKIT_TESTS_CLIENT_SERVER_FIXTURE_H
#define SSEKIT_TESTS_CLIENT_SERVER_FIXTURE_H

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/child_process.h"

namespace ssekit_test {

struct ServerOptions {
  bool tls = false;
  // Also listen on 127.0.0.2 (same port), for cross-host redirects.
  bool also_host = false;
};

class TestServer {
 public:
  // Starts the server and waits until it is listening. Failures are
  // reported by ok() and error(), so a suite can assert on them.
  explicit TestServer(const ServerOptions& options);
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  int port() const { return port_; }
  bool tls() const { return tls_; }
  // The PEM file a client must trust when tls() is true.
  const std::string& ca_file() const { return ca_file_; }
  // A client certificate (PEM) and its key, signed by the same CA; the
  // server's /echo reports its CN. Empty unless tls().
  const std::string& client_cert() const { return client_cert_; }
  const std::string& client_key() const { return client_key_; }
  // scheme://host:port + path (path starts with '/').
  std::string Url(const std::string& path,
                  const std::string& host = "127.0.0.1") const;

  // A plain-HTTP GET of target on 127.0.0.1; returns the body and stores
  // the status. Not available on a TLS server.
  std::string Get(const std::string& target, int* status) const;
  // The recorded requests (see the server's /_requests), optionally only
  // those for one path. An empty array on failure, with a test failure.
  nlohmann::json Requests(const std::string& path = "") const;
  // Clears the request log and the /flaky counters.
  void Reset() const;

 private:
  void Start(const ServerOptions& options);

  std::string error_;
  ssekit_test_support::ChildProcess child_;
  int port_ = 0;
  bool tls_ = false;
  std::string scheme_ = "http";
  std::string ca_file_;
  std::string client_cert_;
  std::string client_key_;
};

// The header value of a recorded request (lower-case name), or "" and false.
bool RequestHeader(const nlohmann::json& request, const std::string& name,
                   std::string* value);

// The server decodes request headers as Latin-1; this turns such a string
// (as UTF-8 from JSON) back into the raw bytes that were on the wire.
std::string Latin1ToBytes(const std::string& utf8);

// Percent-encodes every byte except unreserved characters.
std::string UrlEncode(const std::string& text);

}  // namespace ssekit_test

#endif  // SSEKIT_TESTS_CLIENT_SERVER_FIXTURE_H
