// Everything a stream can be configured with, and the defaults, in one place.
#ifndef SSEKIT_CORE_OPTIONS_H
#define SSEKIT_CORE_OPTIONS_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ssekit.h"

namespace ssekit {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Durations beyond this are clamped: the timers count in signed nanoseconds
// and libcurl takes its timeouts as a long. About 24.8 days; also the
// largest delay JavaScript's setTimeout accepts.
constexpr uint64_t kMaxDurationMs = 2147483647;

// The longest libcurl accepts a URL to be (CURL_MAX_INPUT_LENGTH).
constexpr size_t kMaxUrlBytes = 8000000;
// A last event ID longer than this is kept but not sent: libcurl refuses
// requests over 1 MiB, and no server needs a cursor this long.
constexpr size_t kMaxSentIdBytes = 65536;
// The request line and headers: libcurl 7.88 refuses requests over 1 MiB
// (with "out of memory"); the rest leaves room for the lines it adds.
constexpr size_t kMaxRequestHeadBytes = 1048576 - 16384;
// All the response headers of one response, as received.
constexpr size_t kMaxResponseHeaderBytes = 262144;

struct RetryPolicy {
  uint64_t initial_delay_ms = 3000;  // as browsers
  // The floor under every reconnection delay, applied after jitter: a
  // server's `retry: 0` cannot turn reconnecting into a request storm.
  uint64_t min_delay_ms = 250;
  uint64_t max_delay_ms = 30000;
  // A connection that stayed open this long ends a run of failures even if
  // it delivered no event (a stream of keep-alives only).
  uint64_t reset_after_ms = 60000;
  // The longest a Retry-After may defer a reconnect; it overrides
  // max_delay_ms, since the server said when it will be back.
  uint64_t max_retry_after_ms = 600000;
  uint32_t max_attempts = 0;         // 0: unlimited
  uint64_t max_retry_time_ms = 0;    // 0: unlimited
  bool strict = false;               // every status but 200 fails
  // Until a connection of the stream has opened, any failure ends it: a
  // wrong URL or a 401 is reported at once, as an HTTP client would.
  bool fail_first = false;
  // Off: any failure ends the stream, and so does a clean end of the body
  // (with SSEKIT_OK under SSEKIT_END_FINISH): the request is never sent
  // again. For answers to a POST that must not be repeated.
  bool reconnect = true;
  // A reconnect announced by an error waits until the consumer acked it
  // (and its delay passed).
  bool ack_errors = false;
  int on_end = SSEKIT_END_RECONNECT;
};

struct StreamOptions {
  std::string url;
  std::string method = "GET";
  std::optional<std::string> body;
  HeaderList headers;
  std::string last_event_id;
  std::string last_event_id_param;  // empty: header only

  RetryPolicy retry;
  uint64_t connect_timeout_ms = 30000;
  uint64_t read_timeout_ms = 0;
  uint64_t event_timeout_ms = 0;
  // How much of a failing response's body is read for the failure handle,
  // and for how long at most.
  size_t max_error_body = 65536;
  uint64_t error_body_timeout_ms = 5000;  // no event (comments do not count) for this long
  bool dispatch_unterminated = false;  // a last event the body ended without a blank line
  std::optional<std::string> done_sentinel;
  bool dedupe = false;
  size_t max_line = SSEKIT_DEFAULT_MAX_LINE;
  size_t max_event = SSEKIT_DEFAULT_MAX_EVENT;

  bool insecure = false;
  std::string ca_file;
  std::string ca_path;
  std::string client_cert;
  std::string client_key;
  std::optional<std::string> proxy;  // nullopt: the environment's
  std::optional<std::string> cookie_file;
  uint32_t max_redirects = 10;
  // Send the caller's non-credential headers to another origin a redirect
  // leads to (Authorization, Cookie and Proxy-Authorization never go).
  bool redirect_headers = false;
  // Follow a redirect from https to http.
  bool insecure_redirects = false;
};

}  // namespace ssekit

#endif  // SSEKIT_CORE_OPTIONS_H
