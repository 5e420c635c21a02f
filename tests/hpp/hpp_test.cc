// The header-only C++ API (ssekit.hpp) against the fault-injecting server:
// lambdas, listeners, the failure view, closing and releasing from every
// side, exceptions thrown by callbacks, and moves. The suite links the shared
// library, as the header's users do.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "server_fixture.h"
#include "ssekit.hpp"

namespace {

using std::chrono::milliseconds;
using ssekit_test::TestServer;

// What a stream's callbacks saw, shared with them by a shared_ptr so that it
// outlives a released stream's callbacks, which the loop thread destroys.
struct Record {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> log;  // "<kind>:<type>:<data>", in arrival order
  std::vector<std::string> ids;
  int open_status = 0;
  std::string content_type;
  std::size_t open_headers = 0;
  int failure_code = 0;
  int failure_status = 0;
  bool failure_will_retry = true;
  std::string failure_body;
  std::string failure_ctype;
  std::size_t failure_headers = 0;
  std::vector<int> closed;

  void Add(std::string entry) {
    std::lock_guard<std::mutex> lock(mu);
    log.push_back(std::move(entry));
    cv.notify_all();
  }
  std::size_t Count(const std::string& prefix) {
    std::lock_guard<std::mutex> lock(mu);
    std::size_t n = 0;
    for (const auto& e : log) n += e.compare(0, prefix.size(), prefix) == 0;
    return n;
  }
  template <class Pred>
  bool Wait(Pred pred, milliseconds timeout = milliseconds(10000)) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [&] { return pred(*this); });
  }
  bool WaitClosed() {
    return Wait([](Record& r) { return !r.closed.empty(); });
  }
  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> lock(mu);
    return log;
  }
  std::vector<int> Closed() {
    std::lock_guard<std::mutex> lock(mu);
    return closed;
  }
};

// Polls pred until it holds, for what no callback announces.
template <class Pred>
bool PollUntil(Pred pred, milliseconds timeout = milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

class HppStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<TestServer>(ssekit_test::ServerOptions{});
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    ASSERT_TRUE(server_->ok()) << "test server failed: " << server_->error();
    server_->Reset();
  }

  static std::string Url(const std::string& path) { return server_->Url(path); }

  // A stream with short delays, no proxy, and every delivery recorded.
  static ssekit::Stream NewStream(const std::string& path, const std::shared_ptr<Record>& rec) {
    ssekit::Stream s(Url(path));
    s.set_proxy("")
        .set_initial_delay(milliseconds(20))
        .set_min_delay(milliseconds(10))
        .set_max_delay(milliseconds(200))
        .set_connect_timeout(milliseconds(5000))
        .on_open([rec](const ssekit::Response& r) {
          {
            std::lock_guard<std::mutex> lock(rec->mu);
            rec->open_status = r.status();
            rec->content_type = std::string(r.header("content-type").value_or("<none>"));
            rec->open_headers = r.headers().size();
          }
          rec->Add("open");
        })
        .on_event([rec](const ssekit::Event& ev) {
          {
            std::lock_guard<std::mutex> lock(rec->mu);
            rec->ids.emplace_back(ev.id);
          }
          rec->Add("event:" + std::string(ev.type) + ":" + std::string(ev.data));
        })
        .on_failure([rec](const ssekit::Failure& f) {
          {
            std::lock_guard<std::mutex> lock(rec->mu);
            rec->failure_code = f.code();
            rec->failure_status = f.status();
            rec->failure_will_retry = f.will_retry();
            rec->failure_body = std::string(f.body());
            rec->failure_ctype = std::string(f.header("Content-Type").value_or("<none>"));
            rec->failure_headers = f.headers().size();
          }
          rec->Add("failure:" + std::to_string(f.code()) + ":" + std::string(f.message()));
        })
        .on_closed([rec](int code) {
          std::lock_guard<std::mutex> lock(rec->mu);
          rec->closed.push_back(code);
          rec->cv.notify_all();
        });
    return s;
  }

  static inline std::unique_ptr<TestServer> server_;
};

TEST_F(HppStreamTest, DeliversEventsToLambdasOnItsOwnLoop) {
  ssekit::Loop loop;  // declared first: it must outlive the stream
  auto rec = std::make_shared<Record>();
  ssekit::Stream s = NewStream("/events?count=3", rec);
  std::vector<ssekit::State> states;  // on_state runs on the loop thread only
  std::mutex states_mu;
  s.set_loop(loop).set_on_end(ssekit::OnEnd::finish).on_state([&](ssekit::State st) {
    std::lock_guard<std::mutex> lock(states_mu);
    states.push_back(st);
  });
  s.start();
  ASSERT_TRUE(rec->WaitClosed());

  EXPECT_EQ(rec->Closed(), std::vector<int>{SSEKIT_OK});
  EXPECT_EQ(rec->Log(), (std::vector<std::string>{"open", "event:message:event 1",
                                                  "event:message:event 2",
                                                  "event:message:event 3"}));
  EXPECT_EQ(rec->ids, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(rec->open_status, 200);
  EXPECT_EQ(rec->content_type.rfind("text/event-stream", 0), 0u) << rec->content_type;
  EXPECT_GT(rec->open_headers, 0u);
  EXPECT_EQ(s.last_event_id(), "3");
  EXPECT_EQ(s.metric(ssekit::Metric::events), 3u);
  EXPECT_EQ(s.state(), ssekit::State::closed);
  EXPECT_EQ(s.url(), Url("/events?count=3"));
  std::lock_guard<std::mutex> lock(states_mu);
  ASSERT_GE(states.size(), 2u);
  EXPECT_EQ(states.front(), ssekit::State::connecting);
  EXPECT_EQ(states[1], ssekit::State::open);
  EXPECT_EQ(states.back(), ssekit::State::closed);
}

TEST_F(HppStreamTest, ListenersHooksAndTheRequestReachTheServer) {
  auto rec = std::make_shared<Record>();
  ssekit::Stream s = NewStream("/echo", rec);
  s.set_method("POST")
      .set_body("hello body")
      .add_header("Content-Type", "text/plain")
      .add_header("X-Dropped", "1")
      .remove_header("X-Dropped")
      .set_header("X-Set", "2")
      .set_last_event_id("41")
      .set_on_end(ssekit::OnEnd::finish)
      .on_headers([](ssekit::Headers& h) { h.set("X-Fresh", "token-1"); })
      .add_listener("method", [rec](const ssekit::Event& ev) {
        rec->Add("method:" + std::string(ev.data));
      })
      .add_listener("body", [rec](const ssekit::Event& ev) {
        rec->Add("body:" + std::string(ev.data));
      })
      .add_listener("never", [rec](const ssekit::Event&) { rec->Add("never"); });
  s.start();
  ASSERT_TRUE(rec->WaitClosed());

  EXPECT_EQ(rec->Closed(), std::vector<int>{SSEKIT_OK});
  const auto log = rec->Log();
  // A listener runs before on_event, for its own type only.
  std::vector<std::string> filtered;
  for (const auto& e : log) {
    if (e.rfind("method", 0) == 0 || e.rfind("body", 0) == 0 || e == "event:method:POST" ||
        e == "event:body:hello body" || e == "never") {
      filtered.push_back(e);
    }
  }
  EXPECT_EQ(filtered, (std::vector<std::string>{"method:POST", "event:method:POST",
                                                "body:hello body", "event:body:hello body"}));
  EXPECT_EQ(rec->Count("event:"), 6u);
  auto reqs = server_->Requests("/echo");
  ASSERT_EQ(reqs.size(), 1u);
  std::string value;
  EXPECT_TRUE(ssekit_test::RequestHeader(reqs[0], "x-fresh", &value));
  EXPECT_EQ(value, "token-1");
  EXPECT_TRUE(ssekit_test::RequestHeader(reqs[0], "last-event-id", &value));
  EXPECT_EQ(value, "41");
  EXPECT_TRUE(ssekit_test::RequestHeader(reqs[0], "x-set", &value));
  EXPECT_EQ(value, "2");
  EXPECT_FALSE(ssekit_test::RequestHeader(reqs[0], "x-dropped", &value));
}

TEST_F(HppStreamTest, ListenersChangeWhileTheStreamRuns) {
  auto rec = std::make_shared<Record>();
  ssekit::Stream s = NewStream("/events?count=-1&interval_ms=5&type=tick", rec);
  s.start();
  ASSERT_TRUE(rec->Wait([](Record& r) { return r.log.size() >= 3; }));

  // Added from this thread while events flow; removed by itself, from
  // inside its own call on the loop thread.
  std::atomic<int> calls{0};
  std::atomic<int> at_removal{-1};
  s.add_listener("tick", [&](const ssekit::Event&) {
    if (calls.fetch_add(1) + 1 == 3) {
      s.add_listener("tick", nullptr);
      at_removal = calls.load();
    }
  });
  ASSERT_TRUE(PollUntil([&] { return at_removal.load() == 3; }));
  const std::size_t events = rec->Count("event:tick:");
  ASSERT_TRUE(rec->Wait([&](Record& r) {
    std::size_t n = 0;
    for (const auto& e : r.log) n += e.rfind("event:tick:", 0) == 0;
    return n >= events + 5;
  }));
  EXPECT_EQ(calls.load(), 3);
  s.close();
  EXPECT_EQ(rec->Closed(), std::vector<int>{SSEKIT_E_CLOSED});
}

TEST_F(HppStreamTest, FailureViewCarriesStatusHeadersAndBody) {
  auto rec = std::make_shared<Record>();
  ssekit::Stream s = NewStream("/status/401?body=nope", rec);
  s.start();
  ASSERT_TRUE(rec->WaitClosed());

  EXPECT_EQ(rec->Closed(), std::vector<int>{SSEKIT_E_HTTP_STATUS});
  std::lock_guard<std::mutex> lock(rec->mu);
  EXPECT_EQ(rec->failure_code, SSEKIT_E_HTTP_STATUS);
  EXPECT_EQ(rec->failure_status, 401);
  EXPECT_FALSE(rec->failure_will_retry);
  EXPECT_EQ(rec->failure_body, "nope");
  EXPECT_EQ(rec->failure_ctype.rfind("text/plain", 0), 0u) << rec->failure_ctype;
  EXPECT_GT(rec->failure_headers, 0u);
}

TEST_F(HppStreamTest, AuthHookRetriesWithFreshHeaders) {
  auto rec = std::make_shared<Record>();
  ssekit::Stream s = NewStream("/status/401", rec);
  std::atomic<int> auth_calls{0};
  s.on_auth([&](int status, ssekit::Headers& h) {
    auth_calls.fetch_add(1);
    EXPECT_EQ(status, 401);
    h.set("Authorization", "Bearer fresh");
    return true;
  });
  s.start();
  ASSERT_TRUE(rec->WaitClosed());

  // A second 401 right after the retry fails the stream.
  EXPECT_EQ(rec->Closed(), std::vector<int>{SSEKIT_E_HTTP_STATUS});
  EXPECT_GE(auth_calls.load(), 1);
  auto reqs = server_->Requests("/status/401");
  ASSERT_EQ(reqs.size(), 2u);
  std::string value;
  EXPECT_TRUE(ssekit_test::RequestHeader(reqs[1], "authorization", &value));
  EXPECT_EQ(value, "Bearer fresh");
}

TEST_F(HppStreamTest, DeferredAuthResumesFromAnotherThreadWithANewHeader) {
  auto rec = std::make_shared<Record>();
  ssekit::Stream s = NewStream("/status/401", rec);
  std::atomic<int> defer_rc{1};
  std::atomic<int> auth_calls{0};
  s.on_auth([&](int, ssekit::Headers&) {
    auth_calls.fetch_add(1);
    defer_rc = s.defer_auth();
    rec->Add("deferred");
    return false;  // ignored once deferred
  });
  s.start();
  ASSERT_TRUE(rec->Wait([](Record& r) { return !r.log.empty() && r.log.back() == "deferred"; }));
  EXPECT_EQ(defer_rc.load(), SSEKIT_OK);
  EXPECT_EQ(s.state(), ssekit::State::connecting);
  s.set_header("Authorization", "Bearer later");
  EXPECT_EQ(s.resume_auth(true), SSEKIT_OK);
  ASSERT_TRUE(rec->WaitClosed());

  // The resumed attempt was the hook's one retry: its 401 fails the stream.
  EXPECT_EQ(rec->Closed(), std::vector<int>{SSEKIT_E_HTTP_STATUS});
  EXPECT_EQ(auth_calls.load(), 1);
  auto reqs = server_->Requests("/status/401");
  ASSERT_EQ(reqs.size(), 2u);
  std::string value;
  EXPECT_FALSE(ssekit_test::RequestHeader(reqs[0], "authorization", &value));
  EXPECT_TRUE(ssekit_test::RequestHeader(reqs[1], "authorization", &value));
  EXPECT_EQ(value, "Bearer later");
  // Only the auth hook may defer.
  EXPECT_EQ(s.defer_auth(), SSEKIT_E_STATE);
}

TEST_F(HppStreamTest, CloseFromInsideACallback) {
  auto rec = std::make_shared<Record>();
  ssekit::Stream s = NewStream("/events?count=-1&interval_ms=5", rec);
  std::atomic<int> seen{0};
  std::atomic<int> close_rc{1};
  s.on_event([&](const ssekit::Event&) {
    if (seen.fetch_add(1) + 1 == 2) close_rc = s.close();
  });
  s.start();
  ASSERT_TRUE(rec->WaitClosed());

  EXPECT_EQ(close_rc.load(), SSEKIT_OK);
  EXPECT_EQ(rec->Closed(), std::vector<int>{SSEKIT_E_CLOSED});
  // Nothing is delivered after a close from inside a callback.
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(seen.load(), 2);
  EXPECT_EQ(s.state(), ssekit::State::closed);
  EXPECT_EQ(s.restart(), SSEKIT_E_STATE);
}

TEST_F(HppStreamTest, DestructorWaitsForClosedAndFreesTheCallbacks) {
  auto rec = std::make_shared<Record>();
  auto token = std::make_shared<int>(0);
  {
    ssekit::Stream s = NewStream("/events?count=-1&interval_ms=5", rec);
    s.on_comment([token](std::string_view) {});
    s.start();
    ASSERT_TRUE(rec->Wait([](Record& r) { return r.log.size() >= 2; }));
  }
  // No waiting here: ~Stream returned after `closed`, then freed the state.
  EXPECT_EQ(rec->Closed(), std::vector<int>{SSEKIT_E_CLOSED});
  EXPECT_EQ(token.use_count(), 1);

  // An exception from on_closed itself is kept too.
  auto rec2 = std::make_shared<Record>();
  ssekit::Stream s2 = NewStream("/events?count=1", rec2);
  s2.set_on_end(ssekit::OnEnd::finish).on_closed([rec2](int code) {
    {
      std::lock_guard<std::mutex> lock(rec2->mu);
      rec2->closed.push_back(code);
      rec2->cv.notify_all();
    }
    throw std::runtime_error("from on_closed");
  });
  s2.start();
  ASSERT_TRUE(rec2->WaitClosed());
  EXPECT_TRUE(PollUntil([&] { return s2.callback_exception() != nullptr; }));
  EXPECT_THROW(s2.rethrow_callback_exception(), std::runtime_error);
  EXPECT_EQ(rec2->Closed(), std::vector<int>{SSEKIT_OK});
}

TEST_F(HppStreamTest, ReleaseRunsClosedAndFreesTheCallbacksOnTheLoop) {
  auto rec = std::make_shared<Record>();
  auto token = std::make_shared<int>(0);
  ssekit::Stream s = NewStream("/events?count=-1&interval_ms=5", rec);
  s.on_comment([token](std::string_view) {});
  s.start();
  ASSERT_TRUE(rec->Wait([](Record& r) { return r.log.size() >= 2; }));
  EXPECT_GT(token.use_count(), 1);

  s.release();
  EXPECT_FALSE(s);
  ASSERT_TRUE(rec->WaitClosed());
  EXPECT_EQ(rec->Closed(), std::vector<int>{SSEKIT_E_CLOSED});
  // The state, and the lambdas with it, go once `closed` has returned.
  EXPECT_TRUE(PollUntil([&] { return token.use_count() == 1; }));
  // A released Stream is empty: setters refuse, control calls say so.
  EXPECT_THROW(s.set_proxy(""), ssekit::Error);
  EXPECT_EQ(s.close(), SSEKIT_E_INVALID);
}

TEST_F(HppStreamTest, ReleaseAndDestroyFromInsideCallbacks) {
  // release() on the loop thread, from the stream's own event callback.
  auto rec = std::make_shared<Record>();
  auto token = std::make_shared<int>(0);
  auto released = std::make_shared<ssekit::Stream>(
      NewStream("/events?count=-1&interval_ms=5", rec));
  std::mutex mu;
  released->on_event([&mu, &released, token](const ssekit::Event&) {
    std::lock_guard<std::mutex> lock(mu);
    if (released) released->release();
  });
  released->start();
  ASSERT_TRUE(rec->WaitClosed());
  EXPECT_EQ(rec->Closed(), std::vector<int>{SSEKIT_E_CLOSED});
  EXPECT_TRUE(PollUntil([&] { return token.use_count() == 1; }));

  // The destructor on the loop thread, from the stream's own callback: the
  // C free cannot wait there, and the callbacks live on until `closed`.
  auto rec2 = std::make_shared<Record>();
  auto token2 = std::make_shared<int>(0);
  auto owned = std::make_unique<ssekit::Stream>(NewStream("/events?count=-1&interval_ms=5", rec2));
  std::atomic<int> calls{0};
  owned->on_event([&mu, &owned, &calls, token2](const ssekit::Event&) {
    calls.fetch_add(1);
    std::unique_ptr<ssekit::Stream> victim;
    {
      std::lock_guard<std::mutex> lock(mu);
      victim = std::move(owned);
    }
    victim.reset();
  });
  owned->start();
  ASSERT_TRUE(rec2->WaitClosed());
  EXPECT_EQ(rec2->Closed(), std::vector<int>{SSEKIT_E_CLOSED});
  EXPECT_TRUE(PollUntil([&] { return token2.use_count() == 1; }));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_FALSE(owned);
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(HppStreamTest, ExceptionFromALambdaClosesTheStreamAndIsSurfaced) {
  auto rec = std::make_shared<Record>();
  ssekit::Stream s = NewStream("/events?count=-1&interval_ms=5", rec);
  std::atomic<int> seen{0};
  s.on_event([&](const ssekit::Event& ev) {
    if (seen.fetch_add(1) + 1 == 2) throw std::runtime_error("boom at " + std::string(ev.id));
  });
  s.start();
  ASSERT_TRUE(rec->WaitClosed());

  EXPECT_EQ(rec->Closed(), std::vector<int>{SSEKIT_E_CLOSED});
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(seen.load(), 2);
  ASSERT_NE(s.callback_exception(), nullptr);
  try {
    s.rethrow_callback_exception();
    ADD_FAILURE() << "nothing rethrown";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "boom at 2");
  }
}

TEST_F(HppStreamTest, ExceptionFromAVoidCallbackOrAHookClosesTheStream) {
  // on_open returns nothing to the library: the trampoline closes the stream.
  auto rec = std::make_shared<Record>();
  ssekit::Stream s = NewStream("/events?count=-1&interval_ms=5", rec);
  s.on_open([](const ssekit::Response&) { throw std::logic_error("open refused"); });
  s.start();
  ASSERT_TRUE(rec->WaitClosed());
  EXPECT_EQ(rec->Closed(), std::vector<int>{SSEKIT_E_CLOSED});
  EXPECT_EQ(rec->Count("event:"), 0u);
  EXPECT_THROW(s.rethrow_callback_exception(), std::logic_error);

  // A throwing headers hook refuses to connect.
  auto rec2 = std::make_shared<Record>();
  ssekit::Stream s2 = NewStream("/echo", rec2);
  s2.on_headers([](ssekit::Headers& h) { h.set("Bad Name", "x"); });
  s2.start();
  ASSERT_TRUE(rec2->WaitClosed());
  EXPECT_EQ(rec2->Count("open"), 0u);
  EXPECT_TRUE(server_->Requests("/echo").empty());
  try {
    s2.rethrow_callback_exception();
    ADD_FAILURE() << "nothing rethrown";
  } catch (const ssekit::Error& e) {
    EXPECT_EQ(e.code(), SSEKIT_E_INVALID);
  }
}

TEST_F(HppStreamTest, MovesKeepTheHandleAndTheCallbacks) {
  auto rec = std::make_shared<Record>();
  ssekit::Stream a = NewStream("/events?count=2", rec);
  a.set_on_end(ssekit::OnEnd::finish);
  ssekit::Stream b(std::move(a));
  EXPECT_FALSE(a);
  EXPECT_THROW(a.set_proxy(""), ssekit::Error);
  ssekit::Stream c(Url("/never-started"));
  c = std::move(b);  // frees the stream c held, which never started
  ASSERT_TRUE(c);
  c.start();

  // A started stream moves too: the callbacks' state does not.
  std::vector<ssekit::Stream> streams;
  streams.push_back(std::move(c));
  ASSERT_TRUE(rec->WaitClosed());
  EXPECT_EQ(rec->Closed(), std::vector<int>{SSEKIT_OK});
  EXPECT_EQ(rec->Count("event:"), 2u);
  EXPECT_EQ(streams[0].last_event_id(), "2");
  EXPECT_THROW(streams[0].start(), ssekit::Error);
  streams.clear();  // ssekit_stream_free of a closed stream
  EXPECT_TRUE(server_->Requests("/never-started").empty());
}

TEST_F(HppStreamTest, SettersThrowErrorWithTheCode) {
  ssekit::Stream s(Url("/events"));
  auto code_of = [](auto&& f) {
    try {
      f();
    } catch (const ssekit::Error& e) {
      return e.code();
    }
    return 0;
  };
  EXPECT_EQ(code_of([&] { s.add_header("Bad Name", "v"); }), SSEKIT_E_INVALID);
  EXPECT_EQ(code_of([&] { s.add_header("X-Nul", std::string("a\0b", 3)); }), SSEKIT_E_INVALID);
  EXPECT_EQ(code_of([&] { s.set_read_timeout(milliseconds(-1)); }), SSEKIT_E_INVALID);
  EXPECT_EQ(code_of([&] { s.set_on_end(static_cast<ssekit::OnEnd>(7)); }), SSEKIT_E_INVALID);
  try {
    s.add_header("Bad Name", "v");
  } catch (const ssekit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("ssekit_stream_add_header"), std::string::npos)
        << e.what();
  }
  // Every setter is chainable and accepted before start.
  s.set_proxy("")
      .set_max_retry_after(std::chrono::minutes(1))
      .set_reset_after(std::chrono::seconds(30))
      .set_max_retry_time(milliseconds(0))
      .set_strict(false)
      .set_done_sentinel("[DONE]")
      .set_dispatch_unterminated()
      .set_dedupe()
      .set_max_line(1 << 16)
      .set_max_event(1 << 20)
      .set_event_timeout(milliseconds(0))
      .set_error_body(1024, milliseconds(1000))
      .set_redirect_headers(false)
      .set_insecure_redirects(false)
      .set_insecure(false)
      .set_max_redirects(3)
      .set_last_event_id_param("last");
  EXPECT_EQ(s.url(), Url("/events"));
}

TEST(HppParserTest, ParsesAndKeepsTheCallbacksThroughMoves) {
  std::vector<std::string> events;
  std::vector<std::string> comments;
  std::vector<milliseconds> retries;
  ssekit::Parser p;
  p.on_event([&](const ssekit::Event& ev) {
     events.push_back(std::string(ev.type) + "|" + std::string(ev.data) + "|" +
                      std::string(ev.id));
   })
      .on_comment([&](std::string_view c) { comments.emplace_back(c); })
      .on_retry([&](milliseconds ms) { retries.push_back(ms); });
  ssekit::Parser q = std::move(p);
  EXPECT_FALSE(p);
  const std::string_view stream = "retry: 250\n: hi\nid: a\nevent: t\ndata: x\ndata: y\n\ndata: z\n\n";
  for (char ch : stream) ASSERT_EQ(q.feed(std::string_view(&ch, 1)), SSEKIT_OK);
  ASSERT_EQ(q.finish(), SSEKIT_OK);
  EXPECT_EQ(events, (std::vector<std::string>{"t|x\ny|a", "message|z|a"}));
  EXPECT_EQ(comments, std::vector<std::string>{"hi"});
  EXPECT_EQ(retries, std::vector<milliseconds>{milliseconds(250)});
  EXPECT_EQ(q.last_event_id(), "a");
  EXPECT_EQ(q.feed("data: late\n\n"), SSEKIT_E_STATE);
  q.reset();
  EXPECT_EQ(q.feed("data: again\n\n"), SSEKIT_OK);
  EXPECT_EQ(events.back(), "message|again|");
}

TEST(HppParserTest, LimitsAreCodesAndCallbackExceptionsAreRethrown) {
  ssekit::Parser p;
  p.set_max_line(8);
  EXPECT_EQ(p.feed("event: much-too-long\n"), SSEKIT_E_LINE_TOO_LONG);
  EXPECT_FALSE(p.error_message().empty());
  p.reset();
  EXPECT_TRUE(p.error_message().empty());

  int calls = 0;
  p.on_event([&](const ssekit::Event&) {
    ++calls;
    throw std::out_of_range("stop here");
  });
  EXPECT_THROW((void)p.feed("data: 1\n\ndata: 2\n\n"), std::out_of_range);
  EXPECT_EQ(calls, 1);
  // The parser stopped where the callback threw, until reset.
  EXPECT_EQ(p.finish(), SSEKIT_E_CALLBACK);
  p.on_event(nullptr);
  p.reset();
  EXPECT_EQ(p.feed("data: 3\n\n"), SSEKIT_OK);
}

TEST_F(HppStreamTest, AQueueDeliversItemsAndIteratesInBatches) {
  ssekit::Queue q;
  int tag_a = 0, tag_b = 0;
  auto unused = std::make_shared<Record>();
  ssekit::Stream a = NewStream("/events?count=3", unused);
  ssekit::Stream b = NewStream("/events?count=2&type=t", unused);
  a.set_on_end(ssekit::OnEnd::finish).set_queue(q, &tag_a);
  b.set_on_end(ssekit::OnEnd::finish).set_queue(q, &tag_b);
  a.start();
  b.start();
  std::map<void*, std::vector<std::string>> datas;
  std::map<void*, int> closed;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (closed.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    ssekit::Batch batch = q.take(milliseconds(100));
    if (!batch) continue;
    EXPECT_GT(batch.size(), 0u);
    for (const ssekit::Item& item : batch) {
      if (item.kind() == ssekit::ItemKind::event) {
        datas[item.tag()].emplace_back(std::string(item.event().type) + ":" +
                                       std::string(item.event().data));
      }
      if (item.kind() == ssekit::ItemKind::closed) closed[item.tag()] = item.code();
    }
  }
  EXPECT_EQ(datas[&tag_a],
            (std::vector<std::string>{"message:event 1", "message:event 2", "message:event 3"}));
  EXPECT_EQ(datas[&tag_b], (std::vector<std::string>{"t:event 1", "t:event 2"}));
  EXPECT_EQ(closed[&tag_a], SSEKIT_OK);
  EXPECT_EQ(closed[&tag_b], SSEKIT_OK);
  // The callbacks were not used in queue mode.
  EXPECT_TRUE(unused->Log().empty());
  EXPECT_FALSE(q.take(milliseconds(0)));
  EXPECT_GE(q.fd(), 0);
}

}  // namespace
