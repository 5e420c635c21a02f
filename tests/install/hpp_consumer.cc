// Built against an installed ssekit, the way a user's C++ program is: only
// <ssekit.hpp>, through pkg-config or find_package. Parses a stream with
// ssekit::Parser and runs a stream against a refused port (no network
// needed). Exits non-zero if the library or the header misbehaves.
#include <ssekit.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

int failures = 0;

void check(bool ok, const char *what) {
  if (!ok) {
    std::fprintf(stderr, "hpp consumer: %s\n", what);
    ++failures;
  }
}

void parser_checks() {
  std::vector<std::string> seen;
  std::vector<std::string> comments;
  std::chrono::milliseconds retry{0};
  ssekit::Parser p;
  p.on_event([&](const ssekit::Event &ev) {
     seen.push_back(std::string(ev.type) + "|" + std::string(ev.data) + "|" + std::string(ev.id));
   })
      .on_comment([&](std::string_view text) { comments.emplace_back(text); })
      .on_retry([&](std::chrono::milliseconds ms) { retry = ms; });
  const std::string_view stream =
      "id: 7\ndata: hello\n\n: ping\nevent: x\ndata: a\ndata: b\n\nretry: 1500\ndata: tail";
  // Split mid-line: chunking must not change what is delivered.
  check(p.feed(stream.substr(0, 13)) == SSEKIT_OK, "first feed");
  check(p.feed(stream.substr(13)) == SSEKIT_OK, "second feed");
  check(p.finish() == SSEKIT_OK, "finish");
  check(seen == std::vector<std::string>{"message|hello|7", "x|a\nb|7"}, "parsed events");
  check(comments == std::vector<std::string>{"ping"}, "comment");
  check(retry == std::chrono::milliseconds(1500), "retry");
  check(p.last_event_id() == "7", "last event id");

  // A callback's exception comes back out of feed, after the C call.
  p.reset();
  p.on_event([](const ssekit::Event &) { throw std::runtime_error("from a callback"); });
  bool rethrown = false;
  try {
    (void)p.feed("data: x\n\n");
  } catch (const std::runtime_error &e) {
    rethrown = std::string(e.what()) == "from a callback";
  }
  check(rethrown, "parser callback exception rethrown by feed");
  check(p.feed("data: y\n\n") == SSEKIT_E_CALLBACK, "parser error is sticky");

  // Moving keeps the callbacks, which live on the heap.
  int moved_events = 0;
  ssekit::Parser a;
  a.on_event([&](const ssekit::Event &) { ++moved_events; });
  ssekit::Parser b = std::move(a);
  check(b.feed("data: 1\n\n") == SSEKIT_OK && moved_events == 1, "moved parser");
  check(!a, "moved-from parser is empty");
}

struct Seen {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> failure_codes;
  std::vector<ssekit::State> states;
  int closed_code = 1;
  int closed_calls = 0;
};

void stream_checks() {
  Seen seen;
  {
    ssekit::Stream first("http://127.0.0.1:1/events");
    first.set_proxy("")
        .set_initial_delay(std::chrono::milliseconds(10))
        .set_min_delay(std::chrono::milliseconds(10))
        .set_connect_timeout(std::chrono::seconds(5))
        .set_max_attempts(1)
        .add_header("X-Consumer", "hpp")
        .on_failure([&](const ssekit::Failure &f) {
          std::lock_guard<std::mutex> lock(seen.mu);
          seen.failure_codes.push_back(f.code());
        })
        .on_state([&](ssekit::State st) {
          std::lock_guard<std::mutex> lock(seen.mu);
          seen.states.push_back(st);
        })
        .on_closed([&](int code) {
          std::lock_guard<std::mutex> lock(seen.mu);
          seen.closed_code = code;
          ++seen.closed_calls;
          seen.cv.notify_all();
        });
    bool threw = false;
    try {
      first.add_header("Bad Name", "v");
    } catch (const ssekit::Error &e) {
      threw = e.code() == SSEKIT_E_INVALID;
    }
    check(threw, "bad header name throws Error(SSEKIT_E_INVALID)");

    // The callbacks move with the handle.
    ssekit::Stream s = std::move(first);
    check(!first && s, "moved stream");
    s.start();
    {
      std::unique_lock<std::mutex> lock(seen.mu);
      check(seen.cv.wait_for(lock, std::chrono::seconds(20),
                             [&] { return seen.closed_calls > 0; }),
            "closed in time");
      check(!seen.failure_codes.empty() && seen.failure_codes.front() == SSEKIT_E_NETWORK,
            "a refused connection is SSEKIT_E_NETWORK");
      check(seen.closed_code == SSEKIT_E_RETRIES_EXHAUSTED, "closed with retries exhausted");
    }
    check(s.state() == ssekit::State::closed, "stream state is closed");
    check(s.callback_exception() == nullptr, "no callback threw");
    threw = false;
    try {
      s.set_read_timeout(std::chrono::seconds(1));
    } catch (const ssekit::Error &e) {
      threw = e.code() == SSEKIT_E_STATE;
    }
    check(threw, "a setter after start throws Error(SSEKIT_E_STATE)");
  }
  std::lock_guard<std::mutex> lock(seen.mu);
  check(seen.closed_calls == 1, "closed exactly once");
  check(!seen.states.empty() && seen.states.front() == ssekit::State::connecting &&
            seen.states.back() == ssekit::State::closed,
        "states from connecting to closed");
}

}  // namespace

int main() {
  if (!ssekit::library_is_compatible() || ssekit::version() != SSEKIT_VERSION_STRING) {
    std::fprintf(stderr, "header %s, library %s\n", SSEKIT_VERSION_STRING,
                 std::string(ssekit::version()).c_str());
    return 1;
  }
  parser_checks();
  stream_checks();
  if (failures != 0) return 1;
  std::printf("hpp consumer ok: ssekit %s\n", std::string(ssekit::version()).c_str());
  return 0;
}
