// Lifecycle and threads: close and free from anywhere, loops, many streams,
// pause and resume, and the state rules of the setters.

#include <dirent.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "client_test.h"

namespace ssekit_test {
namespace {

using LifecycleTest = ClientTest;

// Open file descriptors of this process: sockets, pipes, event fds.
int OpenFds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n;
}

// The log entries after the first one equal to first.
std::vector<std::string> After(const std::vector<std::string>& log,
                               const std::string& first) {
  for (std::size_t i = 0; i < log.size(); ++i) {
    if (log[i] == first) {
      return std::vector<std::string>(log.begin() + static_cast<long>(i) + 1,
                                      log.end());
    }
  }
  return {"<" + first + " not found>"};
}

TEST_F(LifecycleTest, CloseInsideTheEventCallbackLeavesOnlyClosed) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=-1&interval_ms=5"), rec);
  std::atomic<int> close_rc{1};
  rec.event_hook = [&close_rc](Recorder& r, const RecEvent&) {
    if (close_rc.load() == 1) close_rc.store(ssekit_stream_close(r.stream()));
    return 0;
  };
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  // Long enough for several more events, had the stream gone on.
  std::this_thread::sleep_for(milliseconds(60));

  EXPECT_EQ(close_rc.load(), SSEKIT_OK);
  EXPECT_EQ(rec.EventCount(), 1u);
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_CLOSED});
  EXPECT_EQ(After(rec.Get(&Recorder::log), "event:message"),
            std::vector<std::string>{"closed"});
  EXPECT_EQ(ssekit_stream_state(s.get()), SSEKIT_STATE_CLOSED);
  EXPECT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
}

TEST_F(LifecycleTest, CloseInsideTheErrorCallbackStopsReconnecting) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/status/503"), rec);
  rec.error_hook = [](Recorder& r, const RecError&) {
    ssekit_stream_close(r.stream());
  };
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  std::this_thread::sleep_for(milliseconds(5 * kInitialDelayMs));

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_CLOSED});
  EXPECT_EQ(After(rec.Get(&Recorder::log), "error"),
            std::vector<std::string>{"closed"});
  EXPECT_EQ(server().Requests("/status/503").size(), 1u);
}

TEST_F(LifecycleTest, FreeInsideACallbackRunsClosedThenReleases) {
  Recorder rec;
  ssekit_stream* s = NewStream(Url("/events?count=-1&interval_ms=5"), rec)
                         .release();
  ASSERT_NE(s, nullptr);
  rec.event_hook = [](Recorder& r, const RecEvent&) {
    ssekit_stream_free(r.stream());
    return 0;
  };
  ASSERT_EQ(ssekit_stream_start(s), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  std::this_thread::sleep_for(milliseconds(60));

  EXPECT_EQ(rec.EventCount(), 1u);
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_CLOSED});
  EXPECT_EQ(After(rec.Get(&Recorder::log), "event:message"),
            std::vector<std::string>{"closed"});
}

class CloseRaceTest : public ClientTest,
                      public ::testing::WithParamInterface<bool> {};

TEST_P(CloseRaceTest, NoCallbackRunsAfterCloseFromAnotherThreadReturns) {
  const bool own_loop = GetParam();
  LoopPtr loop(own_loop ? ssekit_loop_new() : nullptr);
  if (own_loop) {
    ASSERT_TRUE(loop);
  }
  std::vector<std::unique_ptr<Recorder>> recs;
  std::vector<StreamPtr> streams;
  for (int i = 0; i < 8; ++i) {
    recs.push_back(std::make_unique<Recorder>());
    Recorder& rec = *recs.back();
    streams.push_back(NewStream(Url("/w1?count=100000"), rec));
    ssekit_stream* s = streams.back().get();
    if (own_loop) {
      ASSERT_EQ(ssekit_stream_set_loop(s, loop.get()), SSEKIT_OK);
    }
    ASSERT_EQ(ssekit_stream_start(s), SSEKIT_OK);
    ASSERT_TRUE(rec.WaitEvents(static_cast<std::size_t>(1 + i * 300)));
    ASSERT_EQ(ssekit_stream_close(s), SSEKIT_OK);
    // `closed` ran before close returned.
    EXPECT_EQ(rec.ClosedCount(), 1u) << "iteration " << i;
    rec.MarkCloseReturned();
    const auto events = ssekit_stream_metric(s, SSEKIT_METRIC_EVENTS);
    EXPECT_EQ(events, rec.EventCount());
  }
  std::this_thread::sleep_for(milliseconds(100));
  for (std::size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(recs[i]->LateCallbacks(), 0) << "iteration " << i;
    EXPECT_EQ(recs[i]->Get(&Recorder::closed),
              std::vector<int>{SSEKIT_E_CLOSED});
    EXPECT_EQ(ssekit_stream_metric(streams[i].get(), SSEKIT_METRIC_EVENTS),
              recs[i]->EventCount());
  }
  streams.clear();
}

INSTANTIATE_TEST_SUITE_P(Loops, CloseRaceTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "OwnLoop" : "DefaultLoop";
                         });

struct CycleCounter {
  std::atomic<int> closed{0};
  std::atomic<int> opened{0};
  std::atomic<int> errors{0};
};

class StartCloseCycleTest : public ClientTest,
                            public ::testing::WithParamInterface<bool> {};

TEST_P(StartCloseCycleTest, ThousandCyclesLeakNothingAndStayFast) {
  const bool own_loop = GetParam();
  LoopPtr loop(own_loop ? ssekit_loop_new() : nullptr);
  if (own_loop) {
    ASSERT_TRUE(loop);
  }
  const std::string url = Url("/events?count=1&end=hang");
  CycleCounter counter;
  int baseline = -1;
  const auto t0 = Clock::now();
  constexpr int kCycles = 1000;
  for (int i = 0; i < kCycles; ++i) {
    ssekit_stream* s = ssekit_stream_new(url.c_str());
    ASSERT_NE(s, nullptr);
    if (own_loop) {
      ASSERT_EQ(ssekit_stream_set_loop(s, loop.get()), SSEKIT_OK);
    }
    ASSERT_EQ(ssekit_stream_set_proxy(s, ""), SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_set_userdata(s, &counter), SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_on_closed(s,
                                      [](int, void* ud) {
                                        static_cast<CycleCounter*>(ud)
                                            ->closed.fetch_add(1);
                                      }),
              SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_on_open(s,
                                    [](const ssekit_response*, void* ud) {
                                      static_cast<CycleCounter*>(ud)
                                          ->opened.fetch_add(1);
                                    }),
              SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_on_error(s,
                                     [](int, int, const char*, int, uint64_t,
                                        void* ud) {
                                       static_cast<CycleCounter*>(ud)
                                           ->errors.fetch_add(1);
                                     }),
              SSEKIT_OK);
    // Taken before start: the open callback may run before start returns.
    const int opened = counter.opened.load();
    ASSERT_EQ(ssekit_stream_start(s), SSEKIT_OK);
    if (i % 100 == 0) {
      EXPECT_TRUE(PollUntil([&] { return counter.opened.load() > opened; }))
          << "cycle " << i << " never opened; state "
          << ssekit_stream_state(s) << ", errors " << counter.errors.load();
    }
    switch (i % 3) {
      case 0:
        EXPECT_EQ(ssekit_stream_close(s), SSEKIT_OK);
        ssekit_stream_free(s);
        break;
      case 1:
        ssekit_stream_free(s);
        break;
      default:
        EXPECT_EQ(ssekit_stream_close(s), SSEKIT_OK);
        EXPECT_EQ(ssekit_stream_close(s), SSEKIT_OK);
        ssekit_stream_free(s);
        break;
    }
    ASSERT_EQ(counter.closed.load(), i + 1)
        << "cycle " << i << ": closed did not run exactly once before return";
    // Measured after the first cycle: the loop's own descriptors and
    // libcurl's lazily made ones exist by then.
    if (i == 0) baseline = OpenFds();
  }
  const auto elapsed = Clock::now() - t0;
  EXPECT_LT(elapsed, std::chrono::seconds(30));
  EXPECT_LE(OpenFds(), baseline + 8) << "descriptors leak across cycles";
  loop.reset();
  EXPECT_EQ(counter.closed.load(), kCycles);
}

INSTANTIATE_TEST_SUITE_P(Loops, StartCloseCycleTest,
                         ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "OwnLoop" : "DefaultLoop";
                         });

TEST_F(LifecycleTest, FiftyStreamsRunConcurrentlyOnOneLoop) {
  LoopPtr loop(ssekit_loop_new());
  ASSERT_TRUE(loop);
  constexpr int kStreams = 50;
  static std::atomic<int> active{0};
  static std::atomic<int> overlaps{0};
  active = 0;
  overlaps = 0;
  std::vector<std::unique_ptr<Recorder>> recs;
  std::vector<StreamPtr> streams;
  for (int i = 0; i < kStreams; ++i) {
    recs.push_back(std::make_unique<Recorder>());
    streams.push_back(
        NewStream(Url("/events?count=20&interval_ms=5"), *recs.back()));
    recs.back()->event_hook = [](Recorder&, const RecEvent&) {
      if (active.fetch_add(1) != 0) overlaps.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      active.fetch_sub(1);
      return 0;
    };
    ASSERT_EQ(ssekit_stream_set_loop(streams.back().get(), loop.get()),
              SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_set_on_end(streams.back().get(), SSEKIT_END_FINISH),
              SSEKIT_OK);
  }
  const auto t0 = Clock::now();
  for (auto& s : streams) ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  std::vector<std::string> want;
  for (int i = 1; i <= 20; ++i) want.push_back(std::to_string(i));
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_TRUE(recs[i]->WaitClosed(milliseconds(15000))) << "stream " << i;
    EXPECT_EQ(recs[i]->Get(&Recorder::closed), std::vector<int>{SSEKIT_OK})
        << "stream " << i;
    EXPECT_EQ(recs[i]->Ids(), want) << "stream " << i;
    EXPECT_EQ(recs[i]->CallbackThread(), recs[0]->CallbackThread())
        << "streams of one loop must share its thread";
    EXPECT_EQ(recs[i]->OnCreatorThread(), 0);
  }
  // Run one after the other, 50 streams of 100 ms each would take 5 s.
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(4000));
  EXPECT_EQ(overlaps.load(), 0) << "callbacks of one loop overlapped";
  streams.clear();
}

TEST_F(LifecycleTest, FreeingALoopClosesItsOpenStreams) {
  LoopPtr loop(ssekit_loop_new());
  ASSERT_TRUE(loop);
  std::vector<std::unique_ptr<Recorder>> recs;
  std::vector<StreamPtr> streams;
  for (int i = 0; i < 3; ++i) {
    recs.push_back(std::make_unique<Recorder>());
    streams.push_back(
        NewStream(Url("/events?count=-1&interval_ms=20"), *recs.back()));
    ASSERT_EQ(ssekit_stream_set_loop(streams.back().get(), loop.get()),
              SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_start(streams.back().get()), SSEKIT_OK);
  }
  for (std::size_t i = 0; i < recs.size(); ++i) {
    ASSERT_TRUE(recs[i]->WaitEvents(1)) << "stream " << i << " got no event";
  }
  ssekit_loop_free(loop.release());
  for (std::size_t i = 0; i < recs.size(); ++i) {
    recs[i]->MarkCloseReturned();
    EXPECT_EQ(recs[i]->Get(&Recorder::closed),
              std::vector<int>{SSEKIT_E_CLOSED})
        << "stream " << i << ": closed must have run when loop_free returns";
    EXPECT_EQ(ssekit_stream_state(streams[i].get()), SSEKIT_STATE_CLOSED);
  }
  std::this_thread::sleep_for(milliseconds(60));
  for (auto& r : recs) EXPECT_EQ(r->LateCallbacks(), 0);
  // The handles are closed; freeing them needs no loop.
  streams.clear();
}

class SideBySideTest : public ClientTest,
                       public ::testing::WithParamInterface<bool> {};

// Event streams never end: a stream started while another one to the same
// host is open must get a connection of its own, not wait for that one.
TEST_P(SideBySideTest, StreamStartedWhileAnotherToTheSameHostIsOpenConnects) {
  const bool own_loop = GetParam();
  LoopPtr loop(own_loop ? ssekit_loop_new() : nullptr);
  if (own_loop) {
    ASSERT_TRUE(loop);
  }
  Recorder first;
  Recorder second;
  StreamPtr a = NewStream(Url("/events?count=-1&interval_ms=20"), first);
  StreamPtr b = NewStream(Url("/events?count=-1&interval_ms=20"), second);
  if (own_loop) {
    ASSERT_EQ(ssekit_stream_set_loop(a.get(), loop.get()), SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_set_loop(b.get(), loop.get()), SSEKIT_OK);
  }
  ASSERT_EQ(ssekit_stream_start(a.get()), SSEKIT_OK);
  ASSERT_TRUE(first.WaitEvents(1));
  ASSERT_EQ(ssekit_stream_start(b.get()), SSEKIT_OK);
  EXPECT_TRUE(second.WaitEvents(1)) << "requests made: "
                                    << server().Requests("/events").size();
  EXPECT_TRUE(first.WaitEvents(first.EventCount() + 2))
      << "the first stream stalled";
  a.reset();
  b.reset();
}

TEST_P(SideBySideTest, StreamsToTheSameHostStartedTogetherAllConnect) {
  const bool own_loop = GetParam();
  LoopPtr loop(own_loop ? ssekit_loop_new() : nullptr);
  if (own_loop) {
    ASSERT_TRUE(loop);
  }
  std::vector<std::unique_ptr<Recorder>> recs;
  std::vector<StreamPtr> streams;
  for (int i = 0; i < 3; ++i) {
    recs.push_back(std::make_unique<Recorder>());
    streams.push_back(
        NewStream(Url("/events?count=-1&interval_ms=20"), *recs.back()));
    if (own_loop) {
      ASSERT_EQ(ssekit_stream_set_loop(streams.back().get(), loop.get()),
                SSEKIT_OK);
    }
  }
  for (auto& s : streams) ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  for (std::size_t i = 0; i < recs.size(); ++i) {
    EXPECT_TRUE(recs[i]->WaitEvents(1))
        << "stream " << i << " got no event; requests made: "
        << server().Requests("/events").size();
  }
  streams.clear();
}

INSTANTIATE_TEST_SUITE_P(Loops, SideBySideTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "OwnLoop" : "DefaultLoop";
                         });

TEST_F(LifecycleTest, PauseStopsDeliveryAndResumeContinuesOnTheSameConnection) {
  Recorder rec;
  // Events 25 ms apart: each network read holds one of them.
  StreamPtr s = NewStream(Url("/events?count=-1&interval_ms=25"), rec);
  ASSERT_EQ(ssekit_stream_set_read_timeout(s.get(), 150), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(5));
  ASSERT_EQ(ssekit_stream_pause(s.get()), SSEKIT_OK);
  const std::size_t at_pause = rec.EventCount();
  std::this_thread::sleep_for(milliseconds(100));
  const std::size_t settled = rec.EventCount();
  // Longer than the read timeout, which must not run while paused.
  std::this_thread::sleep_for(milliseconds(400));
  const std::size_t later = rec.EventCount();
  EXPECT_LE(settled - at_pause, 3u) << "more than one read after pause";
  EXPECT_EQ(later, settled) << "events arrived while paused";

  ASSERT_EQ(ssekit_stream_resume(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(later + 5));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  ExpectNoErrors(rec);
  auto ids = rec.Ids();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(ids[i], std::to_string(i + 1)) << "event lost or repeated";
  }
  EXPECT_EQ(server().Requests("/events").size(), 1u);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_RECONNECTS), 0u);
}

TEST_F(LifecycleTest, PauseInsideTheEventCallbackTakesEffectAfterThatRead) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=-1&interval_ms=25"), rec);
  std::atomic<int> pause_rc{1};
  rec.event_hook = [&pause_rc](Recorder& r, const RecEvent& e) {
    if (e.id == "3") pause_rc.store(ssekit_stream_pause(r.stream()));
    return 0;
  };
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(3));
  std::this_thread::sleep_for(milliseconds(200));
  const std::size_t paused = rec.EventCount();
  EXPECT_EQ(pause_rc.load(), SSEKIT_OK);
  // The read that held event 3 may have held the next one too.
  EXPECT_LE(paused, 4u);
  ASSERT_EQ(ssekit_stream_resume(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(paused + 3));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  auto ids = rec.Ids();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(ids[i], std::to_string(i + 1)) << "event lost or repeated";
  }
}

TEST_F(LifecycleTest, SettersAfterStartAreStateErrors) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=-1&interval_ms=50"), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ssekit_stream* p = s.get();
  EXPECT_EQ(ssekit_stream_start(p), SSEKIT_E_STATE);
  EXPECT_EQ(ssekit_stream_set_method(p, "POST"), SSEKIT_E_STATE);
  EXPECT_EQ(ssekit_stream_add_header(p, "X-A", "b"), SSEKIT_E_STATE);
  EXPECT_EQ(ssekit_stream_set_initial_delay(p, 10), SSEKIT_E_STATE);
  EXPECT_EQ(ssekit_stream_set_read_timeout(p, 10), SSEKIT_E_STATE);
  EXPECT_EQ(ssekit_stream_on_event(p, nullptr), SSEKIT_E_STATE);
  EXPECT_EQ(ssekit_stream_set_userdata(p, nullptr), SSEKIT_E_STATE);
  ASSERT_EQ(ssekit_stream_close(p), SSEKIT_OK);
  EXPECT_EQ(ssekit_stream_close(p), SSEKIT_OK);
  EXPECT_EQ(ssekit_stream_start(p), SSEKIT_E_STATE);
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_CLOSED});
}

TEST_F(LifecycleTest, NeverStartedStreamsAndNullHandlesAreHarmless) {
  EXPECT_EQ(ssekit_stream_new(nullptr), nullptr);
  ssekit_stream_free(nullptr);
  ssekit_loop_free(nullptr);
  EXPECT_EQ(ssekit_stream_state(nullptr), SSEKIT_STATE_CLOSED);
  EXPECT_EQ(ssekit_stream_set_initial_delay(nullptr, 1), SSEKIT_E_INVALID);
  EXPECT_EQ(ssekit_stream_start(nullptr), SSEKIT_E_INVALID);

  Recorder rec;
  StreamPtr s = NewStream(Url("/events"), rec);
  EXPECT_EQ(ssekit_stream_state(s.get()), SSEKIT_STATE_CLOSED);
  EXPECT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  EXPECT_EQ(StreamUrl(s.get()), Url("/events"));
  char small[4];
  std::size_t len = 0;
  EXPECT_EQ(ssekit_stream_url(s.get(), small, sizeof small, &len),
            SSEKIT_E_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, Url("/events").size());
  s.reset();
  EXPECT_TRUE(rec.Get(&Recorder::log).empty())
      << "a stream that never started has no callbacks, not even closed";
  EXPECT_EQ(server().Requests("/events").size(), 0u);
}

}  // namespace
}  // namespace ssekit_test
