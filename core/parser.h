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
  // 0 means unlimited.
  void set_max_line(size_t n) { max_line_ = n; }
  void set_max_event(size_t n) { max_event_ = n; }
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

  std::string_view last_event_id() const { return last_id_; }
  // During an event callback: whether that event carried an `id` field of
  // its own (rather than inheriting the last event ID).
  bool event_has_id() const { return event_has_id_; }
  // Seeds the last event ID, for resuming from a stored position.
  void set_last_event_id(std::string_view id);
  const std::string &error_message() const { return error_; }
  int status() const { return status_; }
  // Bytes fed since the last reset.
  uint64_t offset() const { return offset_; }

 private:
  enum class Src : unsigned char { kNone, kChunk, kOwned };

  template <typename Scan>
  int consume(const char *p, const char *end);
  int consume_baseline(const char *p, const char *end);
  int consume_avx2(const char *p, const char *end);
  const char *after_eol(const char *eol, const char *end);
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

  // The bytes of a line that a chunk ended in the middle of.
  std::string line_;
  bool line_nonascii_ = false;
  uint64_t line_offset_ = 0;
  std::string scratch_;  // a line with U+FFFD substituted

  // The data and event-type buffers. While a value still lives in the
  // caller's chunk it is only viewed (Src::kChunk): a single-line event is
  // then dispatched without a copy. settle() copies views out before feed()
  // returns.
  bool has_data_ = false;
  Src data_src_ = Src::kNone;
  std::string_view data_view_;
  detail::Buffer data_;
  Src type_src_ = Src::kNone;
  std::string_view type_view_;
  std::string type_;

  std::string id_buf_;   // the last-event-ID buffer
  bool id_dirty_ = false;
  bool event_has_id_ = false;
  std::string last_id_;  // the stream's last event ID

  uint64_t offset_ = 0;  // stream offset of the chunk being fed
  const char *chunk_ = nullptr;  // the chunk being fed
  // The line being parsed, or nullptr while it is the buffered line_.
  const char *cur_line_ = nullptr;
  std::string error_;
};

}  // namespace ssekit

#endif  // SSEKIT_CORE_PARSER_H
