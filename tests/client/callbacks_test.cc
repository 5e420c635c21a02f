// Which callbacks run, in what order, with what arguments; metrics.

#include <algorithm>
#include <atomic>
#include <string>
#include <utility>
#include <vector>

#include "client_test.h"

namespace ssekit_test {
namespace {

using CallbackTest = ClientTest;

TEST_F(CallbackTest, TypeListenersRunBeforeTheCatchAllInArrivalOrder) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/echo"), rec);
  ASSERT_TRUE(rec.Listen("method"));
  ASSERT_TRUE(rec.Listen("body_length"));
  ASSERT_TRUE(rec.Listen("never-sent"));
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  std::vector<std::string> dispatch;
  for (const auto& e : rec.Get(&Recorder::log)) {
    if (e.compare(0, 6, "event:") == 0 || e.compare(0, 9, "listener:") == 0) {
      dispatch.push_back(e);
    }
  }
  EXPECT_EQ(dispatch, (std::vector<std::string>{
                          "listener:method", "event:method", "event:target",
                          "event:headers", "event:last_event_id",
                          "listener:body_length", "event:body_length",
                          "event:body"}));
  auto heard = rec.Get(&Recorder::listener_events);
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_EQ(heard[0].data, "GET");
  EXPECT_EQ(heard[1].data, "0");
}

TEST_F(CallbackTest, AddingAListenerForATypeReplacesTheEarlierOne) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=2&type=tick"), rec);
  ASSERT_TRUE(rec.Listen("tick"));
  ASSERT_TRUE(rec.Listen2("tick"));
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  auto log = rec.Get(&Recorder::log);
  EXPECT_TRUE(Filter(log, "listener:").empty());
  EXPECT_EQ(Filter(log, "listener2:"),
            (std::vector<std::string>{"listener2:tick", "listener2:tick"}));
  EXPECT_EQ(Filter(log, "event:"),
            (std::vector<std::string>{"event:tick", "event:tick"}));
}

TEST_F(CallbackTest, MessageListenerHearsEventsWithoutAType) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=2"), rec);
  ASSERT_TRUE(rec.Listen("message"));
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  auto heard = rec.Get(&Recorder::listener_events);
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_EQ(heard[0].type, "message");
  EXPECT_EQ(heard[0].data, "event 1");
  EXPECT_EQ(heard[1].id, "2");
}

TEST_F(CallbackTest, EventsCarryTypeDataAndId) {
  Recorder rec;
  StreamPtr s = NewStream(
      Url("/events?count=2&id_start=41&type=upd&lines=3&data=" +
          UrlEncode("x{id} \xc3\xa9")),
      rec);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  auto events = rec.Get(&Recorder::events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "upd");
  EXPECT_EQ(events[0].id, "41");
  EXPECT_EQ(events[0].data, "x41 \xc3\xa9\nx41 \xc3\xa9\nx41 \xc3\xa9");
  EXPECT_EQ(events[1].id, "42");
  EXPECT_EQ(StreamLastId(s.get()), "42");
}

TEST_F(CallbackTest, CommentsAreReportedInStreamOrder) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=4&comment_every=2"), rec);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::comments),
            (std::vector<std::string>{"keep-alive", "keep-alive"}));
  std::vector<std::string> order;
  for (const auto& e : rec.Get(&Recorder::log)) {
    if (e == "comment" || e.compare(0, 6, "event:") == 0) order.push_back(e);
  }
  EXPECT_EQ(order, (std::vector<std::string>{
                       "event:message", "event:message", "comment",
                       "event:message", "event:message", "comment"}));
}

TEST_F(CallbackTest, RetryCallbackReportsTheServersRetryField) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=1&retry=1234"), rec);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::retries), std::vector<std::uint64_t>{1234});
  auto log = rec.Get(&Recorder::log);
  auto retry = std::find(log.begin(), log.end(), "retry");
  auto event = std::find(log.begin(), log.end(), "event:message");
  EXPECT_LT(retry, event);
}

TEST_F(CallbackTest, OpenCallbackSeesStatusAndResponseHeaders) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=1"), rec);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  auto opens = rec.Get(&Recorder::opens);
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_EQ(opens[0].status, 200);
  EXPECT_EQ(opens[0].content_type, "text/event-stream");
  // Date, Server, X-Request-Seq, Content-Type, Cache-Control, framing, ...
  EXPECT_GE(opens[0].header_count, 5u);
  auto log = rec.Get(&Recorder::log);
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(Filter(log, "open").size(), 1u);
  auto open = std::find(log.begin(), log.end(), "open");
  auto event = std::find(log.begin(), log.end(), "event:message");
  EXPECT_LT(open, event);
  auto states = rec.Get(&Recorder::states);
  EXPECT_TRUE(IsSubsequence({SSEKIT_STATE_OPEN, SSEKIT_STATE_CLOSED}, states));
}

TEST_F(CallbackTest, ResponseHeadersCanBeListedInArrivalOrder) {
  struct Ctx {
    std::vector<std::pair<std::string, std::string>> headers;
    int out_of_range = 0;
    std::atomic<int> closed{1};
  } ctx;
  StreamPtr s = NewBareStream(Url("/events?count=1"));
  ASSERT_EQ(ssekit_stream_set_userdata(s.get(), &ctx), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_on_open(
                s.get(),
                [](const ssekit_response* r, void* ud) {
                  auto* c = static_cast<Ctx*>(ud);
                  const std::size_t n = ssekit_response_header_count(r);
                  for (std::size_t i = 0; i < n; ++i) {
                    const char* name = nullptr;
                    const char* value = nullptr;
                    if (ssekit_response_header_at(r, i, &name, &value) ==
                            SSEKIT_OK &&
                        name && value) {
                      c->headers.emplace_back(name, value);
                    }
                  }
                  const char* name = nullptr;
                  const char* value = nullptr;
                  if (ssekit_response_header_at(r, n, &name, &value) ==
                      SSEKIT_E_INVALID) {
                    ++c->out_of_range;
                  }
                }),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_on_closed(s.get(),
                                    [](int code, void* ud) {
                                      static_cast<Ctx*>(ud)->closed.store(code);
                                    }),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(PollUntil([&] { return ctx.closed.load() != 1; }));
  s.reset();

  EXPECT_EQ(ctx.closed.load(), SSEKIT_OK);
  EXPECT_EQ(ctx.out_of_range, 1);
  ASSERT_FALSE(ctx.headers.empty());
  // The server writes Date first, then Server and X-Request-Seq.
  EXPECT_EQ(ctx.headers[0].first, "Date");
  ASSERT_GE(ctx.headers.size(), 3u);
  EXPECT_EQ(ctx.headers[1].first, "Server");
  EXPECT_EQ(ctx.headers[1].second, "ssekit-sse-test-server");
  EXPECT_EQ(ctx.headers[2].first, "X-Request-Seq");
}

TEST_F(CallbackTest, NonZeroReturnFromEventCallbackClosesTheStream) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=5"), rec);
  rec.event_hook = [](Recorder&, const RecEvent&) { return 1; };
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());
  std::this_thread::sleep_for(milliseconds(50));

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_CLOSED});
  EXPECT_EQ(rec.EventCount(), 1u);
  auto log = rec.Get(&Recorder::log);
  ASSERT_GE(log.size(), 2u);
  EXPECT_EQ(log[log.size() - 2], "event:message");
  EXPECT_EQ(log.back(), "closed");
  EXPECT_EQ(ssekit_stream_state(s.get()), SSEKIT_STATE_CLOSED);
}

TEST_F(CallbackTest, MetricsCountEventsBytesAndStatus) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/events?count=3"), rec);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_EVENTS), 0u);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  // Three times "id: N\ndata: event N\n\n".
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_BYTES), 63u);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_EVENTS), 3u);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_RECONNECTS), 0u);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_LAST_STATUS), 200u);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_CONNECTIONS), 1u);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_DEDUPED), 0u);
  EXPECT_EQ(ssekit_stream_metric(s.get(), 999), 0u);
  EXPECT_EQ(ssekit_stream_metric(nullptr, SSEKIT_METRIC_EVENTS), 0u);
  EXPECT_EQ(rec.OnCreatorThread(), 0) << "a callback ran on the test thread";
  EXPECT_EQ(rec.ThreadSwitches(), 0) << "callbacks ran on several threads";
}

TEST_F(CallbackTest, MetricsCountReconnectsAndConnections) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/flaky?fail=2&count=2&key=" + Key()), rec);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed());

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_RECONNECTS), 2u);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_CONNECTIONS), 1u);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_EVENTS), 2u);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_LAST_STATUS), 200u);
}

TEST_F(CallbackTest, IdleMetricGrowsWhileTheServerIsSilent) {
  Recorder rec;
  StreamPtr s = NewStream(Url("/stall?after=1&ms=3000"), rec);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitEvents(1));
  EXPECT_LT(ssekit_stream_metric(s.get(), SSEKIT_METRIC_IDLE_MS), 250u);
  EXPECT_TRUE(PollUntil([&] {
    return ssekit_stream_metric(s.get(), SSEKIT_METRIC_IDLE_MS) >= 300;
  }));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
}

}  // namespace
}  // namespace ssekit_test
