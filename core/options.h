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

struct RetryPolicy {
  uint64_t initial_delay_ms = 3000;  // as browsers
  uint64_t max_delay_ms = 30000;
  uint64_t reset_after_ms = 60000;
  uint32_t max_attempts = 0;         // 0: unlimited
  uint64_t max_retry_time_ms = 0;    // 0: unlimited
  bool strict = false;               // every status but 200 fails
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
};

}  // namespace ssekit

#endif  // SSEKIT_CORE_OPTIONS_H
