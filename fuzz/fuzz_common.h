// Shared pieces of the fuzz targets: a strict UTF-8 validator, a WHATWG UTF-8
// decoder used as a reference, a deterministic chunk planner, and a harness
// that feeds a stream through the C API and records every callback.
#ifndef SSEKIT_FUZZ_COMMON_H
#define SSEKIT_FUZZ_COMMON_H

#include <ssekit.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace ssekit_fuzz {

// Prints why the input is wrong and stops with a crash, so libFuzzer saves
// the input as an artifact.
[[noreturn]] inline void Fail(const std::string& why) {
  std::fprintf(stderr, "ssekit fuzz check failed: %s\n", why.c_str());
  std::fflush(stderr);
  __builtin_trap();
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
// U+10FFFF, no truncated sequences. Written independently of the decoder
// below so that each checks the other.
inline bool IsValidUtf8(const char* text, size_t len) {
  const auto* p = reinterpret_cast<const unsigned char*>(text);
  size_t i = 0;
  while (i < len) {
    const unsigned char b = p[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t width = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      width = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      width = 3;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      width = 4;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (len - i < width) return false;
    if (p[i + 1] < lo || p[i + 1] > hi) return false;
    for (size_t k = 2; k < width; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
    }
    i += width;
  }
  return true;
}

inline void AppendCodePoint(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The Encoding Standard's "UTF-8 decoder" (without BOM sniffing): each
// maximal invalid subpart becomes one U+FFFD, as browsers do.
inline std::string DecodeUtf8(const uint8_t* p, size_t len) {
  static const char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(len);
  uint32_t cp = 0;
  int needed = 0;
  int seen = 0;
  uint8_t lower = 0x80;
  uint8_t upper = 0xBF;
  size_t i = 0;
  while (i < len) {
    const uint8_t b = p[i];
    if (needed == 0) {
      ++i;
      if (b < 0x80) {
        out.push_back(static_cast<char>(b));
      } else if (b >= 0xC2 && b <= 0xDF) {
        needed = 1;
        cp = b & 0x1Fu;
      } else if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0) lower = 0xA0;
        if (b == 0xED) upper = 0x9F;
        needed = 2;
        cp = b & 0x0Fu;
      } else if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0) lower = 0x90;
        if (b == 0xF4) upper = 0x8F;
        needed = 3;
        cp = b & 0x07u;
      } else {
        out += kReplacement;
      }
      continue;
    }
    if (b < lower || b > upper) {
      // The byte is not consumed: it starts the next sequence.
      cp = 0;
      needed = 0;
      seen = 0;
      lower = 0x80;
      upper = 0xBF;
      out += kReplacement;
      continue;
    }
    ++i;
    lower = 0x80;
    upper = 0xBF;
    cp = (cp << 6) | (b & 0x3Fu);
    if (++seen == needed) {
      AppendCodePoint(out, cp);
      cp = 0;
      needed = 0;
      seen = 0;
    }
  }
  if (needed != 0) out += kReplacement;
  return out;
}

inline std::string DecodeUtf8(const std::string& s) {
  return DecodeUtf8(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// SplitMix64: tiny, deterministic, and good enough to plan chunk splits.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, n); n must be > 0.
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
  bool OneIn(size_t n) { return Below(n) == 0; }

 private:
  uint64_t state_;
};

// Chunk lengths summing to size. The shapes target the parser's boundary
// cases: single bytes, small and large chunks, and cuts right before and
// after line-ending bytes (the CR | LF split). Some chunks are empty.
inline std::vector<size_t> PlanChunks(Rng& rng, const uint8_t* data,
                                      size_t size) {
  std::vector<size_t> cuts;
  switch (rng.Below(4)) {
    case 0:
      for (size_t i = 1; i < size; ++i) cuts.push_back(i);
      break;
    case 1: {
      static const size_t kMax[] = {2, 3, 5, 8, 16, 64, 512};
      const size_t max = kMax[rng.Below(sizeof kMax / sizeof kMax[0])];
      for (size_t at = 1 + rng.Below(max); at < size;
           at += 1 + rng.Below(max)) {
        cuts.push_back(at);
      }
      break;
    }
    case 2: {
      const size_t n = 1 + rng.Below(4);
      for (size_t k = 0; k < n && size > 1; ++k) {
        cuts.push_back(1 + rng.Below(size - 1));
      }
      break;
    }
    default:
      for (size_t i = 0; i < size; ++i) {
        if (data[i] != '\r' && data[i] != '\n') continue;
        if (i > 0 && rng.OneIn(2)) cuts.push_back(i);
        if (i + 1 < size && rng.OneIn(2)) cuts.push_back(i + 1);
      }
      break;
  }
  if (rng.OneIn(4)) {
    // A repeated cut is an empty feed, which must change nothing.
    const size_t n = 1 + rng.Below(3);
    for (size_t k = 0; k < n; ++k) cuts.push_back(rng.Below(size + 1));
  }
  std::sort(cuts.begin(), cuts.end());
  std::vector<size_t> chunks;
  size_t prev = 0;
  for (size_t cut : cuts) {
    chunks.push_back(cut - prev);
    prev = cut;
  }
  chunks.push_back(size - prev);
  return chunks;
}

// One callback, as the parser reported it.
struct Entry {
  char kind = 0;  // 'E' event, 'C' comment, 'R' retry
  std::string type;
  std::string data;  // event data, or comment text
  std::string id;
  uint64_t retry = 0;

  bool operator==(const Entry& o) const {
    return kind == o.kind && type == o.type && data == o.data && id == o.id &&
           retry == o.retry;
  }
  bool operator!=(const Entry& o) const { return !(*this == o); }
};

inline Entry EventEntry(std::string type, std::string data, std::string id) {
  Entry e;
  e.kind = 'E';
  e.type = std::move(type);
  e.data = std::move(data);
  e.id = std::move(id);
  return e;
}

inline Entry CommentEntry(std::string text) {
  Entry e;
  e.kind = 'C';
  e.data = std::move(text);
  return e;
}

inline Entry RetryEntry(uint64_t ms) {
  Entry e;
  e.kind = 'R';
  e.retry = ms;
  return e;
}

inline std::string Escape(const std::string& s, size_t max_shown = 120) {
  std::string out = "\"";
  const size_t shown = std::min(s.size(), max_shown);
  for (size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  out += "\"";
  if (shown < s.size()) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

inline std::string Describe(const Entry& e) {
  switch (e.kind) {
    case 'E':
      return "event type=" + Escape(e.type) + " data=" + Escape(e.data) +
             " id=" + Escape(e.id);
    case 'C':
      return "comment " + Escape(e.data);
    default:
      return "retry " + std::to_string(e.retry);
  }
}

inline std::string DescribeLog(const std::vector<Entry>& log) {
  std::string out;
  const size_t shown = std::min<size_t>(log.size(), 40);
  for (size_t i = 0; i < shown; ++i) {
    out += "    [" + std::to_string(i) + "] " + Describe(log[i]) + "\n";
  }
  if (shown < log.size()) {
    out += "    ... " + std::to_string(log.size() - shown) + " more\n";
  }
  return out;
}

// The first index where a and b differ, or the common size if one is a
// prefix of the other.
inline size_t FirstDifference(const std::vector<Entry>& a,
                              const std::vector<Entry>& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

// Everything observable about one pass over a stream.
struct Outcome {
  std::vector<Entry> log;
  int feed_rc = SSEKIT_OK;    // the first failing feed, or SSEKIT_OK
  int finish_rc = SSEKIT_OK;
  std::string last_id;
};

inline std::string DescribeOutcome(const Outcome& o) {
  return "  feed rc " + std::to_string(o.feed_rc) + ", finish rc " +
         std::to_string(o.finish_rc) + ", last id " + Escape(o.last_id) +
         ", " + std::to_string(o.log.size()) + " callbacks:\n" +
         DescribeLog(o.log);
}

// context, if any, is printed too (the stream that was parsed, say).
inline void ExpectSame(const Outcome& a, const char* a_name, const Outcome& b,
                       const char* b_name, const std::string& context = "") {
  if (a.log == b.log && a.feed_rc == b.feed_rc &&
      a.finish_rc == b.finish_rc && a.last_id == b.last_id) {
    return;
  }
  std::string why = std::string(a_name) + " and " + b_name + " disagree";
  if (a.log != b.log) {
    why += " (first different callback: #" +
           std::to_string(FirstDifference(a.log, b.log)) + ")";
  }
  Fail(why + "\n" + context + a_name + ":\n" + DescribeOutcome(a) + b_name +
       ":\n" + DescribeOutcome(b));
}

struct Limits {
  size_t max_line = 0;    // 0: no limit
  size_t max_event = 0;   // 0: no limit
  size_t stop_after = 0;  // a callback returns 1 at this call; 0: never
};

inline void CheckString(const char* s, size_t len, const char* what) {
  // The header: "the pointer is never NULL, even for an empty string".
  if (s == nullptr) {
    Fail(std::string(what) + " is NULL (length " + std::to_string(len) + ")");
  }
  if (len != 0 && !IsValidUtf8(s, len)) {
    Fail(std::string(what) + " handed to a callback is not valid UTF-8: " +
         Escape(std::string(s, len)));
  }
}

// Owns one parser and records its callbacks.
class Harness {
 public:
  // With limits == nullptr the parser keeps its defaults.
  explicit Harness(const Limits* limits) : parser_(ssekit_parser_new()) {
    if (parser_ == nullptr) Fail("ssekit_parser_new returned NULL");
    if (limits != nullptr) limits_ = *limits;
    Expect(ssekit_parser_set_userdata(parser_, this), "set_userdata");
    Expect(ssekit_parser_on_event(parser_, &Harness::OnEvent), "on_event");
    Expect(ssekit_parser_on_comment(parser_, &Harness::OnComment),
           "on_comment");
    Expect(ssekit_parser_on_retry(parser_, &Harness::OnRetry), "on_retry");
    if (limits != nullptr) {
      Expect(ssekit_parser_set_max_line(parser_, limits_.max_line),
             "set_max_line");
      Expect(ssekit_parser_set_max_event(parser_, limits_.max_event),
             "set_max_event");
    }
  }
  ~Harness() { ssekit_parser_free(parser_); }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  size_t events() const { return events_; }

  // Feeds data in the given chunks, then finishes. after_feed runs after
  // each successful feed with the number of bytes fed so far.
  Outcome Run(const uint8_t* data, size_t size,
              const std::vector<size_t>& chunks,
              const std::function<void(size_t)>& after_feed = {}) {
    log_.clear();
    events_ = 0;
    stopped_ = false;
    Outcome out;
    size_t off = 0;
    for (size_t len : chunks) {
      const int rc = ssekit_parser_feed(parser_, len ? data + off : nullptr,
                                        len);
      off += len;
      if (rc != SSEKIT_OK) {
        out.feed_rc = rc;
        break;
      }
      if (stopped_) Fail("feed returned OK after a callback asked to stop");
      if (after_feed) after_feed(off);
    }
    if (out.feed_rc != SSEKIT_OK) {
      CheckError(out.feed_rc);
      if (off < size) {
        ExpectRefused(ssekit_parser_feed(parser_, data + off, size - off),
                      out.feed_rc, "stopped on an error");
      }
    }
    out.finish_rc = ssekit_parser_finish(parser_);
    if (out.finish_rc != out.feed_rc) {
      Fail("finish returned " + std::to_string(out.finish_rc) +
           " but the sticky state was " + std::to_string(out.feed_rc));
    }
    const char* msg = ssekit_parser_error_message(parser_);
    if (msg == nullptr) Fail("error_message returned NULL");
    if ((out.finish_rc == SSEKIT_OK) != (msg[0] == '\0')) {
      Fail("error_message is \"" + std::string(msg) + "\" after rc " +
           std::to_string(out.finish_rc));
    }
    size_t id_len = SIZE_MAX;
    const char* id = ssekit_parser_last_event_id(parser_, &id_len);
    if (id == nullptr ||
        ssekit_parser_last_event_id(parser_, nullptr) == nullptr) {
      Fail("last_event_id returned NULL");
    }
    CheckString(id, id_len, "last_event_id");
    out.last_id.assign(id, id_len);
    ExpectRefused(ssekit_parser_feed(parser_, "\n", 1),
                  out.finish_rc == SSEKIT_OK ? SSEKIT_E_STATE : out.finish_rc,
                  out.finish_rc == SSEKIT_OK ? "finished"
                                             : "finished after an error");
    out.log = log_;
    return out;
  }

  void Reset() { Expect(ssekit_parser_reset(parser_), "reset"); }

 private:
  static void Expect(int rc, const char* what) {
    if (rc != SSEKIT_OK) {
      Fail(std::string(what) + " returned " + std::to_string(rc));
    }
  }

  // The header: after an error, feed returns that error until a reset;
  // after a clean finish, SSEKIT_E_STATE.
  static void ExpectRefused(int rc, int expected, const char* state) {
    if (rc != expected) {
      Fail(std::string("feeding a parser ") + state + " returned " +
           std::to_string(rc) + ", not " + std::to_string(expected));
    }
  }

  void CheckError(int rc) const {
    const bool allowed =
        (rc == SSEKIT_E_LINE_TOO_LONG && limits_.max_line != 0) ||
        (rc == SSEKIT_E_EVENT_TOO_LARGE && limits_.max_event != 0) ||
        (rc == SSEKIT_E_CALLBACK && limits_.stop_after != 0);
    if (!allowed) {
      Fail("feed returned " + std::to_string(rc) + " (" +
           ssekit_strerror(rc) + ") with max_line " +
           std::to_string(limits_.max_line) + ", max_event " +
           std::to_string(limits_.max_event) + ", stop_after " +
           std::to_string(limits_.stop_after));
    }
  }

  int Record(Entry e) {
    if (stopped_) Fail("a callback ran after one asked the parser to stop");
    log_.push_back(std::move(e));
    stopped_ = limits_.stop_after != 0 && log_.size() == limits_.stop_after;
    return stopped_ ? 1 : 0;
  }

  static int OnEvent(const ssekit_event* ev, void* userdata) {
    auto* self = static_cast<Harness*>(userdata);
    if (ev == nullptr) Fail("event callback got NULL");
    CheckString(ev->type, ev->type_len, "event type");
    CheckString(ev->data, ev->data_len, "event data");
    CheckString(ev->id, ev->id_len, "event id");
    if (ev->type_len == 0) Fail("event type is empty (should be \"message\")");
    const size_t max_event = self->limits_.max_event;
    if (max_event != 0 && ev->data_len > max_event) {
      Fail("event data of " + std::to_string(ev->data_len) +
           " bytes exceeds max_event " + std::to_string(max_event));
    }
    ++self->events_;
    return self->Record(EventEntry(std::string(ev->type, ev->type_len),
                                   std::string(ev->data, ev->data_len),
                                   std::string(ev->id, ev->id_len)));
  }

  static int OnComment(const char* text, size_t len, void* userdata) {
    auto* self = static_cast<Harness*>(userdata);
    CheckString(text, len, "comment");
    return self->Record(CommentEntry(std::string(text, len)));
  }

  static int OnRetry(uint64_t ms, void* userdata) {
    return static_cast<Harness*>(userdata)->Record(RetryEntry(ms));
  }

  ssekit_parser* parser_;
  Limits limits_;
  std::vector<Entry> log_;
  size_t events_ = 0;
  bool stopped_ = false;
};

}  // namespace ssekit_fuzz

#endif  // SSEKIT_FUZZ_COMMON_H
