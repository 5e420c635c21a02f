// What the parser holds when a hostile stream pushes every buffer to its
// limit: never more than the bound ssekit.h documents, whatever the chunking.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "parser.h"
#include "ssekit.h"

namespace {

constexpr std::size_t kMaxLine = 64 * 1024;
constexpr std::size_t kMaxEvent = 256 * 1024;

// The bound stated next to SSEKIT_DEFAULT_MAX_LINE in ssekit.h.
constexpr std::size_t DocumentedBound(std::size_t max_line,
                                      std::size_t max_event) {
  return max_event + 4 * max_line + 256;
}

constexpr std::size_t kBound = DocumentedBound(kMaxLine, kMaxEvent);

// Every one of these becomes a 3-byte U+FFFD.
std::string Invalid(std::size_t n) { return std::string(n, '\xFF'); }

struct Outcome {
  int rc = SSEKIT_OK;
  // The most memory_held() reported after a feed or during a callback.
  std::size_t most = 0;
  // Per event: type, data and id sizes.
  std::vector<std::string> events;
};

struct Probe {
  ssekit::Parser* parser = nullptr;
  Outcome* out = nullptr;
};

int OnEvent(const ssekit_event* e, void* userdata) {
  auto* probe = static_cast<Probe*>(userdata);
  probe->out->most = std::max(probe->out->most, probe->parser->memory_held());
  probe->out->events.push_back(std::to_string(e->type_len) + "/" +
                               std::to_string(e->data_len) + "/" +
                               std::to_string(e->id_len));
  return 0;
}

int OnComment(const char*, std::size_t, void* userdata) {
  auto* probe = static_cast<Probe*>(userdata);
  probe->out->most = std::max(probe->out->most, probe->parser->memory_held());
  return 0;
}

// Feeds stream in chunks of the given size (0: all at once) and stops at the
// first error. Below the 1 MiB a buffer may keep after use, capacities only
// grow, so the figure after each feed is the most held during it.
Outcome Run(const std::string& stream, std::size_t chunk) {
  Outcome out;
  ssekit::Parser parser;
  Probe probe{&parser, &out};
  parser.callbacks().on_event = OnEvent;
  parser.callbacks().on_comment = OnComment;
  parser.callbacks().userdata = &probe;
  parser.set_max_line(kMaxLine);
  parser.set_max_event(kMaxEvent);
  if (chunk == 0) chunk = stream.size();
  for (std::size_t at = 0; at < stream.size() && out.rc == SSEKIT_OK;
       at += chunk) {
    const std::size_t len = std::min(chunk, stream.size() - at);
    out.rc = parser.feed(stream.data() + at, len);
    out.most = std::max(out.most, parser.memory_held());
  }
  return out;
}

// Runs the stream at several chunkings: each must give the same result and
// stay within the bound. Returns the most held at any chunking.
std::size_t ExpectWithinBound(const std::string& stream, int rc,
                              const std::vector<std::string>& events) {
  std::size_t most = 0;
  for (const std::size_t chunk : {std::size_t{0}, std::size_t{1000},
                                  std::size_t{4096}, kMaxLine + 7}) {
    SCOPED_TRACE("chunk size " + std::to_string(chunk));
    const Outcome out = Run(stream, chunk);
    EXPECT_EQ(out.rc, rc);
    EXPECT_EQ(out.events, events);
    EXPECT_LE(out.most, kBound);
    most = std::max(most, out.most);
  }
  return most;
}

std::string EventLine(std::size_t decoded_len) {
  // "event: " is 7 bytes; the rest decodes to 3 bytes per invalid byte.
  return "event: " + Invalid((decoded_len - 7) / 3) + "\n";
}

std::string IdLine(std::size_t decoded_len) {
  return "id: " + Invalid((decoded_len - 4) / 3) + "\n";
}

TEST(ParserMemoryHeld, EveryBufferFullAtOnceStaysWithinTheBound) {
  // A last event ID, a pending id, an event type, an event's data, each as
  // large as the limits let them be after decoding, and then a partial line
  // at the line limit.
  static_assert((kMaxLine - 4) % 3 == 0 && (kMaxLine - 7) % 3 == 0,
                "the lines decode to exactly max_line bytes");
  std::string stream = IdLine(kMaxLine) + "\n" + IdLine(kMaxLine) +
                       EventLine(kMaxLine);
  // One data line whose value decodes to exactly max_event bytes.
  stream += "data: " + std::string(kMaxEvent % 3, 'a') +
            Invalid(kMaxEvent / 3) + "\n";
  stream += ": " + std::string(kMaxLine - 2, 'c');
  const std::size_t most = ExpectWithinBound(stream, SSEKIT_OK, {});
  // The bound is reached: it is the true worst case, not a loose one.
  EXPECT_GE(most, kMaxEvent + 4 * kMaxLine);

  const std::string event = std::to_string(kMaxLine - 7) + "/" +
                            std::to_string(kMaxEvent) + "/" +
                            std::to_string(kMaxLine - 4);
  ExpectWithinBound(stream + "\n\n", SSEKIT_OK, {event});
}

TEST(ParserMemoryHeld, ManyDataLinesUpToTheEventLimit) {
  std::string stream;
  std::string data_len;
  for (std::size_t data = 0; data + 1 + 1000 <= kMaxEvent; data += 1001) {
    stream += "data: " + Invalid(333) + "x\n";
    data_len = std::to_string(data + 1000);
  }
  ExpectWithinBound(stream + "\n", SSEKIT_OK, {"7/" + data_len + "/0"});
  ExpectWithinBound(stream + "data: " + std::string(1000, 'x') + "\n\n",
                    SSEKIT_E_EVENT_TOO_LARGE, {});
}

TEST(ParserMemoryHeld, InvalidBytesCountAsTheirReplacementAgainstMaxLine) {
  // Each line is max_line bytes as received and three times that decoded.
  ExpectWithinBound("event: " + Invalid(kMaxLine - 7) + "\ndata: x\n\n",
                    SSEKIT_E_LINE_TOO_LONG, {});
  ExpectWithinBound("id: " + Invalid(kMaxLine - 4) + "\ndata: x\n\n",
                    SSEKIT_E_LINE_TOO_LONG, {});
  ExpectWithinBound(": " + Invalid(kMaxLine - 2) + "\n",
                    SSEKIT_E_LINE_TOO_LONG, {});
  // One byte over the limit once decoded.
  ExpectWithinBound(EventLine(kMaxLine).insert(7, "x") + "data: x\n\n",
                    SSEKIT_E_LINE_TOO_LONG, {});
}

TEST(ParserMemoryHeld, InvalidBytesCountAsTheirReplacementAgainstMaxEvent) {
  ExpectWithinBound("data: " + Invalid(kMaxEvent) + "\n\n",
                    SSEKIT_E_EVENT_TOO_LARGE, {});
  ExpectWithinBound("data: x\ndata: " + Invalid(kMaxEvent / 3) + "\n\n",
                    SSEKIT_E_EVENT_TOO_LARGE, {});
  ExpectWithinBound("data: " + Invalid(kMaxEvent / 3) + "\n\n", SSEKIT_OK,
                    {"7/" + std::to_string(kMaxEvent / 3 * 3) + "/0"});
}

TEST(ParserMemoryHeld, PartialLinesAtTheLimits) {
  const std::string comment = ": " + std::string(kMaxLine - 2, 'c');
  ExpectWithinBound(comment, SSEKIT_OK, {});
  ExpectWithinBound(comment + "c", SSEKIT_E_LINE_TOO_LONG, {});
  const std::string data = "data: " + std::string(kMaxEvent, 'x');
  ExpectWithinBound(data, SSEKIT_OK, {});
  ExpectWithinBound(data + "x", SSEKIT_E_EVENT_TOO_LARGE, {});
  ExpectWithinBound("data: x\n" + data, SSEKIT_E_EVENT_TOO_LARGE, {});
}

TEST(ParserMemoryHeld, LimitsAreKeptAcrossEvents) {
  // The same worst case again and again must not accumulate.
  std::string one = IdLine(kMaxLine) + EventLine(kMaxLine) + "data: " +
                    std::string(kMaxEvent, 'x') + "\n\n";
  std::string stream;
  std::vector<std::string> events;
  for (int i = 0; i < 4; ++i) {
    stream += one;
    events.push_back(std::to_string(kMaxLine - 7) + "/" +
                     std::to_string(kMaxEvent) + "/" +
                     std::to_string(kMaxLine - 4));
  }
  ExpectWithinBound(stream, SSEKIT_OK, events);
}

}  // namespace
