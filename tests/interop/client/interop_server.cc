#include "interop_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

extern char** environ;

namespace ssekit_interop {
namespace {

using Clock = std::chrono::steady_clock;

// A cold start of Python with uvicorn, or of Node, takes a second or two on
// a busy machine; more under sanitizers.
constexpr auto kReadyTimeout = std::chrono::seconds(30);
constexpr auto kExitTimeout = std::chrono::seconds(5);

std::string TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") +
                        "/ssekit-interop-client-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return "";
  return std::string(buf.data());
}

bool SendAll(int fd, const char* data, std::size_t len) {
  std::size_t off = 0;
  while (off < len) {
    ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string Lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

// Decodes a chunked body; returns false if it is malformed or cut short.
bool Dechunk(const std::string& in, std::string* out) {
  std::size_t pos = 0;
  for (;;) {
    const std::size_t eol = in.find("\r\n", pos);
    if (eol == std::string::npos) return false;
    const std::size_t size = std::strtoul(in.c_str() + pos, nullptr, 16);
    pos = eol + 2;
    if (size == 0) return true;
    if (pos + size + 2 > in.size()) return false;
    out->append(in, pos, size);
    pos += size + 2;
  }
}

}  // namespace

InteropServer::InteropServer(std::string name) : name_(std::move(name)) {
  Start();
}

InteropServer::~InteropServer() { Stop(); }

void InteropServer::Start() {
  dir_ = TempDir();
  if (dir_.empty()) {
    error_ = std::string("mkdtemp: ") + std::strerror(errno);
    return;
  }
  const std::string ready = dir_ + "/ready.json";
  const std::string log = dir_ + "/server.log";
  std::vector<std::string> args = {SSEKIT_INTEROP_PYTHON,
                                   SSEKIT_INTEROP_LAUNCH,
                                   "--server",
                                   name_,
                                   "--port",
                                   "0",
                                   "--ready-file",
                                   ready,
                                   "--watch-stdin",
                                   "--max-lifetime",
                                   "600"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // The server stops when its standard input ends, so it dies with this
  // process however the test ends.
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    error_ = std::string("pipe2: ") + std::strerror(errno);
    return;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
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
      error_ = name_ + " server exited before it was ready (wait status " +
               std::to_string(status) + "):\n" + Log();
      return;
    }
    if (Clock::now() > deadline) {
      error_ = name_ + " server did not become ready in time:\n" + Log();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::ifstream in(ready);
  std::string line;
  std::getline(in, line);
  try {
    port_ = nlohmann::json::parse(line).at("port").get<int>();
  } catch (const std::exception& e) {
    error_ = "bad ready file of " + name_ + ": " + e.what();
  }
}

void InteropServer::Stop() {
  if (stdin_fd_ >= 0) {
    close(stdin_fd_);
    stdin_fd_ = -1;
  }
  if (pid_ > 0) {
    // SIGTERM stops both servers at once, open streams included.
    kill(pid_, SIGTERM);
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

std::string InteropServer::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::string InteropServer::Log() const {
  std::ifstream in(dir_ + "/server.log");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

HttpReply HttpGet(int port, const std::string& target) {
  HttpReply reply;
  int fd = ConnectLoopback(port);
  if (fd < 0) return reply;
  timeval tv{};
  tv.tv_sec = 5;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const std::string request = "GET " + target +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Connection: close\r\n\r\n";
  std::string response;
  if (SendAll(fd, request.data(), request.size())) {
    char buf[16384];
    for (;;) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      response.append(buf, static_cast<std::size_t>(n));
    }
  }
  close(fd);
  const std::size_t head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos || response.compare(0, 5, "HTTP/") != 0) {
    return reply;
  }
  reply.head = response.substr(0, head_end);
  std::string body = response.substr(head_end + 4);
  if (Lower(HeadHeader(reply.head, "Transfer-Encoding")) == "chunked") {
    if (!Dechunk(body, &reply.body)) return reply;
  } else {
    reply.body = std::move(body);
  }
  const std::size_t space = reply.head.find(' ');
  if (space != std::string::npos) {
    reply.status = std::atoi(reply.head.c_str() + space + 1);
  }
  return reply;
}

std::string HeadHeader(const std::string& head, const std::string& name) {
  const std::string want = Lower(name);
  std::size_t pos = head.find("\r\n");
  while (pos != std::string::npos) {
    pos += 2;
    const std::size_t end = head.find("\r\n", pos);
    const std::string line =
        head.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos && Lower(line.substr(0, colon)) == want) {
      std::size_t v = colon + 1;
      while (v < line.size() && (line[v] == ' ' || line[v] == '\t')) ++v;
      return line.substr(v);
    }
    pos = end;
  }
  return "";
}

WireTap::WireTap(int upstream_port) : upstream_port_(upstream_port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(fd, 128) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      pipe2(wake_, O_CLOEXEC) != 0) {
    close(fd);
    return;
  }
  port_ = ntohs(addr.sin_port);
  listen_fd_ = fd;
  thread_ = std::thread([this] { Run(); });
}

WireTap::~WireTap() {
  if (thread_.joinable()) {
    const char stop = 's';
    while (write(wake_[1], &stop, 1) < 0 && errno == EINTR) {
    }
    thread_.join();
  }
  if (listen_fd_ >= 0) close(listen_fd_);
  for (int fd : wake_) {
    if (fd >= 0) close(fd);
  }
}

std::string WireTap::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void WireTap::Run() {
  struct Pipe {
    int client;
    int upstream;
    std::size_t index;  // into sent_
    bool client_open = true;
    bool upstream_open = true;
  };
  std::vector<Pipe> pipes;
  std::vector<char> buf(65536);
  for (;;) {
    std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    // For each polled connection fd: the pipe and whether it is the client.
    std::vector<std::pair<std::size_t, bool>> owner;
    for (std::size_t i = 0; i < pipes.size(); ++i) {
      if (pipes[i].client_open) {
        fds.push_back({pipes[i].client, POLLIN, 0});
        owner.emplace_back(i, true);
      }
      if (pipes[i].upstream_open) {
        fds.push_back({pipes[i].upstream, POLLIN, 0});
        owner.emplace_back(i, false);
      }
    }
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) break;
    for (std::size_t k = 2; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      Pipe& p = pipes[owner[k - 2].first];
      const bool from_client = owner[k - 2].second;
      const int src = from_client ? p.client : p.upstream;
      const int dst = from_client ? p.upstream : p.client;
      ssize_t n = recv(src, buf.data(), buf.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        if (from_client) {
          std::lock_guard<std::mutex> lock(mu_);
          sent_[p.index].append(buf.data(), static_cast<std::size_t>(n));
        }
        if (!SendAll(dst, buf.data(), static_cast<std::size_t>(n))) {
          p.client_open = p.upstream_open = false;
        }
        continue;
      }
      // End of file or an error on one side: pass the end on as a
      // half-close, so the other side sees what it would have seen directly.
      (from_client ? p.client_open : p.upstream_open) = false;
      shutdown(dst, SHUT_WR);
    }
    for (std::size_t i = pipes.size(); i-- > 0;) {
      if (!pipes[i].client_open && !pipes[i].upstream_open) {
        close(pipes[i].client);
        close(pipes[i].upstream);
        pipes.erase(pipes.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    if ((fds[1].revents & POLLIN) != 0) {
      int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      int upstream = ConnectLoopback(upstream_port_);
      if (upstream < 0) {
        close(client);
        continue;
      }
      std::size_t index = 0;
      {
        std::lock_guard<std::mutex> lock(mu_);
        index = sent_.size();
        sent_.emplace_back();
      }
      pipes.push_back(Pipe{client, upstream, index});
    }
  }
  for (const Pipe& p : pipes) {
    close(p.client);
    close(p.upstream);
  }
}

std::vector<TappedRequest> WireTap::Requests() const {
  std::vector<std::string> sent;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sent = sent_;
  }
  std::vector<TappedRequest> out;
  for (const std::string& bytes : sent) {
    std::size_t pos = 0;
    for (;;) {
      const std::size_t end = bytes.find("\r\n\r\n", pos);
      if (end == std::string::npos) break;
      TappedRequest r;
      r.head = bytes.substr(pos, end - pos);
      const std::size_t line_end = r.head.find("\r\n");
      std::istringstream line(r.head.substr(0, line_end));
      line >> r.method >> r.target;
      // The client sends bodies with Content-Length (never chunked) here.
      const std::size_t body_len =
          std::strtoul(HeadHeader(r.head, "Content-Length").c_str(), nullptr, 10);
      pos = end + 4;
      r.body = bytes.substr(pos, body_len);
      pos += r.body.size();
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace ssekit_interop
