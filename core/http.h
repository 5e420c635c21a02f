// Small HTTP helpers the stream needs, kept pure for testing.
#ifndef SSEKIT_CORE_HTTP_H
#define SSEKIT_CORE_HTTP_H

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace ssekit::http {

// ASCII case-insensitive equality, as header names and MIME types compare.
bool iequals(std::string_view a, std::string_view b);

// True if a Content-Type value's MIME type is text/event-stream: parameters
// are ignored and the comparison is case-insensitive.
bool is_event_stream(std::string_view content_type);

// A Retry-After value in milliseconds: delta-seconds, or an HTTP date
// compared with now (a date in the past gives 0). nullopt if malformed.
std::optional<uint64_t> retry_after_ms(std::string_view value, std::time_t now);

// Splits "Name: value\r\n" into its parts, trimming blanks around the
// value. Returns false for a line that is not a header (a status line, the
// blank line ending the block).
bool split_header(std::string_view line, std::string_view *name, std::string_view *value);

// url with the query parameter `name` set to value (percent-encoded),
// replacing every parameter of that name; the fragment is kept last.
std::string with_query_param(std::string_view url, std::string_view name,
                             std::string_view value);

// The parts of an absolute URL that redirects and credentials care about.
struct UrlParts {
  std::string url;     // normalized, as libcurl will request it
  std::string scheme;  // lower case
  std::string origin;  // scheme://host:port, the port always given
};

// Parses url; if it is relative, resolves it against base first (a
// redirect's Location). nullopt if it is not a URL. Any scheme is accepted,
// so callers can refuse the ones they do not follow by name.
std::optional<UrlParts> parse_url(std::string_view url, std::string_view base = {});

// Whether a request header carries credentials, which never leave the
// origin they were set for.
bool is_credential_header(std::string_view name);

// Whether a request header describes the body, and goes when a redirect
// turns the request into a GET without one (as Fetch's "request-body-header
// names").
bool is_body_header(std::string_view name);

}  // namespace ssekit::http

#endif  // SSEKIT_CORE_HTTP_H
