#include "parser.h"

#include <cstring>
#include <new>

#include "scan.h"
#include "utf8.h"

namespace ssekit {
namespace {

constexpr unsigned char kBom[3] = {0xEF, 0xBB, 0xBF};
constexpr unsigned kBomDecided = 4;
constexpr std::string_view kMessage = "message";

// A buffer that grew past this for one large event or line is released once
// it is done with, so that one big event does not pin its memory for the
// rest of a long-lived stream.
constexpr size_t kKeepCapacity = size_t{1} << 20;

// A field named "data": a data line is limited by max_event, not max_line.
inline bool is_data_line(const char *s, size_t n) {
  return n >= 5 ? std::memcmp(s, "data:", 5) == 0
                : n == 4 && std::memcmp(s, "data", 4) == 0;
}

// Whether an unfinished line of n bytes may still turn out to be a data line
// whose value start is not known yet ("data:" itself may be followed by the
// space that is not part of the value).
inline bool may_be_data_line(const char *s, size_t n) {
  return n <= 5 && std::memcmp(s, "data:", n) == 0;
}

}  // namespace

int Parser::fail(int code, uint64_t at, const char *what) {
  status_ = code;
  error_ = what;
  error_ += " at stream offset ";
  error_ += std::to_string(at);
  return code;
}

int Parser::feed(const char *p, size_t n) {
  if (status_ != SSEKIT_OK) return status_;
  if (finished_) return SSEKIT_E_STATE;
  if (n == 0) return SSEKIT_OK;
  if (p == nullptr) return SSEKIT_E_INVALID;
  chunk_ = p;
  const char *end = p + n;

  if (bom_ < kBomDecided) {
    // "One leading U+FEFF BYTE ORDER MARK character must be ignored if any
    // are present." Its three bytes may arrive in separate chunks.
    size_t i = 0;
    while (bom_ < 3 && i < n && static_cast<unsigned char>(p[i]) == kBom[bom_]) {
      ++bom_;
      ++i;
    }
    if (bom_ == 3) {
      bom_ = kBomDecided;
      p += i;
    } else if (i == n) {
      offset_ += n;
      return SSEKIT_OK;
    } else {
      // Not a BOM after all: the bytes matched in earlier chunks are the
      // start of the first line (they hold no line ending).
      const size_t earlier = bom_ - i;
      line_.assign(reinterpret_cast<const char *>(kBom), earlier);
      pending_ = earlier != 0 ? Pending::kLine : Pending::kNone;
      line_nonascii_ = earlier != 0;
      line_offset_ = offset_ - earlier;
      bom_ = kBomDecided;
    }
  }

  int rc;
  try {
#if defined(SSEKIT_HAVE_AVX2_SCAN)
    rc = detail::cpu_has_avx2() ? consume_avx2(p, end) : consume_baseline(p, end);
#else
    rc = consume_baseline(p, end);
#endif
    if (rc == SSEKIT_OK) settle();
  } catch (const std::bad_alloc &) {
    rc = fail(SSEKIT_E_NOMEM, offset_, "out of memory");
  }
  offset_ += n;
  chunk_ = nullptr;
  return rc;
}

inline int Parser::data_field(std::string_view value, bool in_chunk) {
  // "Append the field value to the data buffer, then append a single U+000A
  // LINE FEED (LF) character." The buffer here holds the values joined by
  // LF, which is what dispatch leaves after removing the final LF; has_data_
  // says whether the spec's buffer would be non-empty.
  if (!has_data_) {
    if (max_event_ != 0 && value.size() > max_event_)
      return fail(SSEKIT_E_EVENT_TOO_LARGE, line_start(), "event too large");
    has_data_ = true;
    if (in_chunk) {
      data_view_ = value;
      data_src_ = Src::kChunk;
    } else {
      data_.assign(value.data(), value.size());
      data_view_ = data_.view();
      data_src_ = Src::kOwned;
    }
    return SSEKIT_OK;
  }
  if (max_event_ != 0 && data_view_.size() + 1 + value.size() > max_event_)
    return fail(SSEKIT_E_EVENT_TOO_LARGE, line_start(), "event too large");
  // Appending to a string grows it geometrically, so an event of many data
  // lines is joined in linear time.
  if (data_src_ == Src::kChunk) data_.assign(data_view_.data(), data_view_.size());
  data_.push_back('\n');
  data_.append(value.data(), value.size());
  data_view_ = data_.view();
  data_src_ = Src::kOwned;
  return SSEKIT_OK;
}

// One body, compiled once per line scanner (see scan.h).
template <typename Scan>
SSEKIT_ALWAYS_INLINE int Parser::consume(const char *p, const char *end) {
  if (skip_lf_) {
    skip_lf_ = false;
    if (p < end && *p == '\n') ++p;
  }

  // Finish the line that the previous chunk ended in the middle of.
  if (pending_ != Pending::kNone) {
    cur_line_ = nullptr;
    bool nonascii = line_nonascii_;
    const char *eol = Scan::find(p, end, &nonascii);
    const int rc = pending_ == Pending::kData ? continue_data(p, eol, end, nonascii)
                                              : continue_line(p, eol, end, nonascii);
    if (rc != SSEKIT_OK || eol == end) return rc;
    p = after_eol(eol, end);
  }

  while (p < end) {
    cur_line_ = p;
    // A blank line ends every event: dispatch it without a scan.
    if (*p == '\n' || *p == '\r') {
      const int rc = dispatch();
      if (rc != SSEKIT_OK) return rc;
      p = after_eol(p, end);
      continue;
    }
    bool nonascii = false;
    const char *eol = Scan::find(p, end, &nonascii);
    const size_t len = static_cast<size_t>(eol - p);
    if (eol == end) return start_partial(p, len, nonascii);
    if (max_line_ != 0 && len > max_line_ && !is_data_line(p, len))
      return fail(SSEKIT_E_LINE_TOO_LONG, here(p), "line too long");
    // The common case, an ASCII "data:" line, is handled here; everything
    // else goes through line().
    if (!nonascii && len >= 5 && std::memcmp(p, "data:", 5) == 0) {
      const char *v = p + 5 + (len > 5 && p[5] == ' ');
      const int rc = data_field(std::string_view(v, static_cast<size_t>(eol - v)), true);
      if (rc != SSEKIT_OK) return rc;
    } else {
      const int rc = line(p, len, nonascii, true);
      if (rc != SSEKIT_OK) return rc;
    }
    p = after_eol(eol, end);
  }
  return SSEKIT_OK;
}

int Parser::consume_baseline(const char *p, const char *end) {
  return consume<detail::BaselineScan>(p, end);
}

#if defined(SSEKIT_HAVE_AVX2_SCAN)
__attribute__((target("avx2"))) int Parser::consume_avx2(const char *p,
                                                         const char *end) {
  return consume<detail::Avx2Scan>(p, end);
}
#else
int Parser::consume_avx2(const char *p, const char *end) {
  return consume_baseline(p, end);
}
#endif

int Parser::start_partial(const char *s, size_t n, bool nonascii) {
  line_offset_ = here(s);
  line_nonascii_ = nonascii;
  if (n > 5 && std::memcmp(s, "data:", 5) == 0) {
    const char *v = s + 5 + (s[5] == ' ');
    return open_data_line(v, static_cast<size_t>(s + n - v));
  }
  if (max_line_ != 0 && n > max_line_ && !may_be_data_line(s, n))
    return fail(SSEKIT_E_LINE_TOO_LONG, line_offset_, "line too long");
  line_.assign(s, n);
  pending_ = Pending::kLine;
  return SSEKIT_OK;
}

int Parser::continue_line(const char *p, const char *eol, const char *end,
                          bool nonascii) {
  const size_t have = line_.size();
  const size_t add = static_cast<size_t>(eol - p);
  const size_t total = have + add;
  bool data = false;
  // Only a line shorter than "data:x" can still turn out to be a data line.
  if (have < 6) {
    char head[6];
    const size_t n = total < 6 ? total : 6;
    std::memcpy(head, line_.data(), have);
    std::memcpy(head + have, p, n - have);
    if (n == 6 && std::memcmp(head, "data:", 5) == 0) {
      const size_t v = head[5] == ' ' ? 6 : 5;
      const size_t from_line = v < have ? have - v : 0;
      const int rc = open_data_line(line_.data() + have - from_line, from_line);
      line_.clear();
      if (rc != SSEKIT_OK) return rc;
      return continue_data(p + (v > have ? v - have : 0), eol, end, nonascii);
    }
    data = eol == end ? may_be_data_line(head, n) : is_data_line(head, n);
  }
  if (max_line_ != 0 && total > max_line_ && !data)
    return fail(SSEKIT_E_LINE_TOO_LONG, line_offset_, "line too long");
  line_.append(p, add);
  if (eol == end) {
    line_nonascii_ = nonascii;
    return SSEKIT_OK;
  }
  pending_ = Pending::kNone;
  const int rc = line(line_.data(), line_.size(), nonascii, false);
  line_.clear();
  line_.shrink_to(kKeepCapacity);
  return rc;
}

int Parser::continue_data(const char *p, const char *eol, const char *end,
                          bool nonascii) {
  const size_t add = static_cast<size_t>(eol - p);
  // The value's raw bytes never outnumber its decoded ones, so exceeding the
  // limit already is a certain failure.
  if (max_event_ != 0 && data_.size() + add > max_event_)
    return fail(SSEKIT_E_EVENT_TOO_LARGE, line_offset_, "event too large");
  data_.append(p, add);
  pending_ = Pending::kData;
  if (eol == end) {
    line_nonascii_ = nonascii;
    return SSEKIT_OK;
  }
  return close_data_line(nonascii);
}

int Parser::open_data_line(const char *v, size_t n) {
  // The value is appended as it arrives; earlier lines are joined first.
  const size_t joined = has_data_ ? data_view_.size() + 1 : 0;
  if (max_event_ != 0 && joined + n > max_event_)
    return fail(SSEKIT_E_EVENT_TOO_LARGE, line_start(), "event too large");
  if (!has_data_) {
    data_.clear();
  } else {
    if (data_src_ == Src::kChunk) data_.assign(data_view_.data(), data_view_.size());
    data_.push_back('\n');
  }
  data_src_ = Src::kOwned;
  data_view_ = {};
  value_start_ = data_.size();
  data_.append(v, n);
  pending_ = Pending::kData;
  return SSEKIT_OK;
}

int Parser::close_data_line(bool nonascii) {
  pending_ = Pending::kNone;
  const size_t raw = data_.size() - value_start_;
  if (nonascii && !utf8::valid(data_.data() + value_start_, raw)) {
    // The event limit counts the data as dispatched, U+FFFD included.
    const size_t out = utf8::replaced_size(data_.data() + value_start_, raw);
    if (max_event_ != 0 && value_start_ + out > max_event_)
      return fail(SSEKIT_E_EVENT_TOO_LARGE, line_start(), "event too large");
    data_.resize(value_start_ + out);
    utf8::replace_in_place(data_.data() + value_start_, raw, out);
  }
  has_data_ = true;
  data_view_ = data_.view();
  return SSEKIT_OK;
}

const char *Parser::after_eol(const char *eol, const char *end) {
  // "Lines must be separated by either a U+000D CARRIAGE RETURN U+000A LINE
  // FEED (CRLF) character pair, a single U+000A LINE FEED (LF) character, or
  // a single U+000D CARRIAGE RETURN (CR) character." A CR that ends the
  // chunk may be the first half of a CRLF split across chunks.
  if (*eol == '\n') return eol + 1;
  if (eol + 1 == end) {
    skip_lf_ = true;
    return end;
  }
  return eol + (eol[1] == '\n' ? 2 : 1);
}

int Parser::line(const char *s, size_t n, bool nonascii, bool in_chunk) {
  if (nonascii && !utf8::valid(s, n)) {
    if (is_data_line(s, n)) {
      const char *v = s + 5 + (n > 5 && s[5] == ' ');
      const int rc = open_data_line(v, static_cast<size_t>(s + n - v));
      return rc != SSEKIT_OK ? rc : close_data_line(true);
    }
    // Any other line is limited as decoded, so that U+FFFD, three bytes
    // for as little as one, cannot triple what the line limit bounds.
    const size_t out = utf8::replaced_size(s, n);
    if (max_line_ != 0 && out > max_line_)
      return fail(SSEKIT_E_LINE_TOO_LONG, line_start(), "line too long");
    if (in_chunk) line_.assign(s, n);
    line_.resize(out);
    utf8::replace_in_place(line_.data(), n, out);
    const int rc = field(line_.data(), out, false);
    line_.clear();
    line_.shrink_to(kKeepCapacity);
    return rc;
  }
  return field(s, n, in_chunk);
}

int Parser::field(const char *s, size_t n, bool in_chunk) {
  // "If the line is empty (a blank line): Dispatch the event."
  if (n == 0) return dispatch();

  const char *end = s + n;
  // Most lines of most streams are data lines: skip the colon search.
  if (n >= 5 && std::memcmp(s, "data:", 5) == 0) {
    const char *v = s + 5;
    if (v < end && *v == ' ') ++v;
    return data_field(std::string_view(v, static_cast<size_t>(end - v)), in_chunk);
  }
  const auto *colon = static_cast<const char *>(std::memchr(s, ':', n));
  // "If the line starts with a U+003A COLON character (:): Ignore the line."
  if (colon == s) {
    const char *t = s + 1;
    if (t < end && *t == ' ') ++t;
    if (cb_.on_comment != nullptr &&
        cb_.on_comment(t, static_cast<size_t>(end - t), cb_.userdata) != 0)
      return fail(SSEKIT_E_CALLBACK, line_start(), "stopped by a callback");
    return SSEKIT_OK;
  }

  // "If the line contains a colon: the field name is the characters before
  // it, the value the characters after it, without one leading space.
  // Otherwise the whole line is the field name and the value is empty."
  std::string_view name(s, n);
  // Empty values still point into the line: callbacks never see NULL.
  std::string_view value(end, 0);
  if (colon != nullptr) {
    name = std::string_view(s, static_cast<size_t>(colon - s));
    const char *v = colon + 1;
    if (v < end && *v == ' ') ++v;
    value = std::string_view(v, static_cast<size_t>(end - v));
  }

  switch (name.size()) {
    case 4:
      if (name == "data") return data_field(value, in_chunk);
      break;
    case 5:
      if (name == "event") {
        if (in_chunk) {
          type_view_ = value;
          type_src_ = Src::kChunk;
        } else {
          type_.assign(value.data(), value.size());
          type_view_ = type_.view();
          type_src_ = Src::kOwned;
        }
      } else if (name == "retry") {
        return retry_field(value);
      }
      break;
    case 2:
      // "If the field value does not contain U+0000 NULL, then set the last
      // event ID buffer to the field value. Otherwise, ignore the field."
      if (name == "id" && std::memchr(value.data(), '\0', value.size()) == nullptr) {
        id_buf_.assign(value.data(), value.size());
        id_dirty_ = true;
      }
      break;
    default:
      break;
  }
  return SSEKIT_OK;
}

int Parser::retry_field(std::string_view value) {
  // "If the field value consists of only ASCII digits, then interpret the
  // field value as an integer in base ten, and set the event stream's
  // reconnection time to that integer. Otherwise, ignore the field."
  // A value beyond 64 bits is ignored too: no such delay is meaningful.
  if (value.empty()) return SSEKIT_OK;
  uint64_t ms = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return SSEKIT_OK;
    const auto d = static_cast<uint64_t>(c - '0');
    if (ms > (UINT64_MAX - d) / 10) return SSEKIT_OK;
    ms = ms * 10 + d;
  }
  if (cb_.on_retry != nullptr && cb_.on_retry(ms, cb_.userdata) != 0)
    return fail(SSEKIT_E_CALLBACK, line_start(), "stopped by a callback");
  return SSEKIT_OK;
}

int Parser::dispatch() {
  // "Set the last event ID string of the event source to the value of the
  // last event ID buffer. The buffer does not get reset."
  event_has_id_ = id_dirty_;
  if (id_dirty_) {
    last_id_.assign(id_buf_.data(), id_buf_.size());
    id_dirty_ = false;
  }
  // "If the data buffer is an empty string, set the data buffer and the
  // event type buffer to the empty string and return."
  const bool has_data = has_data_;
  const std::string_view type = type_src_ == Src::kNone || type_view_.empty()
                                    ? kMessage
                                    : type_view_;
  has_data_ = false;
  data_src_ = Src::kNone;
  type_src_ = Src::kNone;
  if (!has_data) {
    type_view_ = {};
    return SSEKIT_OK;
  }
  const std::string_view id = last_id_.view();
  const ssekit_event event{type.data(),       type.size(),      data_view_.data(),
                           data_view_.size(), id.data(),        id.size()};
  const bool go = cb_.on_event == nullptr || cb_.on_event(&event, cb_.userdata) == 0;
  data_view_ = {};
  type_view_ = {};
  data_.shrink_to(kKeepCapacity);
  if (!go) return fail(SSEKIT_E_CALLBACK, line_start(), "stopped by a callback");
  return SSEKIT_OK;
}

void Parser::settle() {
  // The caller's chunk goes away when feed() returns: copy what still views it.
  if (data_src_ == Src::kChunk) {
    data_.assign(data_view_.data(), data_view_.size());
    data_view_ = data_.view();
    data_src_ = Src::kOwned;
  }
  if (type_src_ == Src::kChunk) {
    type_.assign(type_view_.data(), type_view_.size());
    type_view_ = type_.view();
    type_src_ = Src::kOwned;
  }
}

int Parser::finish() {
  if (status_ != SSEKIT_OK) return status_;
  // "Once the end of the file is reached, any pending data must be
  // discarded. (If the file ends in the middle of an event, before the
  // final empty line, the incomplete event is not dispatched.)"
  finished_ = true;
  clear_pending();
  return SSEKIT_OK;
}

void Parser::clear_pending() {
  skip_lf_ = false;
  pending_ = Pending::kNone;
  line_.clear();
  line_.shrink_to(kKeepCapacity);
  line_nonascii_ = false;
  has_data_ = false;
  data_src_ = Src::kNone;
  data_view_ = {};
  data_.clear();
  data_.shrink_to(kKeepCapacity);
  type_src_ = Src::kNone;
  type_view_ = {};
  type_.clear();
  type_.shrink_to(kKeepCapacity);
}

void Parser::reset_connection() {
  clear_pending();
  status_ = SSEKIT_OK;
  finished_ = false;
  bom_ = 0;
  id_buf_.assign(last_id_.data(), last_id_.size());
  id_dirty_ = false;
  offset_ = 0;
  error_.clear();
}

void Parser::reset() {
  last_id_.clear();
  last_id_.shrink_to(kKeepCapacity);
  reset_connection();
}

void Parser::set_last_event_id(std::string_view id) {
  last_id_.assign(id.data(), id.size());
  id_buf_.assign(id.data(), id.size());
  id_dirty_ = false;
}

}  // namespace ssekit
