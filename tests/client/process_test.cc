// What bindings need from the process around a stream: a release that
// never waits, a loop freed from its own thread, fork, signals and exit;
// and the event timeout and the unterminated last event.

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "client_test.h"

// ThreadSanitizer stops a child that starts threads after a fork of a
// threaded process unless told otherwise; the fork test does exactly that,
// as a Python multiprocessing child would.
#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_options() { return "die_after_fork=0"; }
#endif

namespace ssekit_test {
namespace {

using ReleaseTest = ClientTest;

// Lives longer than the stream: the test checks it after the handle is gone.
struct Gate {
  std::atomic<bool> in_callback{false};
  std::atomic<bool> released{false};
  std::atomic<bool> saw_release{false};
  std::atomic<int> closed{0};
  std::atomic<int> closed_code{1};
  ssekit_stream* other = nullptr;
};

int BlockUntilReleased(const ssekit_event*, void* userdata) {
  auto* g = static_cast<Gate*>(userdata);
  if (g->in_callback.exchange(true)) return 0;
  // A callback that waits for the other thread, as one waiting for Python's
  // GIL would: a release that waited for it would deadlock here.
  const auto deadline = Clock::now() + milliseconds(5000);
  while (!g->released.load() && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  g->saw_release = g->released.load();
  return 0;
}

void CountClosed(int code, void* userdata) {
  auto* g = static_cast<Gate*>(userdata);
  g->closed_code = code;
  g->closed.fetch_add(1);
}

ssekit_stream* GateStream(const std::string& url, Gate* g, ssekit_event_cb on_event,
                          ssekit_loop* loop = nullptr) {
  ssekit_stream* s = ssekit_stream_new(url.c_str());
  EXPECT_NE(s, nullptr);
  EXPECT_EQ(ssekit_stream_set_proxy(s, ""), SSEKIT_OK);
  if (loop != nullptr) {
    EXPECT_EQ(ssekit_stream_set_loop(s, loop), SSEKIT_OK);
  }
  EXPECT_EQ(ssekit_stream_set_userdata(s, g), SSEKIT_OK);
  EXPECT_EQ(ssekit_stream_on_event(s, on_event), SSEKIT_OK);
  EXPECT_EQ(ssekit_stream_on_closed(s, &CountClosed), SSEKIT_OK);
  return s;
}

TEST_F(ReleaseTest, ReleaseFromAnotherThreadNeverWaitsForARunningCallback) {
  Gate g;
  ssekit_stream* s = GateStream(Url("/events?count=5&end=hang"), &g, &BlockUntilReleased);
  ASSERT_EQ(ssekit_stream_start(s), SSEKIT_OK);
  ASSERT_TRUE(PollUntil([&] { return g.in_callback.load(); }));
  ssekit_stream_release(s);  // returns while the callback still blocks
  g.released = true;
  ASSERT_TRUE(PollUntil([&] { return g.closed.load() == 1; }));
  EXPECT_TRUE(g.saw_release.load());
  EXPECT_EQ(g.closed_code.load(), SSEKIT_E_CLOSED);
}

int ReleaseSelf(const ssekit_event*, void* userdata) {
  auto* g = static_cast<Gate*>(userdata);
  if (!g->in_callback.exchange(true)) ssekit_stream_release(g->other);
  return 0;
}

TEST_F(ReleaseTest, ReleaseFromItsOwnCallback) {
  Gate g;
  ssekit_stream* s = GateStream(Url("/events?count=5"), &g, &ReleaseSelf);
  g.other = s;
  ASSERT_EQ(ssekit_stream_start(s), SSEKIT_OK);
  ASSERT_TRUE(PollUntil([&] { return g.closed.load() == 1; }));
  EXPECT_EQ(g.closed_code.load(), SSEKIT_E_CLOSED);
}

TEST_F(ReleaseTest, ReleaseFromAnotherStreamsCallbackOnTheSameLoop) {
  Gate ga, gb;
  ssekit_stream* b = GateStream(Url("/events?count=1&end=hang"), &gb, &BlockUntilReleased);
  gb.released = true;  // b's callback returns at once
  ssekit_stream* a = GateStream(Url("/events?count=5"), &ga, &ReleaseSelf);
  ga.other = b;
  ASSERT_EQ(ssekit_stream_start(b), SSEKIT_OK);
  ASSERT_TRUE(PollUntil([&] { return gb.in_callback.load(); }));
  ASSERT_EQ(ssekit_stream_start(a), SSEKIT_OK);
  ASSERT_TRUE(PollUntil([&] { return gb.closed.load() == 1; }));
  ssekit_stream_release(a);
  ASSERT_TRUE(PollUntil([&] { return ga.closed.load() == 1; }));
}

TEST_F(ReleaseTest, ReleaseOfAStreamNeverStartedFreesIt) {
  ssekit_stream_release(ssekit_stream_new(Url("/events").c_str()));
  ssekit_stream_release(nullptr);
}

struct LoopGate {
  ssekit_loop* loop = nullptr;
  std::atomic<bool> armed{false};  // set once the test has stopped using the loop
  std::atomic<bool> freed{false};
  std::atomic<int> closed{0};
};

int FreeTheLoop(const ssekit_event*, void* userdata) {
  auto* g = static_cast<LoopGate*>(userdata);
  if (g->armed.load() && !g->freed.exchange(true)) ssekit_loop_free(g->loop);
  return 0;
}

void LoopGateClosed(int, void* userdata) { static_cast<LoopGate*>(userdata)->closed.fetch_add(1); }

TEST_F(ReleaseTest, FreeingALoopFromItsOwnThreadClosesItsStreamsAndExits) {
  LoopGate g;
  g.loop = ssekit_loop_new();
  ASSERT_NE(g.loop, nullptr);
  std::vector<ssekit_stream*> streams;
  for (int i = 0; i < 3; ++i) {
    ssekit_stream* s = ssekit_stream_new(Url(i == 0 ? "/events?count=-1&interval_ms=20"
                                                    : "/events?count=1&end=hang")
                                             .c_str());
    ASSERT_EQ(ssekit_stream_set_proxy(s, ""), SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_set_loop(s, g.loop), SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_set_userdata(s, &g), SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_on_closed(s, &LoopGateClosed), SSEKIT_OK);
    if (i == 0) {
      ASSERT_EQ(ssekit_stream_on_event(s, &FreeTheLoop), SSEKIT_OK);
    }
    ASSERT_EQ(ssekit_stream_start(s), SSEKIT_OK);
    streams.push_back(s);
  }
  g.armed = true;  // the next event of stream 0 frees the loop, from its thread
  ASSERT_TRUE(PollUntil([&] { return g.closed.load() == 3; }));
  // The streams have stopped: their handles free without the loop.
  for (auto* s : streams) ssekit_stream_free(s);
  EXPECT_TRUE(g.freed.load());
}

// ---------------------------------------------------------------- signals

std::atomic<int> loop_blocks_sigint{-1};

int CheckSignalMask(const ssekit_event*, void*) {
  sigset_t set;
  pthread_sigmask(SIG_BLOCK, nullptr, &set);
  loop_blocks_sigint = sigismember(&set, SIGINT) == 1 && sigismember(&set, SIGTERM) == 1 &&
                               sigismember(&set, SIGCHLD) == 1
                           ? 1
                           : 0;
  return 0;
}

TEST_F(ReleaseTest, LoopThreadsBlockAsynchronousSignals) {
  // So a Ctrl-C is delivered to a thread of the application.
  for (bool own : {false, true}) {
    loop_blocks_sigint = -1;
    LoopPtr loop(own ? ssekit_loop_new() : nullptr);
    StreamPtr s(ssekit_stream_new(Url("/events?count=1").c_str()));
    ASSERT_EQ(ssekit_stream_set_proxy(s.get(), ""), SSEKIT_OK);
    if (own) {
      ASSERT_EQ(ssekit_stream_set_loop(s.get(), loop.get()), SSEKIT_OK);
    }
    ASSERT_EQ(ssekit_stream_on_event(s.get(), &CheckSignalMask), SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
    ASSERT_TRUE(PollUntil([&] { return loop_blocks_sigint.load() != -1; }));
    EXPECT_EQ(loop_blocks_sigint.load(), 1) << (own ? "own loop" : "default loop");
    s.reset();
  }
}

// ------------------------------------------------------------ fork, exit

// Runs body in a child process and returns its exit status, or -1 if it
// did not exit within the timeout (it is then killed).
template <class F>
int InChild(F body, milliseconds timeout = milliseconds(10000)) {
  const pid_t pid = fork();
  if (pid == 0) {
    _exit(body());
  }
  if (pid < 0) return -2;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (Clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
}

struct Count {
  std::atomic<int> events{0};
};

int CountEvent(const ssekit_event*, void* userdata) {
  static_cast<Count*>(userdata)->events.fetch_add(1);
  return 0;
}

TEST_F(ReleaseTest, AChildAfterForkFreesInheritedStreamsAndOpensItsOwn) {
  Count parent_count;
  StreamPtr running(ssekit_stream_new(Url("/events?count=-1&interval_ms=5").c_str()));
  ASSERT_EQ(ssekit_stream_set_proxy(running.get(), ""), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_userdata(running.get(), &parent_count), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_on_event(running.get(), &CountEvent), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(running.get()), SSEKIT_OK);
  LoopPtr own(ssekit_loop_new());
  ASSERT_TRUE(PollUntil([&] { return parent_count.events.load() > 3; }));
  const std::string url = Url("/events?count=3");
  ssekit_stream* inherited = running.get();
  ssekit_loop* inherited_loop = own.get();
  // Not empty in the parent when the child forks: a take there would steal
  // the parent's wake-up.
  ssekit_queue* inherited_queue = ssekit_queue_new(0, 0);
  StreamPtr queued(ssekit_stream_new(Url("/events?count=1&end=hang").c_str()));
  ASSERT_EQ(ssekit_stream_set_proxy(queued.get(), ""), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_queue(queued.get(), inherited_queue), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(queued.get()), SSEKIT_OK);
  pollfd pfd{ssekit_queue_fd(inherited_queue), POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 5000), 1);

  // The stream stays open but its loop thread idles while the process
  // forks: a sanitizer's allocator (ASan's) is not always fork-safe while
  // another thread is inside it, which glibc's malloc is.
  ASSERT_EQ(ssekit_stream_pause(running.get()), SSEKIT_OK);
  std::this_thread::sleep_for(milliseconds(50));
  const int status = InChild([&] {
    // Inherited: dead handles that free at once.
    if (ssekit_stream_state(inherited) != SSEKIT_STATE_OPEN &&
        ssekit_stream_state(inherited) != SSEKIT_STATE_CONNECTING)
      return 10;
    ssekit_stream_free(inherited);
    // A stream on a loop made before the fork cannot start there.
    ssekit_stream* on_old = ssekit_stream_new(url.c_str());
    ssekit_stream_set_loop(on_old, inherited_loop);
    if (ssekit_stream_start(on_old) != SSEKIT_E_STATE) return 11;
    ssekit_stream_free(on_old);
    ssekit_loop_free(inherited_loop);
    // A queue made before the fork is the parent's too.
    if (ssekit_queue_fd(inherited_queue) != -1) return 14;
    ssekit_batch* none = nullptr;
    if (ssekit_queue_take(inherited_queue, 0, &none) != SSEKIT_OK || none != nullptr) return 15;
    // A new stream gets a default loop of the child's own.
    Count c;
    ssekit_stream* s = ssekit_stream_new(url.c_str());
    ssekit_stream_set_proxy(s, "");
    ssekit_stream_set_userdata(s, &c);
    ssekit_stream_on_event(s, &CountEvent);
    ssekit_stream_set_on_end(s, SSEKIT_END_FINISH);
    if (ssekit_stream_start(s) != SSEKIT_OK) return 12;
    const auto deadline = Clock::now() + milliseconds(5000);
    while (c.events.load() < 3 && Clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    ssekit_stream_free(s);
    return c.events.load() == 3 ? 0 : 13;
  });
  EXPECT_EQ(status, 0);
  // The parent's stream never noticed.
  ASSERT_EQ(ssekit_stream_resume(running.get()), SSEKIT_OK);
  const int before = parent_count.events.load();
  EXPECT_TRUE(PollUntil([&] { return parent_count.events.load() > before + 3; }));
  EXPECT_EQ(ssekit_stream_state(running.get()), SSEKIT_STATE_OPEN);
  // The parent's queue still signals and still has its items.
  pfd = pollfd{ssekit_queue_fd(inherited_queue), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 1);
  ssekit_batch* b = nullptr;
  ASSERT_EQ(ssekit_queue_take(inherited_queue, 0, &b), SSEKIT_OK);
  EXPECT_NE(b, nullptr);
  ssekit_batch_free(b);
  queued.reset();
  ssekit_queue_free(inherited_queue);
}

// A plain array, not a container: exit() runs static destructors, and the
// handles must stay reachable for the leak check that follows.
ssekit_stream* exit_streams[100];

TEST_F(ReleaseTest, ExitingWithAHundredOpenStreamsNeitherCrashesNorHangs) {
  const std::string url = Url("/events?count=-1&interval_ms=20");
  for (bool own_loop : {false, true}) {
    const int status = InChild([&] {
      static ssekit_loop* loop = own_loop ? ssekit_loop_new() : nullptr;
      Count c;
      for (int i = 0; i < 100; ++i) {
        ssekit_stream* s = ssekit_stream_new(url.c_str());
        ssekit_stream_set_proxy(s, "");
        if (loop != nullptr) ssekit_stream_set_loop(s, loop);
        ssekit_stream_set_userdata(s, &c);
        ssekit_stream_on_event(s, &CountEvent);
        if (ssekit_stream_start(s) != SSEKIT_OK) return 20;
        exit_streams[i] = s;
      }
      const auto deadline = Clock::now() + milliseconds(5000);
      while (c.events.load() < 100 && Clock::now() < deadline) {
        std::this_thread::sleep_for(milliseconds(5));
      }
      // exit() runs atexit handlers and static destructors while the loop
      // thread still delivers events.
      exit(c.events.load() >= 100 ? 0 : 21);
      return 22;
    });
    EXPECT_EQ(status, 0) << (own_loop ? "own loop" : "default loop");
  }
}

// ---------------------------------------------- event timeout, last event

using EventTimeoutTest = ClientTest;

TEST_F(EventTimeoutTest, PingsWithoutEventsDropTheConnection) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/stall?after=1&ms=3000&heartbeat_ms=50&then=resume&count=3"), rec);
  ASSERT_EQ(ssekit_stream_set_event_timeout(s.get(), 400), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_read_timeout(s.get(), 400), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(1));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  auto errors = rec.Get(&Recorder::errors);
  EXPECT_EQ(errors[0].code, SSEKIT_E_EVENT_TIMEOUT) << errors[0].message;
  EXPECT_EQ(errors[0].will_retry, 1);
  EXPECT_GE(rec.Get(&Recorder::comments).size(), 3u);
  EXPECT_EQ(std::string(ssekit_strerror(SSEKIT_E_EVENT_TIMEOUT)).empty(), false);
}

TEST_F(EventTimeoutTest, EventsKeepTheConnection) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=20&interval_ms=50"), rec);
  ASSERT_EQ(ssekit_stream_set_event_timeout(s.get(), 400), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  ExpectNoErrors(rec);
  EXPECT_EQ(rec.EventCount(), 20u);
}

class UnterminatedTest : public ClientTest, public ::testing::WithParamInterface<bool> {};

TEST_P(UnterminatedTest, TheLastEventIsDispatchedOnlyWhenAskedFor) {
  const std::string url = Url(std::string("/unterminated?line_end=") + (GetParam() ? "1" : "0"));
  for (bool opt_in : {false, true}) {
    Recorder rec;
    StreamPtr s = NewStream(url, rec);
    ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_set_dispatch_unterminated(s.get(), opt_in ? 1 : 0), SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
    ASSERT_TRUE(rec.WaitClosed());
    EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
    EXPECT_EQ(rec.Datas(), opt_in ? (std::vector<std::string>{"a", "last"})
                                  : (std::vector<std::string>{"a"}));
  }
}

INSTANTIATE_TEST_SUITE_P(LineEnd, UnterminatedTest, ::testing::Bool());

TEST_F(EventTimeoutTest, TheUnterminatedLastEventCanBeTheSentinel) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/unterminated"), rec);
  ASSERT_EQ(ssekit_stream_set_dispatch_unterminated(s.get(), 1), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_done_sentinel(s.get(), "last"), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  EXPECT_EQ(rec.Datas(), std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace ssekit_test
