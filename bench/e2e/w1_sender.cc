// A loopback HTTP/1.1 event-stream sender for the end-to-end client
// benchmarks. It must never be the bottleneck, so it is one epoll thread
// that writes a workload generated once in memory with large send() calls.
//
// usage: w1_sender [--host ADDR] [--port N] [--ready-file PATH]
//                  [--watch-stdin] [--max-lifetime SECONDS]
//
// Routes (every response is `200 text/event-stream`, close-delimited):
//   /w1      the parser benchmark's W1 workload, byte for byte, then close
//   /ticks?interval_us=U&count=N
//            N events, one every U microseconds, one write each, whose data
//            is the CLOCK_MONOTONIC time in nanoseconds when it was written
//   /idle    one event, then silence until the client leaves
// Once listening it writes one JSON line to the ready file and to stdout:
//   {"port": P, "pid": PID, "w1_bytes": B, "w1_events": E,
//    "w1_data_bytes": D, "w1_last_id": "I"}
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "workloads.h"

namespace {

constexpr std::size_t kMaxRequest = 16 * 1024;
constexpr char kStreamHead[] =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-cache\r\n"
    "Connection: close\r\n"
    "\r\n";
constexpr char kNotFound[] =
    "HTTP/1.1 404 Not Found\r\n"
    "Content-Type: text/plain\r\n"
    "Content-Length: 10\r\n"
    "Connection: close\r\n"
    "\r\n"
    "not found\n";

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "w1_sender: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

std::uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

// The value of one query parameter, or fallback when it is absent or not a
// plain decimal number.
std::uint64_t query_uint(std::string_view query, std::string_view name,
                         std::uint64_t fallback) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view()
                                          : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
    const std::string_view value = pair.substr(eq + 1);
    if (value.empty() || value.size() > 18) return fallback;
    std::uint64_t n = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return fallback;
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
  }
  return fallback;
}

enum class Phase { kRequest, kSending, kTicking, kIdle, kDraining };

struct Conn {
  int fd = -1;
  int timer_fd = -1;
  Phase phase = Phase::kRequest;
  std::string request;
  // Bytes to write: first `pending`, then the shared workload slice.
  std::string pending;
  std::size_t pending_off = 0;
  const char* body = nullptr;
  std::size_t body_left = 0;
  bool want_out = false;
  // Once everything is written: end the body (close-delimited).
  bool end_after_flush = false;
  std::uint64_t ticks_left = 0;
};

class Sender {
 public:
  explicit Sender(const ssekit_bench::Workload& w1) : w1_(w1) {}

  void listen_on(const char* host, std::uint16_t port);
  std::uint16_t port() const { return port_; }
  void watch_stdin() { add(STDIN_FILENO, EPOLLIN); }
  [[noreturn]] void run();

 private:
  void add(int fd, std::uint32_t events);
  void modify(int fd, std::uint32_t events);
  Conn* conn_of(int fd) const {
    return static_cast<std::size_t>(fd) < by_fd_.size() ? by_fd_[fd].get()
                                                        : nullptr;
  }
  void accept_all();
  void on_readable(Conn* c);
  void on_request(Conn* c, std::string_view target);
  void on_tick(Conn* c);
  bool flush(Conn* c);
  void end_body(Conn* c);
  void drop(Conn* c);

  const ssekit_bench::Workload& w1_;
  int epoll_fd_ = -1;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<std::unique_ptr<Conn>> by_fd_;
  // Maps a timer fd to the connection it paces.
  std::vector<Conn*> timer_owner_;
};

void Sender::add(int fd, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl add");
}

void Sender::modify(int fd, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) die("epoll_ctl mod");
}

void Sender::listen_on(const char* host, std::uint16_t port) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) die("epoll_create1");
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) die("socket");
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    std::fprintf(stderr, "w1_sender: not an IPv4 address: %s\n", host);
    std::exit(2);
  }
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    die("bind");
  // The kernel caps the backlog at net.core.somaxconn; ask for the most so
  // that thousands of simultaneous connects are not dropped and retried.
  if (listen(listen_fd_, 65535) != 0) die("listen");
  socklen_t len = sizeof addr;
  if (getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    die("getsockname");
  port_ = ntohs(addr.sin_port);
  add(listen_fd_, EPOLLIN);
}

void Sender::run() {
  std::vector<epoll_event> events(1024);
  for (;;) {
    const int n = epoll_wait(epoll_fd_, events.data(),
                             static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      const std::uint32_t what = events[i].events;
      if (fd == listen_fd_) {
        accept_all();
      } else if (fd == STDIN_FILENO) {
        char buf[256];
        const ssize_t got = read(STDIN_FILENO, buf, sizeof buf);
        // The harness that started us is gone.
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
          std::exit(0);
      } else if (static_cast<std::size_t>(fd) < timer_owner_.size() &&
                 timer_owner_[fd] != nullptr) {
        on_tick(timer_owner_[fd]);
      } else if (Conn* c = conn_of(fd)) {
        if ((what & EPOLLOUT) != 0 && !flush(c)) continue;
        if ((what & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) on_readable(c);
      }
    }
  }
}

void Sender::accept_all() {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // Out of descriptors: leave the rest in the backlog and say so.
      std::fprintf(stderr, "w1_sender: accept: %s\n", std::strerror(errno));
      return;
    }
    if (by_fd_.size() <= static_cast<std::size_t>(fd)) by_fd_.resize(fd + 1);
    by_fd_[fd] = std::make_unique<Conn>();
    by_fd_[fd]->fd = fd;
    add(fd, EPOLLIN);
  }
}

void Sender::on_readable(Conn* c) {
  char buf[4096];
  for (;;) {
    const ssize_t got = recv(c->fd, buf, sizeof buf, 0);
    if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
      // The client left (or finished reading a body we ended).
      drop(c);
      return;
    }
    if (got < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (c->phase != Phase::kRequest) continue;  // nothing more is expected
    c->request.append(buf, static_cast<std::size_t>(got));
    const std::size_t end = c->request.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (c->request.size() <= kMaxRequest) continue;
      drop(c);
      return;
    }
    // "GET /target HTTP/1.1": the method is not checked.
    const std::string_view line(c->request.data(), c->request.find("\r\n"));
    const std::size_t sp1 = line.find(' ');
    const std::size_t sp2 = line.find(' ', sp1 + 1);
    if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) {
      drop(c);
      return;
    }
    const std::string target(line.substr(sp1 + 1, sp2 - sp1 - 1));
    c->request.clear();
    c->request.shrink_to_fit();
    on_request(c, target);
    return;
  }
}

void Sender::on_request(Conn* c, std::string_view target) {
  const std::size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  if (path == "/w1") {
    c->phase = Phase::kSending;
    c->pending = kStreamHead;
    c->body = w1_.bytes.data();
    c->body_left = w1_.bytes.size();
    c->end_after_flush = true;
  } else if (path == "/ticks") {
    const std::uint64_t interval_us = query_uint(query, "interval_us", 1000);
    c->ticks_left = query_uint(query, "count", 5000);
    c->phase = Phase::kTicking;
    c->pending = kStreamHead;
    // Each event must leave at once, not wait for the next one.
    const int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->ticks_left == 0) {
      c->end_after_flush = true;
    } else {
      c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
      if (c->timer_fd < 0) die("timerfd_create");
      itimerspec spec{};
      const std::uint64_t ns = (interval_us == 0 ? 1 : interval_us) * 1000;
      spec.it_interval.tv_sec = static_cast<time_t>(ns / 1000000000u);
      spec.it_interval.tv_nsec = static_cast<long>(ns % 1000000000u);
      spec.it_value = spec.it_interval;
      if (timerfd_settime(c->timer_fd, 0, &spec, nullptr) != 0)
        die("timerfd_settime");
      if (timer_owner_.size() <= static_cast<std::size_t>(c->timer_fd))
        timer_owner_.resize(c->timer_fd + 1);
      timer_owner_[c->timer_fd] = c;
      add(c->timer_fd, EPOLLIN);
    }
  } else if (path == "/idle") {
    c->phase = Phase::kIdle;
    c->pending = std::string(kStreamHead) + "data: hello\n\n";
  } else {
    c->pending = kNotFound;
    c->end_after_flush = true;
  }
  flush(c);
}

void Sender::on_tick(Conn* c) {
  std::uint64_t expirations = 0;
  if (read(c->timer_fd, &expirations, sizeof expirations) !=
      static_cast<ssize_t>(sizeof expirations)) {
    return;
  }
  // A late wake-up owes several events; each still carries its own time.
  for (std::uint64_t i = 0; i < expirations && c->ticks_left > 0; ++i) {
    --c->ticks_left;
    const bool was_empty = c->pending.size() == c->pending_off;
    c->pending += "data: " + std::to_string(monotonic_ns()) + "\n\n";
    if (was_empty && !flush(c)) return;
  }
  if (c->ticks_left == 0) {
    timer_owner_[c->timer_fd] = nullptr;
    close(c->timer_fd);
    c->timer_fd = -1;
    c->end_after_flush = true;
    flush(c);
  }
}

// Writes what it can. Returns false if the connection was dropped.
bool Sender::flush(Conn* c) {
  for (;;) {
    const char* p;
    std::size_t n;
    const bool from_pending = c->pending_off < c->pending.size();
    if (from_pending) {
      p = c->pending.data() + c->pending_off;
      n = c->pending.size() - c->pending_off;
    } else if (c->body_left > 0) {
      p = c->body;
      n = c->body_left;
    } else {
      break;
    }
    const ssize_t sent = send(c->fd, p, n, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!c->want_out) {
          c->want_out = true;
          modify(c->fd, EPOLLIN | EPOLLOUT);
        }
        return true;
      }
      drop(c);
      return false;
    }
    const auto k = static_cast<std::size_t>(sent);
    if (from_pending) {
      c->pending_off += k;
      if (c->pending_off == c->pending.size()) {
        c->pending.clear();
        c->pending_off = 0;
      }
    } else {
      c->body += k;
      c->body_left -= k;
    }
  }
  if (c->want_out) {
    c->want_out = false;
    modify(c->fd, EPOLLIN);
  }
  if (c->end_after_flush) end_body(c);
  return true;
}

void Sender::end_body(Conn* c) {
  // The FIN ends the body; the socket closes when the client has read it
  // all and closes its side, so no byte is lost to a reset.
  c->end_after_flush = false;
  c->phase = Phase::kDraining;
  shutdown(c->fd, SHUT_WR);
}

void Sender::drop(Conn* c) {
  if (c->timer_fd >= 0) {
    timer_owner_[c->timer_fd] = nullptr;
    close(c->timer_fd);
  }
  const int fd = c->fd;
  close(fd);
  by_fd_[fd].reset();
}

void raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
}

bool write_ready_file(const std::string& path, const std::string& line) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return false;
  const bool ok = std::fputs(line.c_str(), f) >= 0;
  if (std::fclose(f) != 0 || !ok) return false;
  // Readers never see a half-written line.
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* host = "127.0.0.1";
  long port = 0;
  std::string ready_file;
  bool stdin_watch = false;
  long lifetime = 3600;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--host" && has_value) {
      host = argv[++i];
    } else if (arg == "--port" && has_value) {
      port = std::strtol(argv[++i], nullptr, 10);
    } else if (arg == "--ready-file" && has_value) {
      ready_file = argv[++i];
    } else if (arg == "--max-lifetime" && has_value) {
      lifetime = std::strtol(argv[++i], nullptr, 10);
    } else if (arg == "--watch-stdin") {
      stdin_watch = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--host ADDR] [--port N] [--ready-file PATH] "
                   "[--watch-stdin] [--max-lifetime SECONDS]\n",
                   argv[0]);
      return 2;
    }
  }
  if (port < 0 || port > 65535) {
    std::fprintf(stderr, "w1_sender: bad port %ld\n", port);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();
  // A forgotten sender must not outlive the benchmark for long.
  if (lifetime > 0) alarm(static_cast<unsigned>(lifetime));

  const ssekit_bench::Workload w1 =
      ssekit_bench::make_workload(ssekit_bench::WorkloadId::kLlmTokens);
  Sender sender(w1);
  sender.listen_on(host, static_cast<std::uint16_t>(port));
  if (stdin_watch) sender.watch_stdin();

  const std::string line =
      "{\"port\": " + std::to_string(sender.port()) +
      ", \"pid\": " + std::to_string(getpid()) +
      ", \"w1_bytes\": " + std::to_string(w1.bytes.size()) +
      ", \"w1_events\": " + std::to_string(w1.events) +
      ", \"w1_data_bytes\": " + std::to_string(w1.data_bytes) +
      ", \"w1_last_id\": \"" + w1.last_id + "\"}\n";
  if (!ready_file.empty() && !write_ready_file(ready_file, line)) {
    std::fprintf(stderr, "w1_sender: cannot write %s\n", ready_file.c_str());
    return 1;
  }
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
  sender.run();
}
