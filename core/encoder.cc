#include "encoder.h"

#include <cstring>
#include <string>

#include "ssekit.h"

namespace ssekit {
namespace {

// Counts always and copies while the output fits.
class Writer {
 public:
  Writer(char *out, size_t cap) : out_(out), cap_(cap) {}
  void put(std::string_view s) {
    if (out_ != nullptr && size_ + s.size() <= cap_ && !s.empty())
      std::memcpy(out_ + size_, s.data(), s.size());
    size_ += s.size();
  }
  size_t size() const { return size_; }

 private:
  char *out_;
  size_t cap_;
  size_t size_ = 0;
};

bool has_line_break(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

// One "name: value" line per line of text; CR, LF and CRLF all end a line,
// the same three endings the parser accepts.
void put_lines(Writer &w, std::string_view prefix, std::string_view text) {
  size_t start = 0;
  for (;;) {
    const size_t eol = text.find_first_of("\r\n", start);
    const std::string_view line =
        text.substr(start, eol == std::string_view::npos ? eol : eol - start);
    w.put(prefix);
    // The parser strips one space after the colon, so a value that itself
    // starts with a space survives: "data:  x" reads back as " x".
    if (!line.empty()) {
      w.put(" ");
      w.put(line);
    }
    w.put("\n");
    if (eol == std::string_view::npos) break;
    start = eol + 1;
    if (text[eol] == '\r' && start < text.size() && text[start] == '\n') ++start;
  }
}

// Sizes first, then writes only if everything fits, so a buffer that is too
// small is left untouched.
template <typename Body>
int run(Body body, char *out, size_t out_cap, size_t *size) {
  Writer count(nullptr, 0);
  body(count);
  *size = count.size();
  if (out == nullptr || count.size() > out_cap) return SSEKIT_E_BUFFER_TOO_SMALL;
  Writer w(out, out_cap);
  body(w);
  return SSEKIT_OK;
}

}  // namespace

int encode_event(const OutEvent &event, char *out, size_t out_cap,
                 size_t *size) {
  if (has_line_break(event.type)) return SSEKIT_E_INVALID;
  if (event.id && (has_line_break(*event.id) ||
                   event.id->find('\0') != std::string_view::npos))
    return SSEKIT_E_INVALID;

  const std::string retry =
      event.retry_ms >= 0 ? std::to_string(event.retry_ms) : std::string();
  return run(
      [&](Writer &w) {
        if (!event.type.empty()) put_lines(w, "event:", event.type);
        if (event.id) put_lines(w, "id:", *event.id);
        if (!retry.empty()) put_lines(w, "retry:", retry);
        if (event.data) put_lines(w, "data:", *event.data);
        w.put("\n");
      },
      out, out_cap, size);
}

int encode_comment(std::string_view text, char *out, size_t out_cap,
                   size_t *size) {
  return run([&](Writer &w) { put_lines(w, ":", text); }, out, out_cap, size);
}

}  // namespace ssekit
