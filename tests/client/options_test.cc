// Stream options that reach into libcurl: cookies, proxies, the connect
// timeout, client certificates and a CA directory.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "client_test.h"
#include "support/child_process.h"

extern char** environ;

namespace ssekit_test {
namespace {

using ssekit_test_support::TempDir;

bool WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  return static_cast<bool>(out.flush());
}

// The events of an /echo response, by type.
std::map<std::string, std::string> EchoEvents(Recorder& rec) {
  std::map<std::string, std::string> out;
  for (const auto& e : rec.Get(&Recorder::events)) out[e.type] = e.data;
  return out;
}

// The request headers /echo reflected, lower-case names.
nlohmann::json EchoHeaders(Recorder& rec) {
  const auto events = EchoEvents(rec);
  const auto it = events.find("headers");
  if (it == events.end()) return nlohmann::json::object();
  auto parsed = nlohmann::json::parse(it->second, nullptr, false);
  return parsed.is_object() ? parsed : nlohmann::json::object();
}

// Runs a program found in PATH, its output discarded; its exit status, or
// -1 if it could not be run or did not exit normally.
int RunProgram(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc =
      posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Sets (or, with nullptr, removes) an environment variable for the lifetime
// of the object, then restores the old value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      setenv(name_.c_str(), old_.c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::string old_;
  bool had_ = false;
};

struct UniqueFd {
  explicit UniqueFd(int f) : fd(f) {}
  ~UniqueFd() {
    if (fd >= 0) close(fd);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int fd;
};

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

int LocalPort(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  return ntohs(addr.sin_port);
}

// A loopback TCP socket bound to a free port; with `listening` false it
// never listens, so connecting to the port is refused.
int BoundSocket(bool listening, int backlog) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const sockaddr_in addr = Loopback(0);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      (listening && listen(fd, backlog) != 0)) {
    close(fd);
    return -1;
  }
  return fd;
}

// Starts a non-blocking connect to 127.0.0.1:port; the socket, or -1.
int StartConnect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  const sockaddr_in addr = Loopback(port);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 &&
      errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

// A loopback listener that never accepts, with its accept queue full: Linux
// then drops new SYNs, so a connect neither succeeds nor fails until the
// client gives up. Nothing leaves the machine.
class FullBacklogListener {
 public:
  FullBacklogListener() {
    listen_fd_ = BoundSocket(true, 0);
    if (listen_fd_ < 0) {
      error_ = std::string("listener: ") + std::strerror(errno);
      return;
    }
    port_ = LocalPort(listen_fd_);
    // A backlog of 0 still queues one connection; the first filler takes
    // that place, the others sit in SYN-SENT like the client will.
    for (int i = 0; i < 3; ++i) {
      const int fd = StartConnect(port_);
      if (fd < 0) {
        error_ = std::string("filler connect: ") + std::strerror(errno);
        return;
      }
      fillers_.push_back(fd);
      if (i == 0 && !Connected(fd, 2000)) {
        error_ = "the first connection to the listener did not complete";
        return;
      }
    }
    const int probe = StartConnect(port_);
    if (probe < 0) {
      error_ = std::string("probe connect: ") + std::strerror(errno);
      return;
    }
    if (Connected(probe, 300)) {
      error_ = "a connection to the full listener still completed";
    }
    close(probe);
  }
  ~FullBacklogListener() {
    for (int fd : fillers_) close(fd);
    if (listen_fd_ >= 0) close(listen_fd_);
  }
  FullBacklogListener(const FullBacklogListener&) = delete;
  FullBacklogListener& operator=(const FullBacklogListener&) = delete;

  const std::string& error() const { return error_; }
  int port() const { return port_; }

 private:
  // Whether a non-blocking connect completes within timeout_ms.
  static bool Connected(int fd, int timeout_ms) {
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, timeout_ms) != 1) return false;
    int err = 0;
    socklen_t len = sizeof err;
    return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::vector<int> fillers_;
  std::string error_;
};

// ------------------------------------------------------------------ cookies

class CookieTest : public ClientTest {
 protected:
  // Streams /echo with a cookie file holding `content`; the request must
  // carry exactly `want` as its Cookie header.
  static void ExpectCookieFileSent(const std::string& content,
                                   const std::string& want) {
    TempDir dir("ssekit-cookies");
    ASSERT_TRUE(dir.ok()) << dir.error();
    const std::string jar = dir.path() + "/cookies.txt";
    ASSERT_TRUE(WriteFile(jar, content));
    Recorder rec;
    StreamPtr s = NewStream(Url("/echo"), rec);
    ASSERT_EQ(ssekit_stream_set_cookie_file(s.get(), jar.c_str()), SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
    ASSERT_TRUE(rec.WaitClosed());

    EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
    const auto echoed = EchoHeaders(rec);
    EXPECT_EQ(echoed.value("cookie", "<none>"), want) << echoed.dump();
    auto reqs = server().Requests("/echo");
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(Header(reqs[0], "cookie"), want);
  }
};

TEST_F(CookieTest, NetscapeCookieFileCookiesAreSent) {
  ExpectCookieFileSent(
      "# Netscape HTTP Cookie File\n"
      "127.0.0.1\tFALSE\t/\tFALSE\t0\tname\tvalue\n"
      "example.com\tFALSE\t/\tFALSE\t0\tforeign\tno\n",
      "name=value");
}

TEST_F(CookieTest, HeaderFormatCookieFileCookiesAreSent) {
  ExpectCookieFileSent(
      "Set-Cookie: name=value; Domain=127.0.0.1; Path=/\n"
      "Set-Cookie: foreign=no; Domain=example.com; Path=/\n",
      "name=value");
}

TEST_F(CookieTest, EmptyJarKeepsACookieTheServerSetsForTheReconnect) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/echo?set_cookie=" + UrlEncode("session=abc")),
                          rec);
  ASSERT_EQ(ssekit_stream_set_cookie_file(s.get(), ""), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  auto reqs = WaitRequests("/echo", 2);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  ASSERT_GE(reqs.size(), 2u);
  EXPECT_FALSE(HasHeader(reqs[0], "cookie")) << Header(reqs[0], "cookie");
  EXPECT_EQ(Header(reqs[1], "cookie"), "session=abc");
}

// The jar is the cookie file's contents plus what the server sent since: a
// reconnect must carry the server's newer value, not the file's again.
TEST_F(CookieTest, ServerCookieReplacesTheFileCookieOnReconnect) {
  TempDir dir("ssekit-cookies");
  ASSERT_TRUE(dir.ok()) << dir.error();
  const std::string jar = dir.path() + "/cookies.txt";
  ASSERT_TRUE(WriteFile(jar, "127.0.0.1\tFALSE\t/\tFALSE\t0\tname\told\n"));
  Recorder rec;
  StreamPtr s = NewStream(
      Url("/echo?set_cookie=" + UrlEncode("name=new; Path=/")), rec);
  ASSERT_EQ(ssekit_stream_set_cookie_file(s.get(), jar.c_str()), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  auto reqs = WaitRequests("/echo", 2);
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  ASSERT_GE(reqs.size(), 2u);
  EXPECT_EQ(Header(reqs[0], "cookie"), "name=old");
  EXPECT_EQ(Header(reqs[1], "cookie"), "name=new");
}

// -------------------------------------------------------------------- proxy

using ProxyTest = ClientTest;

// The test server routes absolute-form targets by their path, so it can
// play the proxy; the .invalid host could never be reached directly.
TEST_F(ProxyTest, RequestsGoThroughTheNamedProxy) {
  const std::string target = "http://ssekit-proxy-test.invalid/echo?via=proxy";
  const std::string proxy = "http://127.0.0.1:" + std::to_string(server().port());
  Recorder rec;
  StreamPtr s = NewStream(target, rec);
  ASSERT_EQ(ssekit_stream_set_proxy(s.get(), proxy.c_str()), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  ExpectNoErrors(rec);
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  const auto events = EchoEvents(rec);
  ASSERT_EQ(events.count("target"), 1u);
  EXPECT_EQ(events.at("target"), target);
  auto reqs = server().Requests("/echo");
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0]["target"], target);
  EXPECT_EQ(Header(reqs[0], "host"), "ssekit-proxy-test.invalid");
}

TEST_F(ProxyTest, EmptyProxyIgnoresTheProxyEnvironmentVariable) {
  // Bound but not listening: connecting to it is refused.
  const UniqueFd dead(BoundSocket(false, 0));
  ASSERT_GE(dead.fd, 0) << std::strerror(errno);
  const std::string dead_proxy =
      "http://127.0.0.1:" + std::to_string(LocalPort(dead.fd));
  {
    ScopedEnv http_proxy("http_proxy", dead_proxy.c_str());
    ScopedEnv no_proxy("no_proxy", nullptr);
    ScopedEnv no_proxy_upper("NO_PROXY", nullptr);

    // Without set_proxy the variable is obeyed, so the dead proxy fails the
    // connection and the server sees nothing.
    Recorder obeyed;
    StreamPtr plain(ssekit_stream_new(Url("/echo").c_str()));
    ASSERT_TRUE(plain);
    ASSERT_TRUE(obeyed.Attach(plain.get()));
    ASSERT_EQ(ssekit_stream_set_initial_delay(plain.get(), kInitialDelayMs),
              SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_set_on_end(plain.get(), SSEKIT_END_FINISH),
              SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_start(plain.get()), SSEKIT_OK);
    ASSERT_TRUE(obeyed.WaitErrors(1));
    ASSERT_EQ(ssekit_stream_close(plain.get()), SSEKIT_OK);
    auto errors = obeyed.Get(&Recorder::errors);
    EXPECT_EQ(errors[0].code, SSEKIT_E_NETWORK) << errors[0].message;
    EXPECT_TRUE(obeyed.Get(&Recorder::events).empty());
    EXPECT_EQ(server().Requests("/echo").size(), 0u);

    Recorder rec;
    StreamPtr s = NewStream(Url("/echo"), rec);
    ASSERT_EQ(ssekit_stream_set_proxy(s.get(), ""), SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
    ASSERT_TRUE(rec.WaitClosed());
    ExpectNoErrors(rec);
    EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
    EXPECT_EQ(EchoEvents(rec)["target"], "/echo");
  }
  auto reqs = server().Requests("/echo");
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0]["target"], "/echo");
}

// ---------------------------------------------------------- connect timeout

using ConnectTimeoutTest = ClientTest;

TEST_F(ConnectTimeoutTest, UnansweredConnectTimesOutAfterTheConnectTimeout) {
  FullBacklogListener listener;
  ASSERT_EQ(listener.error(), "");
  Recorder rec;
  StreamPtr s = NewStream(
      "http://127.0.0.1:" + std::to_string(listener.port()) + "/events", rec);
  ASSERT_EQ(ssekit_stream_set_connect_timeout(s.get(), 200), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_max_attempts(s.get(), 1), SSEKIT_OK);
  const auto started = Clock::now();
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  auto errors = rec.Get(&Recorder::errors);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].code, SSEKIT_E_CONNECT_TIMEOUT) << errors[0].message;
  EXPECT_EQ(errors[0].will_retry, 1);
  EXPECT_EQ(errors[0].http_status, 0);
  const auto first_ms =
      std::chrono::duration_cast<milliseconds>(errors[0].at - started).count();
  // A little slack below 200 ms for timer granularity; a failure that does
  // not wait for the timeout at all comes in far below that.
  EXPECT_GE(first_ms, 190);
  EXPECT_LT(first_ms, 2000);
  // The one reconnect allowed times out as well and ends the stream.
  EXPECT_EQ(errors[1].code, SSEKIT_E_RETRIES_EXHAUSTED) << errors[1].message;
  EXPECT_EQ(errors[1].will_retry, 0);
  EXPECT_EQ(rec.Get(&Recorder::closed),
            std::vector<int>{SSEKIT_E_RETRIES_EXHAUSTED});
  EXPECT_TRUE(rec.Get(&Recorder::opens).empty());
}

// ------------------------------------------------------- client certificate

using ClientCertTest = TlsClientTest;

TEST_F(ClientCertTest, ServerSeesTheClientCertificate) {
  ASSERT_FALSE(server().client_cert().empty());
  ASSERT_FALSE(server().client_key().empty());
  Recorder rec;
  StreamPtr s = NewStream(Url("/echo"), rec);
  ASSERT_EQ(ssekit_stream_set_ca_file(s.get(), server().ca_file().c_str()),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_client_cert(s.get(),
                                          server().client_cert().c_str(),
                                          server().client_key().c_str()),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  ExpectNoErrors(rec);
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  const auto events = EchoEvents(rec);
  ASSERT_EQ(events.count("client_cert"), 1u);
  EXPECT_EQ(events.at("client_cert"), "ssekit test client");
}

TEST_F(ClientCertTest, WithoutOneTheServerSeesNone) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/echo"), rec);
  ASSERT_EQ(ssekit_stream_set_ca_file(s.get(), server().ca_file().c_str()),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  const auto events = EchoEvents(rec);
  ASSERT_EQ(events.count("client_cert"), 1u);
  EXPECT_EQ(events.at("client_cert"), "");
}

// ------------------------------------------------------------ CA directory

using CaPathTest = TlsClientTest;

TEST_F(CaPathTest, VerifiesTheServerWithAHashedCaDirectory) {
  TempDir dir("ssekit-capath");
  ASSERT_TRUE(dir.ok()) << dir.error();
  std::error_code ec;
  std::filesystem::copy_file(server().ca_file(), dir.path() + "/test-ca.pem",
                             ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_EQ(RunProgram({"openssl", "rehash", dir.path()}), 0)
      << "openssl rehash failed";
  // OpenSSL finds a CA in a directory by the <subject hash>.0 link only.
  bool hashed = false;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 2 && name.compare(name.size() - 2, 2, ".0") == 0) {
      hashed = true;
    }
  }
  ASSERT_TRUE(hashed) << "no hash link in " << dir.path();

  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=2"), rec);
  ASSERT_EQ(ssekit_stream_set_ca_path(s.get(), dir.path().c_str()), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  ExpectNoErrors(rec);
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  EXPECT_EQ(rec.Ids(), (std::vector<std::string>{"1", "2"}));
}

TEST_F(CaPathTest, EmptyCaDirectoryFailsWithTlsError) {
  TempDir dir("ssekit-capath");
  ASSERT_TRUE(dir.ok()) << dir.error();
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=2"), rec);
  ASSERT_EQ(ssekit_stream_set_ca_path(s.get(), dir.path().c_str()), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(1));
  auto errors = rec.Get(&Recorder::errors);
  EXPECT_EQ(errors[0].code, SSEKIT_E_TLS) << errors[0].message;
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

}  // namespace
}  // namespace ssekit_test
