// The ssekit client, through the C API only, against SSE servers built on
// sse-starlette (uvicorn) and better-sse (Node). Each server runs once per
// process; the routes and their events are described in tests/interop/README.md.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "interop_server.h"
#include "recorder.h"
#include "ssekit.h"

namespace ssekit_interop {
namespace {

using ssekit_test::RecError;
using ssekit_test::RecEvent;
using ssekit_test::Recorder;
using std::chrono::milliseconds;

// Generous: a wait only runs this long when the behaviour under test is
// missing, and sanitizer builds on a shared machine are slow.
constexpr milliseconds kWait(10000);
// How long to watch for something that must not happen (a reconnect, a
// second request) after a stream has closed.
constexpr milliseconds kQuiet(300);

class Servers : public ::testing::Environment {
 public:
  static InteropServer& Get(const std::string& name) {
    std::unique_ptr<InteropServer>& slot = Map()[name];
    if (!slot) slot = std::make_unique<InteropServer>(name);
    return *slot;
  }
  void TearDown() override { Map().clear(); }

 private:
  static std::map<std::string, std::unique_ptr<InteropServer>>& Map() {
    static std::map<std::string, std::unique_ptr<InteropServer>> servers;
    return servers;
  }
};

[[maybe_unused]] ::testing::Environment* const kServers =
    ::testing::AddGlobalTestEnvironment(new Servers);

struct StreamFree {
  void operator()(ssekit_stream* s) const { ssekit_stream_free(s); }
};
using StreamPtr = std::unique_ptr<ssekit_stream, StreamFree>;

// Event i of /stream and /close-after, the same on both servers.
RecEvent Numbered(int i) {
  const std::string n = std::to_string(i);
  switch (i % 3) {
    case 1:
      return {"tick", "tick " + n, n};
    case 2:
      return {"multi",
              "first line of " + n +
                  "\nsecond line\n\nfourth line after an empty one",
              n};
    default:
      // "héllo wörld ✓ 日本語 🚀 " as UTF-8 bytes, whatever the source
      // file's encoding is taken to be.
      return {"unicode",
              "h\xC3\xA9llo w\xC3\xB6rld \xE2\x9C\x93 "
              "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xF0\x9F\x9A\x80 " +
                  n,
              n};
  }
}

void ExpectNumbered(const std::vector<RecEvent>& got, int first, int last) {
  ASSERT_EQ(got.size(), static_cast<std::size_t>(last - first + 1))
      << "expected events " << first << ".." << last;
  for (int i = first; i <= last; ++i) {
    SCOPED_TRACE("event " + std::to_string(i));
    const RecEvent want = Numbered(i);
    const RecEvent& e = got[static_cast<std::size_t>(i - first)];
    EXPECT_EQ(e.type, want.type);
    EXPECT_EQ(e.data, want.data);
    EXPECT_EQ(e.id, want.id);
  }
}

// Returns early when the stream closes, so a failure does not wait out the
// whole timeout.
bool WaitEventsOrClosed(Recorder& rec, std::size_t n, milliseconds timeout) {
  rec.WaitFor(
      [n](const Recorder& r) { return r.events.size() >= n || !r.closed.empty(); },
      timeout);
  return rec.EventCount() >= n;
}

std::string Describe(const std::vector<RecError>& errors) {
  std::ostringstream out;
  for (const RecError& e : errors) {
    out << "\n  " << ssekit_strerror(e.code) << " (" << e.code
        << "), status " << e.http_status << ", will_retry " << e.will_retry
        << ": " << e.message;
  }
  return out.str();
}

std::string Describe(const std::vector<TappedRequest>& requests) {
  std::ostringstream out;
  for (const TappedRequest& r : requests) out << "\n  " << r.method << " " << r.target;
  return out.str();
}

class InteropTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    server_ = &Servers::Get(GetParam());
    ASSERT_TRUE(server_->ok()) << server_->error();
    loop_ = ssekit_loop_new();
    ASSERT_NE(loop_, nullptr);
  }
  void TearDown() override {
    ssekit_loop_free(loop_);
    loop_ = nullptr;
    if (HasFailure() && server_ != nullptr && server_->ok()) {
      std::cerr << "--- " << server_->name() << " server output ---\n"
                << server_->Log() << "---\n";
    }
  }

  // A stream on this test's loop with every callback recorded by rec. The
  // recorder must outlive the stream.
  StreamPtr NewStream(Recorder& rec, const std::string& url) {
    StreamPtr s(ssekit_stream_new(url.c_str()));
    if (!s) {
      ADD_FAILURE() << "ssekit_stream_new(" << url << ") returned NULL";
      return s;
    }
    EXPECT_EQ(ssekit_stream_set_loop(s.get(), loop_), SSEKIT_OK);
    EXPECT_TRUE(rec.Attach(s.get()));
    return s;
  }

  bool IsStarlette() const { return GetParam() == "starlette"; }

  InteropServer* server_ = nullptr;
  ssekit_loop* loop_ = nullptr;
};

std::string ParamName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

TEST_P(InteropTest, StreamDeliversTypesMultiLineAndUnicodeDataByteExact) {
  Recorder rec;
  StreamPtr s = NewStream(rec, server_->Url("/stream?count=6&retry=1500"));
  ASSERT_TRUE(s);
  ASSERT_TRUE(rec.Listen("unicode"));
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed(kWait)) << Describe(rec.Get(&Recorder::errors));

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  ExpectNumbered(rec.Get(&Recorder::events), 1, 6);
  std::vector<std::string> unicode_ids;
  for (const RecEvent& e : rec.Get(&Recorder::listener_events)) {
    unicode_ids.push_back(e.id);
  }
  EXPECT_EQ(unicode_ids, (std::vector<std::string>{"3", "6"}));

  const auto opens = rec.Get(&Recorder::opens);
  ASSERT_EQ(opens.size(), 1u);
  EXPECT_EQ(opens[0].status, 200);
  EXPECT_EQ(opens[0].content_type.rfind("text/event-stream", 0), 0u)
      << "Content-Type: " << opens[0].content_type;
  EXPECT_GT(opens[0].header_count, 1u);
  // No Last-Event-ID goes out before the stream has an id.
  EXPECT_EQ(opens[0].last_event_id_seen, "");
  EXPECT_EQ(rec.Get(&Recorder::retries), std::vector<std::uint64_t>{1500});
  EXPECT_TRUE(rec.Get(&Recorder::errors).empty())
      << Describe(rec.Get(&Recorder::errors));
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_EVENTS), 6u);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_CONNECTIONS), 1u);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_RECONNECTS), 0u);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_LAST_STATUS), 200u);
  char id[16];
  std::size_t id_len = 0;
  ASSERT_EQ(ssekit_stream_last_event_id(s.get(), id, sizeof id, &id_len),
            SSEKIT_OK);
  EXPECT_EQ(std::string(id, id_len), "6");
}

TEST_P(InteropTest, ReconnectsWithLastEventIdUntilTheServerAnswers204) {
  Recorder rec;
  // Two events per connection, 7 in all, then 204 for the request resuming
  // after 7.
  StreamPtr s =
      NewStream(rec, server_->Url("/close-after?n=2&total=7&retry=50"));
  ASSERT_TRUE(s);
  ASSERT_EQ(ssekit_stream_set_initial_delay(s.get(), 50), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_max_delay(s.get(), 200), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed(kWait)) << Describe(rec.Get(&Recorder::errors));

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_HTTP_STATUS});
  ExpectNumbered(rec.Get(&Recorder::events), 1, 7);

  std::vector<std::string> seen;
  for (const auto& o : rec.Get(&Recorder::opens)) {
    EXPECT_EQ(o.status, 200);
    seen.push_back(o.last_event_id_seen);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"", "2", "4", "6"}));

  const auto errors = rec.Get(&Recorder::errors);
  ASSERT_EQ(errors.size(), 5u) << Describe(errors);
  for (std::size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE("error " + std::to_string(i));
    EXPECT_EQ(errors[i].code, SSEKIT_E_STREAM_ENDED);
    EXPECT_EQ(errors[i].will_retry, 1);
  }
  EXPECT_EQ(errors[4].code, SSEKIT_E_HTTP_STATUS);
  EXPECT_EQ(errors[4].http_status, 204);
  EXPECT_EQ(errors[4].will_retry, 0);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_LAST_STATUS), 204u);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_CONNECTIONS), 4u);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_RECONNECTS), 4u);

  // 204 means stop: nothing may follow.
  std::this_thread::sleep_for(kQuiet);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_RECONNECTS), 4u);
  EXPECT_EQ(rec.Get(&Recorder::errors).size(), 5u);
  EXPECT_EQ(rec.ClosedCount(), 1u);
  EXPECT_EQ(ssekit_stream_state(s.get()), SSEKIT_STATE_CLOSED);
}

TEST_P(InteropTest, ResumesThroughTheLastEventIdQueryParameter) {
  WireTap tap(server_->port());
  ASSERT_TRUE(tap.ok());
  Recorder rec;
  const std::string path = "/close-after?n=2&total=5&retry=50";
  StreamPtr s = NewStream(rec, tap.Url(path));
  ASSERT_TRUE(s);
  ASSERT_EQ(ssekit_stream_set_last_event_id_param(s.get(), "lastEventId"),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_initial_delay(s.get(), 50), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_max_delay(s.get(), 200), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed(kWait)) << Describe(rec.Get(&Recorder::errors));

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_HTTP_STATUS});
  ExpectNumbered(rec.Get(&Recorder::events), 1, 5);

  const auto requests = tap.Requests();
  const std::vector<std::string> want_ids = {"", "2", "4", "5"};
  ASSERT_EQ(requests.size(), want_ids.size()) << Describe(requests);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    EXPECT_EQ(requests[i].method, "GET");
    EXPECT_EQ(requests[i].target,
              want_ids[i].empty() ? path : path + "&lastEventId=" + want_ids[i]);
    EXPECT_EQ(HeadHeader(requests[i].head, "Last-Event-ID"), want_ids[i]);
  }
  const auto errors = rec.Get(&Recorder::errors);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors.back().http_status, 204);
}

TEST_P(InteropTest, StartsFromAnInitialLastEventIdInHeaderAndQuery) {
  WireTap tap(server_->port());
  ASSERT_TRUE(tap.ok());
  Recorder rec;
  // A stale lastEventId in the URL must be replaced, not repeated.
  const std::string path = "/close-after?n=2&total=7&retry=50";
  StreamPtr s = NewStream(rec, tap.Url(path + "&lastEventId=junk"));
  ASSERT_TRUE(s);
  ASSERT_EQ(ssekit_stream_set_last_event_id(s.get(), "3", 1), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_last_event_id_param(s.get(), "lastEventId"),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_initial_delay(s.get(), 50), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_max_delay(s.get(), 200), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed(kWait)) << Describe(rec.Get(&Recorder::errors));

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_HTTP_STATUS});
  ExpectNumbered(rec.Get(&Recorder::events), 4, 7);
  std::vector<std::string> seen;
  for (const auto& o : rec.Get(&Recorder::opens)) {
    seen.push_back(o.last_event_id_seen);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"3", "5"}));

  const auto requests = tap.Requests();
  const std::vector<std::string> want_ids = {"3", "5", "7"};
  ASSERT_EQ(requests.size(), want_ids.size()) << Describe(requests);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    EXPECT_EQ(requests[i].target, path + "&lastEventId=" + want_ids[i]);
    EXPECT_EQ(HeadHeader(requests[i].head, "Last-Event-ID"), want_ids[i]);
  }
}

TEST_P(InteropTest, KeepAliveCommentsHoldOffTheReadTimeout) {
  Recorder rec;
  // Events 500 ms apart, the library's keep-alive every 100 ms, and a read
  // timeout in between: only the keep-alives keep the connection alive.
  StreamPtr s =
      NewStream(rec, server_->Url("/ping?count=3&gap_ms=500&ping_ms=100"));
  ASSERT_TRUE(s);
  ASSERT_EQ(ssekit_stream_set_read_timeout(s.get(), 300), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed(kWait)) << Describe(rec.Get(&Recorder::errors));

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  EXPECT_TRUE(rec.Get(&Recorder::errors).empty())
      << Describe(rec.Get(&Recorder::errors));
  EXPECT_EQ(rec.Get(&Recorder::opens).size(), 1u);
  std::vector<std::string> datas = rec.Datas();
  EXPECT_EQ(datas, (std::vector<std::string>{"tick 1", "tick 2", "tick 3"}));
  EXPECT_EQ(rec.Ids(), (std::vector<std::string>{"1", "2", "3"}));

  const auto comments = rec.Get(&Recorder::comments);
  EXPECT_GE(comments.size(), 6u);
  for (const std::string& c : comments) {
    if (IsStarlette()) {
      EXPECT_EQ(c.rfind("ping - ", 0), 0u) << "comment: " << c;
    } else {
      EXPECT_EQ(c, "") << "better-sse sends a bare ':' line";
    }
  }
  // Keep-alives arrived in every gap between events, not only at the end.
  std::size_t since_event = 0;
  int events = 0;
  for (const std::string& entry : rec.Get(&Recorder::log)) {
    if (entry == "comment") ++since_event;
    if (entry.rfind("event:", 0) == 0) {
      if (events > 0) {
        EXPECT_GE(since_event, 2u) << "keep-alives before event " << events + 1;
      }
      since_event = 0;
      ++events;
    }
  }
  EXPECT_EQ(events, 3);
}

TEST_P(InteropTest, ReadTimeoutFiresWhenKeepAlivesAreTooRare) {
  Recorder rec;
  StreamPtr s =
      NewStream(rec, server_->Url("/ping?count=2&gap_ms=1500&ping_ms=1000"));
  ASSERT_TRUE(s);
  ASSERT_EQ(ssekit_stream_set_read_timeout(s.get(), 200), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitErrors(1, kWait));
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);

  const auto errors = rec.Get(&Recorder::errors);
  EXPECT_EQ(errors[0].code, SSEKIT_E_READ_TIMEOUT) << Describe(errors);
  EXPECT_EQ(errors[0].will_retry, 1);
  EXPECT_EQ(rec.Get(&Recorder::opens).size(), 1u);
  EXPECT_EQ(rec.EventCount(), 0u);
  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_E_CLOSED});
}

// The prompt of the /post tests and the data of each event the server
// streams back for it.
const std::string kPrompt =
    "tokens arrive one by one: na\xC3\xAFve caf\xC3\xA9 "
    "\xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x9A\x80 done";

std::vector<std::string> TokenEvents(const std::string& prompt) {
  std::vector<std::string> words;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t space = prompt.find(' ', pos);
    if (space == std::string::npos) {
      words.push_back(prompt.substr(pos));
      break;
    }
    words.push_back(prompt.substr(pos, space + 1 - pos));
    pos = space + 1;
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    out.push_back("{\"index\":" + std::to_string(i) + ",\"token\":\"" +
                  words[i] + "\"}");
  }
  return out;
}

void ConfigurePost(ssekit_stream* s) {
  const std::string body =
      nlohmann::json{{"prompt", kPrompt}, {"delay_ms", 5}}.dump();
  ASSERT_EQ(ssekit_stream_set_method(s, "POST"), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_body(s, body.data(), body.size()), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_add_header(s, "Content-Type", "application/json"),
            SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_set_on_end(s, SSEKIT_END_FINISH), SSEKIT_OK);
  // A re-POST would show up quickly rather than after the default 3 s.
  ASSERT_EQ(ssekit_stream_set_initial_delay(s, 50), SSEKIT_OK);
}

void ExpectOnePost(const WireTap& tap) {
  std::this_thread::sleep_for(kQuiet);
  const auto requests = tap.Requests();
  ASSERT_EQ(requests.size(), 1u) << Describe(requests);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/post");
  EXPECT_EQ(HeadHeader(requests[0].head, "Content-Type"), "application/json");
  const auto body = nlohmann::json::parse(requests[0].body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << requests[0].body;
  EXPECT_EQ(body.value("prompt", std::string()), kPrompt);
}

TEST_P(InteropTest, PostStreamsTokensOnceAndStopsAtTheDoneSentinel) {
  WireTap tap(server_->port());
  ASSERT_TRUE(tap.ok());
  Recorder rec;
  StreamPtr s = NewStream(rec, tap.Url("/post"));
  ASSERT_TRUE(s);
  ConfigurePost(s.get());
  ASSERT_EQ(ssekit_stream_set_done_sentinel(s.get(), "[DONE]"), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed(kWait)) << Describe(rec.Get(&Recorder::errors));

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  EXPECT_EQ(rec.Datas(), TokenEvents(kPrompt));
  for (const RecEvent& e : rec.Get(&Recorder::events)) {
    EXPECT_EQ(e.type, "message");
    EXPECT_EQ(e.id, "");
  }
  EXPECT_TRUE(rec.Get(&Recorder::errors).empty())
      << Describe(rec.Get(&Recorder::errors));
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_CONNECTIONS), 1u);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_RECONNECTS), 0u);
  ExpectOnePost(tap);
}

TEST_P(InteropTest, PostWithoutSentinelFinishesAtTheEndOfTheBody) {
  WireTap tap(server_->port());
  ASSERT_TRUE(tap.ok());
  Recorder rec;
  StreamPtr s = NewStream(rec, tap.Url("/post"));
  ASSERT_TRUE(s);
  ConfigurePost(s.get());
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(rec.WaitClosed(kWait)) << Describe(rec.Get(&Recorder::errors));

  EXPECT_EQ(rec.Get(&Recorder::closed), std::vector<int>{SSEKIT_OK});
  std::vector<std::string> want = TokenEvents(kPrompt);
  want.emplace_back("[DONE]");
  EXPECT_EQ(rec.Datas(), want);
  EXPECT_EQ(ssekit_stream_metric(s.get(), SSEKIT_METRIC_RECONNECTS), 0u);
  ExpectOnePost(tap);
}

TEST_P(InteropTest, StreamsOfOneLoopToOneServerRunSideBySide) {
  // The server speaks HTTP/1.1, so every stream needs a connection of its
  // own while the others' responses are still running: two streams started
  // together, and a third started once the first is open.
  const std::string url = server_->Url("/stream?count=-1&interval_ms=50");
  Recorder recs[3];
  StreamPtr streams[3];
  for (int i = 0; i < 3; ++i) {
    streams[i] = NewStream(recs[i], url);
    ASSERT_TRUE(streams[i]);
  }
  ASSERT_EQ(ssekit_stream_start(streams[0].get()), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(streams[1].get()), SSEKIT_OK);
  ASSERT_TRUE(WaitEventsOrClosed(recs[0], 1, kWait))
      << Describe(recs[0].Get(&Recorder::errors));
  ASSERT_EQ(ssekit_stream_start(streams[2].get()), SSEKIT_OK);
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE("stream " + std::to_string(i));
    ssekit_stream* s = streams[i].get();
    EXPECT_TRUE(WaitEventsOrClosed(recs[i], 3, milliseconds(3000)))
        << recs[i].Get(&Recorder::opens).size() << " opens, state "
        << ssekit_stream_state(s) << ", connections "
        << ssekit_stream_metric(s, SSEKIT_METRIC_CONNECTIONS)
        << Describe(recs[i].Get(&Recorder::errors));
    const auto ids = recs[i].Ids();
    EXPECT_TRUE(!ids.empty() && ids.front() == "1");
  }
}

INSTANTIATE_TEST_SUITE_P(Servers, InteropTest,
                         ::testing::Values("starlette", "better-sse"),
                         ParamName);

// better-sse channels: one broadcast written to many sessions.
class ChannelTest : public InteropTest {};

TEST_P(ChannelTest, OneBroadcastReachesFiftyStreamsOfOneLoop) {
  constexpr std::size_t kStreams = 50;
  std::vector<std::unique_ptr<Recorder>> recs;
  std::vector<StreamPtr> streams;
  for (std::size_t i = 0; i < kStreams; ++i) {
    recs.push_back(std::make_unique<Recorder>());
    streams.push_back(NewStream(*recs.back(), server_->Url("/channel")));
    ASSERT_TRUE(streams.back());
    ASSERT_EQ(ssekit_stream_start(streams.back().get()), SSEKIT_OK);
  }
  for (std::size_t i = 0; i < kStreams; ++i) {
    recs[i]->WaitFor(
        [](const Recorder& r) { return !r.opens.empty() || !r.closed.empty(); },
        kWait);
    ASSERT_FALSE(recs[i]->Get(&Recorder::opens).empty())
        << "stream " << i << " never opened"
        << Describe(recs[i]->Get(&Recorder::errors));
  }
  // The server registers a session just after sending its headers.
  int sessions = -1;
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (sessions != static_cast<int>(kStreams) &&
         std::chrono::steady_clock::now() < deadline) {
    const HttpReply reply = HttpGet(server_->port(), "/channel/sessions");
    ASSERT_EQ(reply.status, 200);
    sessions = nlohmann::json::parse(reply.body).at("sessions").get<int>();
    if (sessions != static_cast<int>(kStreams)) {
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  ASSERT_EQ(sessions, static_cast<int>(kStreams));

  // "hello wörld", percent-encoded in the query.
  const HttpReply reply =
      HttpGet(server_->port(), "/broadcast?msg=hello%20w%C3%B6rld");
  ASSERT_EQ(reply.status, 200) << reply.head;
  const auto ack = nlohmann::json::parse(reply.body);
  EXPECT_EQ(ack.at("sessions").get<int>(), static_cast<int>(kStreams));
  const std::string seq = ack.at("id").get<std::string>();
  const std::string data =
      "{\"msg\":\"hello w\xC3\xB6rld\",\"seq\":" + seq + "}";

  for (std::size_t i = 0; i < kStreams; ++i) {
    SCOPED_TRACE("stream " + std::to_string(i));
    ASSERT_TRUE(recs[i]->WaitEvents(1, kWait));
  }
  std::this_thread::sleep_for(kQuiet);
  for (std::size_t i = 0; i < kStreams; ++i) {
    SCOPED_TRACE("stream " + std::to_string(i));
    const auto events = recs[i]->Get(&Recorder::events);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, "broadcast");
    EXPECT_EQ(events[0].id, seq);
    EXPECT_EQ(events[0].data, data);
    EXPECT_EQ(recs[i]->Get(&Recorder::opens).size(), 1u);
    EXPECT_TRUE(recs[i]->Get(&Recorder::errors).empty())
        << Describe(recs[i]->Get(&Recorder::errors));
  }

  streams.clear();
  for (std::size_t i = 0; i < kStreams; ++i) {
    EXPECT_EQ(recs[i]->Get(&Recorder::closed), std::vector<int>{SSEKIT_E_CLOSED})
        << "stream " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Servers, ChannelTest, ::testing::Values("better-sse"),
                         ParamName);

}  // namespace
}  // namespace ssekit_interop
