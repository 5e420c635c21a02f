// The C ABI: thin shims from opaque handles to the C++ core. No exception
// crosses this boundary; every entry point maps failures to ssekit_error.
#include <new>
#include <string>

#include "encoder.h"
#include "parser.h"
#include "guard.h"
#include "ssekit.h"

static_assert(SSEKIT_VERSION_NUM == SSEKIT_CMAKE_VERSION_NUM,
              "ssekit.h and the project version in CMakeLists.txt disagree");

struct ssekit_parser {
  ssekit::Parser parser;
};

namespace {

using ssekit::capi::guarded;

template <typename F>
int with_parser(ssekit_parser *p, F f) noexcept {
  if (p == nullptr) return SSEKIT_E_INVALID;
  return guarded([&] { return f(*p); });
}

std::string_view view(const char *s, size_t len) {
  return s == nullptr ? std::string_view() : std::string_view(s, len);
}

}  // namespace

extern "C" {

SSEKIT_EXTERN const char *ssekit_strerror(int code) {
  switch (code) {
    case SSEKIT_OK: return "no error";
    case SSEKIT_E_INVALID: return "invalid argument";
    case SSEKIT_E_NOMEM: return "out of memory";
    case SSEKIT_E_LINE_TOO_LONG: return "line exceeds the maximum line length";
    case SSEKIT_E_EVENT_TOO_LARGE: return "event exceeds the maximum event size";
    case SSEKIT_E_CALLBACK: return "stopped by a callback";
    case SSEKIT_E_STATE: return "not allowed in the current state";
    case SSEKIT_E_BUFFER_TOO_SMALL: return "output buffer too small";
    case SSEKIT_E_INTERNAL: return "internal error";
    case SSEKIT_E_HTTP_STATUS: return "unexpected HTTP status";
    case SSEKIT_E_CONTENT_TYPE: return "Content-Type is not text/event-stream";
    case SSEKIT_E_NETWORK: return "network error";
    case SSEKIT_E_CONNECT_TIMEOUT: return "connect timed out";
    case SSEKIT_E_READ_TIMEOUT: return "read timed out";
    case SSEKIT_E_TLS: return "TLS error";
    case SSEKIT_E_TOO_MANY_REDIRECTS: return "too many redirects";
    case SSEKIT_E_STREAM_ENDED: return "the server ended the stream";
    case SSEKIT_E_RETRIES_EXHAUSTED: return "retries exhausted";
    case SSEKIT_E_CLOSED: return "stream closed";
    case SSEKIT_E_HOOK: return "refused by a hook";
    case SSEKIT_E_REQUEST: return "invalid request";
    case SSEKIT_E_REDIRECT: return "redirect refused";
    case SSEKIT_E_RESPONSE_TOO_LARGE: return "response headers too large";
    case SSEKIT_E_EVENT_TIMEOUT: return "no event within the event timeout";
    default: return "unknown error code";
  }
}

SSEKIT_EXTERN const char *ssekit_version(void) { return SSEKIT_VERSION_STRING; }

SSEKIT_EXTERN unsigned int ssekit_version_num(void) { return SSEKIT_VERSION_NUM; }

SSEKIT_EXTERN ssekit_parser *ssekit_parser_new(void) {
  return new (std::nothrow) ssekit_parser();
}

SSEKIT_EXTERN void ssekit_parser_free(ssekit_parser *parser) { delete parser; }

SSEKIT_EXTERN int ssekit_parser_set_userdata(ssekit_parser *parser,
                                             void *userdata) {
  return with_parser(parser, [&](ssekit_parser &p) {
    p.parser.callbacks().userdata = userdata;
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_parser_on_event(ssekit_parser *parser,
                                         ssekit_event_cb cb) {
  return with_parser(parser, [&](ssekit_parser &p) {
    p.parser.callbacks().on_event = cb;
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_parser_on_comment(ssekit_parser *parser,
                                           ssekit_comment_cb cb) {
  return with_parser(parser, [&](ssekit_parser &p) {
    p.parser.callbacks().on_comment = cb;
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_parser_on_retry(ssekit_parser *parser,
                                         ssekit_retry_cb cb) {
  return with_parser(parser, [&](ssekit_parser &p) {
    p.parser.callbacks().on_retry = cb;
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_parser_set_max_line(ssekit_parser *parser,
                                             size_t max_line) {
  return with_parser(parser, [&](ssekit_parser &p) {
    p.parser.set_max_line(max_line);
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_parser_set_max_event(ssekit_parser *parser,
                                              size_t max_event) {
  return with_parser(parser, [&](ssekit_parser &p) {
    p.parser.set_max_event(max_event);
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN int ssekit_parser_feed(ssekit_parser *parser, const void *data,
                                     size_t len) {
  if (data == nullptr && len != 0) return SSEKIT_E_INVALID;
  return with_parser(parser, [&](ssekit_parser &p) {
    return p.parser.feed(static_cast<const char *>(data), len);
  });
}

SSEKIT_EXTERN int ssekit_parser_finish(ssekit_parser *parser) {
  return with_parser(parser, [](ssekit_parser &p) { return p.parser.finish(); });
}

SSEKIT_EXTERN int ssekit_parser_reset(ssekit_parser *parser) {
  return with_parser(parser, [](ssekit_parser &p) {
    p.parser.reset();
    return SSEKIT_OK;
  });
}

SSEKIT_EXTERN const char *ssekit_parser_last_event_id(
    const ssekit_parser *parser, size_t *len) {
  if (parser == nullptr) {
    if (len != nullptr) *len = 0;
    return "";
  }
  const std::string_view id = parser->parser.last_event_id();
  if (len != nullptr) *len = id.size();
  return id.data();
}

SSEKIT_EXTERN const char *ssekit_parser_error_message(
    const ssekit_parser *parser) {
  return parser == nullptr ? "" : parser->parser.error_message().c_str();
}

SSEKIT_EXTERN int ssekit_encode_event(const char *type, size_t type_len,
                                      const char *id, size_t id_len,
                                      const char *data, size_t data_len,
                                      int64_t retry_ms, char *out,
                                      size_t out_cap, size_t *out_len) {
  if (out_len == nullptr || (type == nullptr && type_len != 0) ||
      (id == nullptr && id_len != 0) || (data == nullptr && data_len != 0))
    return SSEKIT_E_INVALID;
  return guarded([&] {
    ssekit::OutEvent ev;
    ev.type = view(type, type_len);
    if (id != nullptr) ev.id = view(id, id_len);
    if (data != nullptr) ev.data = view(data, data_len);
    ev.retry_ms = retry_ms;
    return ssekit::encode_event(ev, out, out_cap, out_len);
  });
}

SSEKIT_EXTERN int ssekit_encode_comment(const char *text, size_t len,
                                        char *out, size_t out_cap,
                                        size_t *out_len) {
  if (out_len == nullptr || (text == nullptr && len != 0)) return SSEKIT_E_INVALID;
  return guarded([&] {
    return ssekit::encode_comment(view(text, len), out, out_cap, out_len);
  });
}

}  // extern "C"
