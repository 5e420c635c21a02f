// Blocking loopback TCP and a minimal HTTP/1.1 GET, for asking helper servers
// about their state outside the client under test.

#ifndef SSEKIT_TESTS_SUPPORT_NET_H
#define SSEKIT_TESTS_SUPPORT_NET_H

#include <cstddef>
#include <string>

namespace ssekit_test_support {

// Sends all of data, retrying on EINTR and never raising SIGPIPE; false if
// the connection fails first.
bool SendAll(int fd, const char* data, std::size_t len);

// A close-on-exec TCP socket connected to 127.0.0.1:port, or -1.
int ConnectLoopback(int port);

struct HttpReply {
  int status = 0;  // 0 when the request failed
  std::string head;
  std::string body;  // chunked bodies are decoded
};

// GET target from 127.0.0.1:port on a fresh connection, with a 5 s timeout.
HttpReply HttpGet(int port, const std::string& target);

// The value of header `name` (case-insensitive) in a request or response
// head, or "".
std::string HeadHeader(const std::string& head, const std::string& name);

}  // namespace ssekit_test_support

#endif  // SSEKIT_TESTS_SUPPORT_NET_H
