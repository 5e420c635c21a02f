#include "interop_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

namespace ssekit_interop {
namespace {

using ssekit_test_support::ConnectLoopback;
using ssekit_test_support::SendAll;

// A cold start of Python with uvicorn, or of Node, takes a second or two on
// a busy machine; more under sanitizers.
constexpr auto kReadyTimeout = std::chrono::seconds(30);

}  // namespace

InteropServer::InteropServer(std::string name)
    : name_(std::move(name)), child_("ssekit-interop-client") {
  Start();
}

InteropServer::~InteropServer() = default;

void InteropServer::Start() {
  const std::string ready = child_.dir() + "/ready.json";
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
  ssekit_test_support::SpawnOptions spawn;
  spawn.stdout_path = child_.dir() + "/server.log";
  spawn.merge_stderr = true;
  // SIGTERM stops both servers at once, open streams included.
  spawn.terminate_on_stop = true;
  error_ = child_.Spawn(args, spawn);
  if (!error_.empty()) return;

  using Wait = ssekit_test_support::ChildProcess::WaitResult;
  int status = 0;
  const Wait waited = child_.WaitForFile(ready, kReadyTimeout, &status);
  if (waited != Wait::kReady) {
    error_ = name_ +
             (waited == Wait::kExited
                  ? " server exited before it was ready (wait status " +
                        std::to_string(status) + ")"
                  : std::string(" server did not become ready in time")) +
             ":\n" + Log();
    return;
  }
  try {
    port_ = nlohmann::json::parse(ssekit_test_support::ReadFirstLine(ready))
                .at("port")
                .get<int>();
  } catch (const std::exception& e) {
    error_ = "bad ready file of " + name_ + ": " + e.what();
  }
}

std::string InteropServer::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::string InteropServer::Log() const {
  std::ifstream in(child_.dir() + "/server.log");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
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
