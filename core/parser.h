// A push parser for text/event-stream: bytes in, events out. No I/O, no
// clock, no allocation per event on the common path. Knows nothing of HTTP.
#ifndef SSEKIT_CORE_PARSER_H
#define SSEKIT_CORE_PARSER_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "buffer.h"
#include "ssekit.h"

namespace ssekit {

// What the parser reports, as the C API's callbacks (see ssekit.h): the
// core calls them directly, so an event costs one indirect call. A callback
// returning non-zero stops the parser: feed() returns SSEKIT_E_CALLBACK and
// the error sticks until a reset.
struct ParserCallbacks {
  ssekit_event_cb on_event = nullptr;
  ssekit_comment_cb on_comment = nullptr;
  ssekit_retry_cb on_retry = nullptr;
  void *userdata = nullptr;
};

class Parser {
 public:
  Parser() = default;
  explicit Parser(const ParserCallbacks &cb) : cb_(cb) {}

  ParserCallbacks &callbacks() { return cb_; }
  // 0 means unlimited. A data line counts toward max_event, every other line
  // toward max_line (see ssekit.h). The buffers are capped at the limits,
  // so set them before feeding.
  void set_max_line(size_t n) {
    max_line_ = n;
    line_.set_limit(n);
    type_.set_limit(n);
    id_buf_.set_limit(n);
    last_id_.set_limit(n);
  }
  void set_max_event(size_t n) {
    max_event_ = n;
    data_.set_limit(n);
  }
  size_t max_line() const { return max_line_; }
  size_t max_event() const { return max_event_; }

  // Returns SSEKIT_OK or an ssekit_error; any error sticks until a reset.
  int feed(const char *data, size_t len);
  // End of stream: a partial line and an undispatched event are discarded.
  int finish();

  // Back to the initial state; the callbacks and limits are kept.
  void reset();
  // A new response body of the same EventSource: everything is reset except
  // the last event ID, which the next connection carries on from (its events
  // report it until the server sends another id).
  void reset_connection();

  std::string_view last_event_id() const { return last_id_.view(); }
  // During an event callback: whether that event carried an `id` field of
  // its own (rather than inheriting the last event ID).
  bool event_has_id() const { return event_has_id_; }
  // Seeds the last event ID, for resuming from a stored position.
  void set_last_event_id(std::string_view id);
  const std::string &error_message() const { return error_; }
  int status() const { return status_; }
  // Bytes allocated for the parser's buffers. With non-zero limits set
  // before feeding it never exceeds max_event + 4 * max_line + 256 (see
  // ssekit.h); an ID seeded longer than max_line takes its own length in
  // place of max_line in both the last-event-ID buffer and the last event ID.
  size_t memory_held() const {
    return line_.capacity() + data_.capacity() + type_.capacity() +
           id_buf_.capacity() + last_id_.capacity() + error_.capacity();
  }
  // Bytes fed since the last reset.
  uint64_t offset() const { return offset_; }

 private:
  enum class Src : unsigned char { kNone, kChunk, kOwned };
  // What a chunk that ended in the middle of a line left: nothing, the
  // line's bytes in line_, or a data line whose value is going into data_.
  enum class Pending : unsigned char { kNone, kLine, kData };

  template <typename Scan>
  int consume(const char *p, const char *end);
  int consume_baseline(const char *p, const char *end);
  int consume_avx2(const char *p, const char *end);
  const char *after_eol(const char *eol, const char *end);
  int start_partial(const char *s, size_t n, bool nonascii);
  int continue_line(const char *p, const char *eol, const char *end,
                    bool nonascii);
  int continue_data(const char *p, const char *eol, const char *end,
                    bool nonascii);
  int open_data_line(const char *v, size_t n);
  int close_data_line(bool nonascii);
  int line(const char *s, size_t n, bool nonascii, bool in_chunk);
  int field(const char *s, size_t n, bool in_chunk);
  int data_field(std::string_view value, bool in_chunk);
  int retry_field(std::string_view value);
  int dispatch();
  int fail(int code, uint64_t at, const char *what);
  void settle();
  void clear_pending();
  uint64_t here(const char *p) const {
    return offset_ + static_cast<uint64_t>(p - chunk_);
  }
  // Where the line being parsed started, for error messages.
  uint64_t line_start() const {
    return cur_line_ != nullptr ? here(cur_line_) : line_offset_;
  }

  ParserCallbacks cb_;
  size_t max_line_ = SSEKIT_DEFAULT_MAX_LINE;
  size_t max_event_ = SSEKIT_DEFAULT_MAX_EVENT;

  int status_ = SSEKIT_OK;
  bool finished_ = false;
  // Set when a chunk ended in CR: an LF opening the next chunk belongs to it.
  bool skip_lf_ = false;
  // How many bytes of a leading BOM have been matched; 3 + 1 once decided.
  unsigned bom_ = 0;

  // The bytes of a line that a chunk ended in the middle of (never a data
  // line's value, which goes straight to data_), or a line with U+FFFD
  // substituted.
  detail::Buffer line_{SSEKIT_DEFAULT_MAX_LINE};
  Pending pending_ = Pending::kNone;
  bool line_nonascii_ = false;
  uint64_t line_offset_ = 0;
  // Where the value of a Pending::kData line starts in data_.
  size_t value_start_ = 0;

  // The data and event-type buffers. While a value still lives in the
  // caller's chunk it is only viewed (Src::kChunk): a single-line event is
  // then dispatched without a copy. settle() copies views out before feed()
  // returns.
  bool has_data_ = false;
  Src data_src_ = Src::kNone;
  std::string_view data_view_;
  detail::Buffer data_{SSEKIT_DEFAULT_MAX_EVENT};
  Src type_src_ = Src::kNone;
  std::string_view type_view_;
  detail::Buffer type_{SSEKIT_DEFAULT_MAX_LINE};

  // The last-event-ID buffer, and the stream's last event ID.
  detail::Buffer id_buf_{SSEKIT_DEFAULT_MAX_LINE};
  bool id_dirty_ = false;
  bool event_has_id_ = false;
  detail::Buffer last_id_{SSEKIT_DEFAULT_MAX_LINE};

  uint64_t offset_ = 0;  // stream offset of the chunk being fed
  const char *chunk_ = nullptr;  // the chunk being fed
  // The line being parsed, or nullptr while it is the buffered line_.
  const char *cur_line_ = nullptr;
  std::string error_;
};

}  // namespace ssekit

#endif  // SSEKIT_CORE_PARSER_H
