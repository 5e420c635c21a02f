// A push parser for text/event-stream: bytes in, events out. No I/O, no
// clock, no allocation per event on the common path. Knows nothing of HTTP.
#ifndef SSEKIT_CORE_PARSER_H
#define SSEKIT_CORE_PARSER_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ssekit.h"

namespace ssekit {

struct Event {
  std::string_view type;  // "message" when the stream named none
  std::string_view data;
  std::string_view id;    // the stream's last event ID at dispatch
};

// Receives what the parser finds. Returning false stops the parser: the
// current feed() returns SSEKIT_E_CALLBACK and the error sticks until reset.
// Views are valid only during the call.
class ParserSink {
 public:
  virtual ~ParserSink() = default;
  virtual bool on_event(const Event &event) = 0;
  virtual bool on_comment(std::string_view /*text*/) { return true; }
  virtual bool on_retry(uint64_t /*ms*/) { return true; }
};

class Parser {
 public:
  explicit Parser(ParserSink *sink = nullptr) : sink_(sink) {}

  void set_sink(ParserSink *sink) { sink_ = sink; }
  // 0 means unlimited.
  void set_max_line(size_t n) { max_line_ = n; }
  void set_max_event(size_t n) { max_event_ = n; }
  size_t max_line() const { return max_line_; }
  size_t max_event() const { return max_event_; }

  // Returns SSEKIT_OK or an ssekit_error; any error sticks until a reset.
  int feed(const char *data, size_t len);
  // End of stream: a partial line and an undispatched event are discarded.
  int finish();

  // Back to the initial state; the sink and limits are kept.
  void reset();
  // A new response body of the same EventSource: everything is reset except
  // the last event ID, which the next connection carries on from (its events
  // report it until the server sends another id).
  void reset_connection();

  std::string_view last_event_id() const { return last_id_; }
  // Seeds the last event ID, for resuming from a stored position.
  void set_last_event_id(std::string_view id);
  const std::string &error_message() const { return error_; }
  int status() const { return status_; }
  // Bytes fed since the last reset.
  uint64_t offset() const { return offset_; }

 private:
  enum class Src : unsigned char { kNone, kChunk, kOwned };

  int consume(const char *p, const char *end);
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

  ParserSink *sink_;
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
  std::string data_;
  Src type_src_ = Src::kNone;
  std::string_view type_view_;
  std::string type_;

  std::string id_buf_;   // the last-event-ID buffer
  bool id_dirty_ = false;
  std::string last_id_;  // the stream's last event ID

  uint64_t offset_ = 0;  // stream offset of the chunk being fed
  const char *chunk_ = nullptr;  // the chunk being fed
  uint64_t cur_offset_ = 0;      // stream offset of the line being parsed
  std::string error_;
};

}  // namespace ssekit

#endif  // SSEKIT_CORE_PARSER_H
