// The inverse of the parser: writes events and comments as text/event-stream.
#ifndef SSEKIT_CORE_ENCODER_H
#define SSEKIT_CORE_ENCODER_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ssekit {

struct OutEvent {
  std::string_view type;                // empty: no `event` line ("message")
  std::optional<std::string_view> id;   // nullopt: no `id` line
  std::optional<std::string_view> data; // nullopt: no `data` line
  int64_t retry_ms = -1;                // < 0: no `retry` line
};

// Writes the event into out (when out_cap is large enough) and returns the
// encoded size through *size. Returns SSEKIT_OK, SSEKIT_E_INVALID for a type
// or id that cannot round-trip (line breaks; NUL in an id), or
// SSEKIT_E_BUFFER_TOO_SMALL when out_cap < *size (nothing written).
int encode_event(const OutEvent &event, char *out, size_t out_cap,
                 size_t *size);
int encode_comment(std::string_view text, char *out, size_t out_cap,
                   size_t *size);

}  // namespace ssekit

#endif  // SSEKIT_CORE_ENCODER_H
