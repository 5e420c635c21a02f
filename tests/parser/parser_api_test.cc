// Parser behaviour that a table of streams cannot show: callbacks that stop
// the parser, the last event ID accessor, argument checks and memory bounds.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ssekit.h"

namespace {

struct ParserDeleter {
  void operator()(ssekit_parser* p) const { ssekit_parser_free(p); }
};
using ParserPtr = std::unique_ptr<ssekit_parser, ParserDeleter>;

struct Log {
  std::vector<std::string> events;  // data, then "|" and the id
  std::vector<std::string> comments;
  std::vector<std::uint64_t> retries;
  // Index of the callback (counting all kinds) that returns non-zero; -1 for
  // none.
  int stop_at = -1;
  int calls = 0;

  int Next() { return calls++ == stop_at ? 1 : 0; }
};

int OnEvent(const ssekit_event* e, void* userdata) {
  auto* log = static_cast<Log*>(userdata);
  log->events.push_back(std::string(e->data, e->data_len) + "|" +
                        std::string(e->id, e->id_len));
  return log->Next();
}

int OnComment(const char* text, std::size_t len, void* userdata) {
  auto* log = static_cast<Log*>(userdata);
  log->comments.emplace_back(text, len);
  return log->Next();
}

int OnRetry(std::uint64_t retry_ms, void* userdata) {
  auto* log = static_cast<Log*>(userdata);
  log->retries.push_back(retry_ms);
  return log->Next();
}

ParserPtr NewParser(Log* log) {
  ParserPtr p(ssekit_parser_new());
  EXPECT_TRUE(p);
  if (!p) return p;
  EXPECT_EQ(ssekit_parser_set_userdata(p.get(), log), SSEKIT_OK);
  EXPECT_EQ(ssekit_parser_on_event(p.get(), OnEvent), SSEKIT_OK);
  EXPECT_EQ(ssekit_parser_on_comment(p.get(), OnComment), SSEKIT_OK);
  EXPECT_EQ(ssekit_parser_on_retry(p.get(), OnRetry), SSEKIT_OK);
  return p;
}

int Feed(ssekit_parser* p, const std::string& s) {
  return ssekit_parser_feed(p, s.data(), s.size());
}

std::string LastId(const ssekit_parser* p) {
  std::size_t len = 12345;
  const char* id = ssekit_parser_last_event_id(p, &len);
  EXPECT_NE(id, nullptr);
  if (id == nullptr) return "<NULL>";
  return std::string(id, len);
}

bool HasErrorMessage(const ssekit_parser* p) {
  const char* msg = ssekit_parser_error_message(p);
  return msg != nullptr && msg[0] != '\0';
}

TEST(ParserCallbackStop, EventCallbackStopsInTheMiddleOfAChunk) {
  Log log;
  log.stop_at = 0;
  ParserPtr p = NewParser(&log);
  ASSERT_TRUE(p);
  EXPECT_STREQ(ssekit_parser_error_message(p.get()), "");

  EXPECT_EQ(Feed(p.get(), "data: 1\n\ndata: 2\n\n: c\nretry: 5\n"),
            SSEKIT_E_CALLBACK);
  EXPECT_EQ(log.events, std::vector<std::string>{"1|"});
  EXPECT_TRUE(log.comments.empty());
  EXPECT_TRUE(log.retries.empty());
  EXPECT_TRUE(HasErrorMessage(p.get()));

  // The stop sticks: nothing more is parsed until reset.
  EXPECT_NE(Feed(p.get(), "data: 3\n\n"), SSEKIT_OK);
  EXPECT_EQ(ssekit_parser_finish(p.get()), SSEKIT_E_CALLBACK);
  EXPECT_EQ(log.events.size(), 1u);

  log.stop_at = -1;
  ASSERT_EQ(ssekit_parser_reset(p.get()), SSEKIT_OK);
  EXPECT_STREQ(ssekit_parser_error_message(p.get()), "");
  EXPECT_EQ(Feed(p.get(), "data: 4\n\n"), SSEKIT_OK);
  EXPECT_EQ(log.events, (std::vector<std::string>{"1|", "4|"}));
}

TEST(ParserCallbackStop, StopOnTheSecondEventOfAChunk) {
  Log log;
  log.stop_at = 1;
  ParserPtr p = NewParser(&log);
  ASSERT_TRUE(p);
  EXPECT_EQ(Feed(p.get(), "data: 1\n\ndata: 2\n\ndata: 3\n\n"),
            SSEKIT_E_CALLBACK);
  EXPECT_EQ(log.events, (std::vector<std::string>{"1|", "2|"}));
}

TEST(ParserCallbackStop, CommentCallbackStops) {
  Log log;
  log.stop_at = 0;
  ParserPtr p = NewParser(&log);
  ASSERT_TRUE(p);
  EXPECT_EQ(Feed(p.get(), ": a\n: b\ndata: x\n\n"), SSEKIT_E_CALLBACK);
  EXPECT_EQ(log.comments, std::vector<std::string>{"a"});
  EXPECT_TRUE(log.events.empty());
  EXPECT_TRUE(HasErrorMessage(p.get()));
}

TEST(ParserCallbackStop, RetryCallbackStops) {
  Log log;
  log.stop_at = 0;
  ParserPtr p = NewParser(&log);
  ASSERT_TRUE(p);
  EXPECT_EQ(Feed(p.get(), "retry: 1\nretry: 2\ndata: x\n\n"),
            SSEKIT_E_CALLBACK);
  EXPECT_EQ(log.retries, std::vector<std::uint64_t>{1});
  EXPECT_TRUE(log.events.empty());
}

TEST(ParserLastEventId, IsAppliedOnlyWhenABlankLineDispatches) {
  Log log;
  ParserPtr p = NewParser(&log);
  ASSERT_TRUE(p);
  EXPECT_EQ(LastId(p.get()), "");
  EXPECT_NE(ssekit_parser_last_event_id(p.get(), nullptr), nullptr);

  EXPECT_EQ(Feed(p.get(), "id: 1\n"), SSEKIT_OK);
  EXPECT_EQ(LastId(p.get()), "");
  EXPECT_EQ(Feed(p.get(), "\n"), SSEKIT_OK);
  EXPECT_EQ(LastId(p.get()), "1");
  EXPECT_TRUE(log.events.empty());

  // The id persists into later events until another id field.
  EXPECT_EQ(Feed(p.get(), "data: a\n\n"), SSEKIT_OK);
  EXPECT_EQ(LastId(p.get()), "1");
  EXPECT_EQ(log.events, std::vector<std::string>{"a|1"});

  EXPECT_EQ(Feed(p.get(), std::string("id: 2\0003\n\n", 9)), SSEKIT_OK);
  EXPECT_EQ(LastId(p.get()), "1");

  EXPECT_EQ(Feed(p.get(), "id: \xC3\xA9\xE2\x82\xAC\ndata: b\n\n"), SSEKIT_OK);
  EXPECT_EQ(LastId(p.get()), "\xC3\xA9\xE2\x82\xAC");

  EXPECT_EQ(Feed(p.get(), "id\n\n"), SSEKIT_OK);
  EXPECT_EQ(LastId(p.get()), "");
}

TEST(ParserLastEventId, AnIdCutOffByTheEndOfTheStreamIsNotApplied) {
  Log log;
  ParserPtr p = NewParser(&log);
  ASSERT_TRUE(p);
  EXPECT_EQ(Feed(p.get(), "id: 1\ndata: a\n\nid: 2\ndata: b\n"), SSEKIT_OK);
  EXPECT_EQ(ssekit_parser_finish(p.get()), SSEKIT_OK);
  EXPECT_EQ(LastId(p.get()), "1");
  EXPECT_EQ(log.events, std::vector<std::string>{"a|1"});
}

TEST(ParserLastEventId, ResetClearsIt) {
  Log log;
  ParserPtr p = NewParser(&log);
  ASSERT_TRUE(p);
  EXPECT_EQ(Feed(p.get(), "id: 5\n\n"), SSEKIT_OK);
  EXPECT_EQ(LastId(p.get()), "5");
  ASSERT_EQ(ssekit_parser_reset(p.get()), SSEKIT_OK);
  EXPECT_EQ(LastId(p.get()), "");
  EXPECT_EQ(Feed(p.get(), "data: x\n\n"), SSEKIT_OK);
  EXPECT_EQ(log.events, std::vector<std::string>{"x|"});
}

TEST(ParserArguments, NullParserIsInvalid) {
  char byte = 'x';
  EXPECT_EQ(ssekit_parser_feed(nullptr, &byte, 1), SSEKIT_E_INVALID);
  EXPECT_EQ(ssekit_parser_feed(nullptr, nullptr, 0), SSEKIT_E_INVALID);
  EXPECT_EQ(ssekit_parser_finish(nullptr), SSEKIT_E_INVALID);
  EXPECT_EQ(ssekit_parser_reset(nullptr), SSEKIT_E_INVALID);
  EXPECT_EQ(ssekit_parser_set_userdata(nullptr, &byte), SSEKIT_E_INVALID);
  EXPECT_EQ(ssekit_parser_on_event(nullptr, OnEvent), SSEKIT_E_INVALID);
  EXPECT_EQ(ssekit_parser_on_comment(nullptr, OnComment), SSEKIT_E_INVALID);
  EXPECT_EQ(ssekit_parser_on_retry(nullptr, OnRetry), SSEKIT_E_INVALID);
  EXPECT_EQ(ssekit_parser_set_max_line(nullptr, 1), SSEKIT_E_INVALID);
  EXPECT_EQ(ssekit_parser_set_max_event(nullptr, 1), SSEKIT_E_INVALID);
  ssekit_parser_free(nullptr);
}

TEST(ParserArguments, NullDataIsAllowedOnlyForAnEmptyChunk) {
  Log log;
  ParserPtr p = NewParser(&log);
  ASSERT_TRUE(p);
  EXPECT_EQ(ssekit_parser_feed(p.get(), nullptr, 0), SSEKIT_OK);
  EXPECT_EQ(ssekit_parser_feed(p.get(), nullptr, 5), SSEKIT_E_INVALID);
}

TEST(ParserArguments, ParsesWithoutCallbacks) {
  ParserPtr p(ssekit_parser_new());
  ASSERT_TRUE(p);
  EXPECT_EQ(Feed(p.get(), ": c\nretry: 5\nid: 7\ndata: x\n\n"), SSEKIT_OK);
  EXPECT_EQ(LastId(p.get()), "7");
  EXPECT_EQ(ssekit_parser_finish(p.get()), SSEKIT_OK);
}

TEST(ParserArguments, FeedAfterFinishIsAStateError) {
  Log log;
  ParserPtr p = NewParser(&log);
  ASSERT_TRUE(p);
  EXPECT_EQ(ssekit_parser_finish(p.get()), SSEKIT_OK);
  EXPECT_EQ(Feed(p.get(), "data: x\n\n"), SSEKIT_E_STATE);
  EXPECT_TRUE(log.events.empty());
  ASSERT_EQ(ssekit_parser_reset(p.get()), SSEKIT_OK);
  EXPECT_EQ(Feed(p.get(), "data: x\n\n"), SSEKIT_OK);
  EXPECT_EQ(log.events, std::vector<std::string>{"x|"});
}

// The event is due as soon as the CR that ends its blank line arrives; the
// parser must not hold it back to see whether an LF follows.
TEST(ParserLineEndings, CrDispatchesWithoutWaitingForTheNextByte) {
  Log log;
  ParserPtr p = NewParser(&log);
  ASSERT_TRUE(p);
  EXPECT_EQ(Feed(p.get(), "data: a\r"), SSEKIT_OK);
  EXPECT_TRUE(log.events.empty());
  EXPECT_EQ(Feed(p.get(), "\r"), SSEKIT_OK);
  EXPECT_EQ(log.events, std::vector<std::string>{"a|"});
  // This LF completes the CRLF pair that ended the blank line.
  EXPECT_EQ(Feed(p.get(), "\n"), SSEKIT_OK);
  EXPECT_EQ(Feed(p.get(), "data: b\r"), SSEKIT_OK);
  EXPECT_EQ(Feed(p.get(), "\n"), SSEKIT_OK);
  EXPECT_EQ(Feed(p.get(), "\r"), SSEKIT_OK);
  EXPECT_EQ(log.events, (std::vector<std::string>{"a|", "b|"}));
}

constexpr std::size_t kMiB = std::size_t{1} << 20;

// A line that never ends must fail on the feed whose bytes take it past the
// limit, so the parser never holds much more than max_line bytes.
void ExpectLineLimitHolds(std::size_t chunk) {
  SCOPED_TRACE("chunk size " + std::to_string(chunk));
  Log log;
  ParserPtr p = NewParser(&log);
  ASSERT_TRUE(p);
  ASSERT_EQ(ssekit_parser_set_max_line(p.get(), kMiB), SSEKIT_OK);
  const std::string bytes(chunk, 'a');
  const std::size_t feeds = 64 * kMiB / chunk;
  std::size_t failed_at = feeds;
  int rc = SSEKIT_OK;
  for (std::size_t i = 0; i < feeds; ++i) {
    rc = Feed(p.get(), bytes);
    if (rc != SSEKIT_OK) {
      failed_at = i;
      break;
    }
  }
  EXPECT_EQ(rc, SSEKIT_E_LINE_TOO_LONG);
  // Feed i takes the line to (i + 1) * chunk bytes.
  EXPECT_EQ(failed_at, kMiB / chunk);
  EXPECT_TRUE(HasErrorMessage(p.get()));
  EXPECT_NE(Feed(p.get(), "\n\n"), SSEKIT_OK);
  EXPECT_TRUE(log.events.empty());
}

TEST(ParserMemoryBound, NeverEndingLineFailsOnTheFeedThatCrossesMaxLine) {
  ExpectLineLimitHolds(64 * 1024);
  ExpectLineLimitHolds(100000);
  ExpectLineLimitHolds(kMiB + 1);
}

TEST(ParserMemoryBound, NeverEndingEventFailsOnTheLineThatCrossesMaxEvent) {
  Log log;
  ParserPtr p = NewParser(&log);
  ASSERT_TRUE(p);
  ASSERT_EQ(ssekit_parser_set_max_event(p.get(), kMiB), SSEKIT_OK);
  const std::string line = "data: " + std::string(1000, 'x') + "\n";
  std::string stream;
  while (stream.size() < 4 * kMiB) stream += line;
  // After k lines the data is 1000 * k + (k - 1) bytes, first over 1 MiB at
  // k = 1048.
  const std::size_t crossing_line = 1048;
  const std::size_t line_start = (crossing_line - 1) * line.size();
  const std::size_t line_end = crossing_line * line.size();
  const std::size_t chunk = 4096;
  std::size_t offset = 0;
  int rc = SSEKIT_OK;
  while (offset < stream.size()) {
    const std::size_t len = std::min(chunk, stream.size() - offset);
    rc = ssekit_parser_feed(p.get(), stream.data() + offset, len);
    if (rc != SSEKIT_OK) break;
    offset += len;
  }
  ASSERT_EQ(rc, SSEKIT_E_EVENT_TOO_LARGE);
  EXPECT_LT(offset, line_end) << "the error came after the crossing line";
  EXPECT_GT(offset + chunk, line_start) << "the error came too early";
  EXPECT_TRUE(HasErrorMessage(p.get()));
  EXPECT_TRUE(log.events.empty());
}

TEST(ParserLimits, DefaultLineLimitIsFourMiB) {
  Log log;
  ParserPtr p = NewParser(&log);
  ASSERT_TRUE(p);
  const std::string fits = ": " + std::string(SSEKIT_DEFAULT_MAX_LINE - 2, 'x');
  EXPECT_EQ(Feed(p.get(), fits + "\n"), SSEKIT_OK);
  ASSERT_EQ(log.comments.size(), 1u);
  EXPECT_EQ(log.comments[0].size(), SSEKIT_DEFAULT_MAX_LINE - 2);
  EXPECT_EQ(Feed(p.get(), fits + "x\n"), SSEKIT_E_LINE_TOO_LONG);
  EXPECT_EQ(log.comments.size(), 1u);
}

TEST(ParserLimits, ZeroMeansNoLineLimit) {
  Log log;
  ParserPtr p = NewParser(&log);
  ASSERT_TRUE(p);
  ASSERT_EQ(ssekit_parser_set_max_line(p.get(), 0), SSEKIT_OK);
  const std::string id(SSEKIT_DEFAULT_MAX_LINE + 1, 'x');
  EXPECT_EQ(Feed(p.get(), "id: " + id + "\ndata: d\n\n"), SSEKIT_OK);
  EXPECT_EQ(log.events, std::vector<std::string>{"d|" + id});
}

// Feeds s in chunks of the given size up to the first error; *fed receives
// the bytes fed by then, the failing chunk included.
int FeedInChunks(ssekit_parser* p, const std::string& s, std::size_t chunk,
                 std::size_t* fed) {
  int rc = SSEKIT_OK;
  std::size_t at = 0;
  while (at < s.size() && rc == SSEKIT_OK) {
    const std::size_t len = std::min(chunk, s.size() - at);
    rc = ssekit_parser_feed(p, s.data() + at, len);
    at += len;
  }
  if (fed != nullptr) *fed = at;
  return rc;
}

// A data line is event data: with the default limits, an event within the
// event limit is delivered however its data is split into lines, here one
// line (a base64 image, say) longer than the line limit.
void ExpectSingleLineEventDelivered(std::size_t data_len, std::size_t chunk) {
  SCOPED_TRACE("data " + std::to_string(data_len) + ", chunk " +
               std::to_string(chunk));
  Log log;
  ParserPtr p = NewParser(&log);
  ASSERT_TRUE(p);
  std::string data(data_len, 'A');
  for (std::size_t i = 0; i < data_len; i += 7) data[i] = '+';
  const std::string stream =
      "event: image\ndata: " + data + "\n\ndata: after\n\n";
  EXPECT_EQ(FeedInChunks(p.get(), stream, chunk, nullptr), SSEKIT_OK);
  ASSERT_EQ(log.events.size(), 2u);
  EXPECT_TRUE(log.events[0] == data + "|") << "the data was altered";
  EXPECT_EQ(log.events[1], "after|");
}

TEST(ParserLimits, DataLineLongerThanTheLineLimitIsDeliveredWithDefaults) {
  constexpr std::size_t kMb7 = 7000000;
  static_assert(kMb7 > SSEKIT_DEFAULT_MAX_LINE, "over the line limit");
  for (const std::size_t chunk : {std::size_t{16384}, kMiB, kMb7 + 21,
                                  64 * kMiB}) {
    ExpectSingleLineEventDelivered(kMb7, chunk);
  }
  ExpectSingleLineEventDelivered(SSEKIT_DEFAULT_MAX_EVENT, kMiB);
  ExpectSingleLineEventDelivered(SSEKIT_DEFAULT_MAX_EVENT, 64 * kMiB);
}

TEST(ParserLimits, DataLineIsLimitedByTheEventLimit) {
  const std::string stream =
      "data: " + std::string(SSEKIT_DEFAULT_MAX_EVENT + 1, 'x') + "\n\n";
  for (const std::size_t chunk : {kMiB, stream.size()}) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    Log log;
    ParserPtr p = NewParser(&log);
    ASSERT_TRUE(p);
    std::size_t fed = 0;
    EXPECT_EQ(FeedInChunks(p.get(), stream, chunk, &fed),
              SSEKIT_E_EVENT_TOO_LARGE);
    // The line fails on the chunk that takes it past the limit.
    EXPECT_LE(fed, 6 + SSEKIT_DEFAULT_MAX_EVENT + chunk);
    EXPECT_TRUE(log.events.empty());
  }
}

TEST(ParserLimits, EveryOtherLineIsLimitedByTheLineLimit) {
  for (const char* field : {"event: ", "id: ", "retry: ", ": ", "other: "}) {
    SCOPED_TRACE(field);
    Log log;
    ParserPtr p = NewParser(&log);
    ASSERT_TRUE(p);
    const std::string line = field + std::string(SSEKIT_DEFAULT_MAX_LINE, '1');
    EXPECT_EQ(Feed(p.get(), line + "\ndata: x\n\n"), SSEKIT_E_LINE_TOO_LONG);
    EXPECT_TRUE(log.events.empty());
  }
}

TEST(ParserLimits, DefaultEventLimitIsSixteenMiBAndZeroRemovesIt) {
  Log log;
  ParserPtr p = NewParser(&log);
  ASSERT_TRUE(p);
  ASSERT_EQ(ssekit_parser_set_max_line(p.get(), 0), SSEKIT_OK);
  const std::string fits(SSEKIT_DEFAULT_MAX_EVENT, 'x');
  EXPECT_EQ(Feed(p.get(), "data: " + fits + "\n\n"), SSEKIT_OK);
  ASSERT_EQ(log.events.size(), 1u);
  EXPECT_EQ(Feed(p.get(), "data: " + fits + "x\n\n"), SSEKIT_E_EVENT_TOO_LARGE);
  EXPECT_EQ(log.events.size(), 1u);

  ASSERT_EQ(ssekit_parser_reset(p.get()), SSEKIT_OK);
  ASSERT_EQ(ssekit_parser_set_max_event(p.get(), 0), SSEKIT_OK);
  EXPECT_EQ(Feed(p.get(), "data: " + fits + "x\n\n"), SSEKIT_OK);
  EXPECT_EQ(log.events.size(), 2u);
}

}  // namespace
