#include <gtest/gtest.h>

#include "http.h"

namespace ssekit::http {
namespace {

TEST(Http, EventStreamMimeTypeIgnoresCaseAndParameters) {
  EXPECT_TRUE(is_event_stream("text/event-stream"));
  EXPECT_TRUE(is_event_stream("TEXT/Event-Stream"));
  EXPECT_TRUE(is_event_stream("text/event-stream; charset=utf-8"));
  EXPECT_TRUE(is_event_stream("  text/event-stream ;x=y"));
  EXPECT_FALSE(is_event_stream("text/event-streams"));
  EXPECT_FALSE(is_event_stream("text/plain"));
  EXPECT_FALSE(is_event_stream(""));
}

TEST(Http, RetryAfterAcceptsSecondsAndDates) {
  EXPECT_EQ(retry_after_ms("120", 0), 120000u);
  EXPECT_EQ(retry_after_ms(" 0 ", 0), 0u);
  // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
  EXPECT_EQ(retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 5), 5000u);
  EXPECT_EQ(retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 5), 0u);
  EXPECT_FALSE(retry_after_ms("soon", 0));
  EXPECT_FALSE(retry_after_ms("", 0));
  EXPECT_FALSE(retry_after_ms("-5", 0));
}

TEST(Http, SplitsHeaderLines) {
  std::string_view n, v;
  ASSERT_TRUE(split_header("Content-Type:  text/event-stream \r\n", &n, &v));
  EXPECT_EQ(n, "Content-Type");
  EXPECT_EQ(v, "text/event-stream");
  EXPECT_FALSE(split_header("HTTP/1.1 200 OK\r\n", &n, &v));
  EXPECT_FALSE(split_header("\r\n", &n, &v));
}

TEST(Http, QueryParamIsSetEncodedAndReplaced) {
  EXPECT_EQ(with_query_param("http://h/p", "lastEventId", "a b/é"),
            "http://h/p?lastEventId=a%20b%2F%C3%A9");
  EXPECT_EQ(with_query_param("http://h/p?x=1&lastEventId=old&y=2#f", "lastEventId", "7"),
            "http://h/p?x=1&y=2&lastEventId=7#f");
}

}  // namespace
}  // namespace ssekit::http
