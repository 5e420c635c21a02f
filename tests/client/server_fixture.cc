#include "server_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace ssekit_test {
namespace {

using Clock = std::chrono::steady_clock;

// TLS start-up generates certificates with the openssl tool, which can take
// a few seconds on a busy machine.
constexpr auto kReadyTimeout = std::chrono::seconds(30);
constexpr auto kExitTimeout = std::chrono::seconds(5);

std::string TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") +
                        "/ssekit-client-test-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return "";
  return std::string(buf.data());
}

bool SendAll(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

TestServer::TestServer(const ServerOptions& options) { Start(options); }

TestServer::~TestServer() { Stop(); }

void TestServer::Start(const ServerOptions& options) {
  tls_ = options.tls;
  scheme_ = tls_ ? "https" : "http";
  dir_ = TempDir();
  if (dir_.empty()) {
    error_ = std::string("mkdtemp: ") + std::strerror(errno);
    return;
  }
  const std::string ready = dir_ + "/ready.json";
  std::vector<std::string> args = {SSEKIT_TEST_PYTHON,
                                   SSEKIT_TEST_SERVER_SCRIPT,
                                   "--port",
                                   "0",
                                   "--ready-file",
                                   ready,
                                   "--cert-dir",
                                   dir_,
                                   "--watch-stdin"};
  if (options.tls) args.emplace_back("--tls");
  if (options.also_host) {
    args.emplace_back("--also-host");
    args.emplace_back("127.0.0.2");
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // The server exits when its stdin reaches end of file, so it dies with
  // this process however the test ends.
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    error_ = std::string("pipe2: ") + std::strerror(errno);
    return;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[0]);
  stdin_fd_ = fds[1];
  if (rc != 0) {
    pid_ = -1;
    error_ = std::string("posix_spawn ") + argv[0] + ": " + std::strerror(rc);
    return;
  }

  const auto deadline = Clock::now() + kReadyTimeout;
  while (!std::filesystem::exists(ready)) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "test server exited before it was ready (status " +
               std::to_string(status) + ")";
      return;
    }
    if (Clock::now() > deadline) {
      error_ = "test server did not become ready in time";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::ifstream in(ready);
  std::string line;
  std::getline(in, line);
  try {
    auto info = nlohmann::json::parse(line);
    port_ = info.at("port").get<int>();
    ca_file_ = info.at("ca_file").get<std::string>();
  } catch (const std::exception& e) {
    error_ = std::string("bad ready file: ") + e.what();
  }
}

void TestServer::Stop() {
  if (stdin_fd_ >= 0) {
    close(stdin_fd_);
    stdin_fd_ = -1;
  }
  if (pid_ > 0) {
    const auto deadline = Clock::now() + kExitTimeout;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }
}

std::string TestServer::Url(const std::string& path,
                            const std::string& host) const {
  return scheme_ + "://" + host + ":" + std::to_string(port_) + path;
}

std::string TestServer::Get(const std::string& target, int* status) const {
  *status = 0;
  if (tls_ || port_ == 0) return "";
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{};
  tv.tv_sec = 5;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      SendAll(fd, "GET " + target +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Connection: close\r\n\r\n")) {
    char buf[16384];
    for (;;) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      response.append(buf, static_cast<std::size_t>(n));
    }
  }
  close(fd);
  const auto head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos || response.compare(0, 9, "HTTP/1.1 ") != 0) {
    return "";
  }
  *status = std::atoi(response.c_str() + 9);
  return response.substr(head_end + 4);
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
