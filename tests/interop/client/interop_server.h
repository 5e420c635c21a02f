// The interoperability servers (tests/interop/launch.py) as child processes,
// a blocking HTTP GET for their plain routes, and a TCP relay that records
// what a client really sends.

#ifndef SSEKIT_TESTS_INTEROP_CLIENT_INTEROP_SERVER_H
#define SSEKIT_TESTS_INTEROP_CLIENT_INTEROP_SERVER_H

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/child_process.h"
#include "support/net.h"

namespace ssekit_interop {

using ssekit_test_support::HeadHeader;
using ssekit_test_support::HttpGet;
using ssekit_test_support::HttpReply;

class InteropServer {
 public:
  // Starts server `name` ("starlette" or "better-sse") on a free port of
  // 127.0.0.1 and waits until it listens. Failures are reported by ok() and
  // error(), so a test can assert on them.
  explicit InteropServer(std::string name);
  ~InteropServer();
  InteropServer(const InteropServer&) = delete;
  InteropServer& operator=(const InteropServer&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& name() const { return name_; }
  int port() const { return port_; }
  // http://127.0.0.1:port + path (path starts with '/').
  std::string Url(const std::string& path) const;
  // What the server printed so far, for failure messages.
  std::string Log() const;

 private:
  void Start();

  std::string name_;
  std::string error_;
  ssekit_test_support::ChildProcess child_;
  int port_ = 0;
};

// One request as the relay saw it: the request line split up, and the head
// (request line and header lines, CRLF-separated, without the blank line).
struct TappedRequest {
  std::string method;
  std::string target;
  std::string head;
  std::string body;
};

// Listens on a free port of 127.0.0.1 and relays every connection, byte for
// byte and both ways, to 127.0.0.1:upstream_port, keeping a copy of what the
// client sent. Half-closes are passed on, so HTTP framing is unchanged.
class WireTap {
 public:
  explicit WireTap(int upstream_port);
  ~WireTap();
  WireTap(const WireTap&) = delete;
  WireTap& operator=(const WireTap&) = delete;

  bool ok() const { return listen_fd_ >= 0; }
  std::string Url(const std::string& path) const;
  // Every request received so far, in order of connection, then of arrival.
  std::vector<TappedRequest> Requests() const;

 private:
  void Run();

  int upstream_port_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<std::string> sent_;  // client bytes, one string per connection
};

}  // namespace ssekit_interop

#endif  // SSEKIT_TESTS_INTEROP_CLIENT_INTEROP_SERVER_H
