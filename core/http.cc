#include "http.h"

#include <curl/curl.h>

#include <new>
#include <string>

namespace ssekit::http {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

void percent_encode(std::string_view s, std::string &out) {
  static const char hex[] = "0123456789ABCDEF";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (unreserved(c)) {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool is_event_stream(std::string_view content_type) {
  const size_t semi = content_type.find(';');
  return iequals(trim(content_type.substr(0, semi)), "text/event-stream");
}

std::optional<uint64_t> retry_after_ms(std::string_view value, std::time_t now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  bool digits = true;
  for (const char c : value) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    if (value.size() > 9) return uint64_t{999999999} * 1000;  // over 31 years
    return std::stoull(std::string(value)) * 1000;
  }
  const std::time_t when = curl_getdate(std::string(value).c_str(), nullptr);
  if (when < 0) return std::nullopt;
  return when <= now ? 0 : static_cast<uint64_t>(when - now) * 1000;
}

bool split_header(std::string_view line, std::string_view *name, std::string_view *value) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view n = line.substr(0, colon);
  if (n.find_first_of(" \t") != std::string_view::npos) return false;
  *name = n;
  *value = trim(line.substr(colon + 1));
  return true;
}

std::string with_query_param(std::string_view url, std::string_view name,
                             std::string_view value) {
  std::string_view fragment;
  const size_t hash = url.find('#');
  if (hash != std::string_view::npos) {
    fragment = url.substr(hash);
    url = url.substr(0, hash);
  }
  std::string out;
  const size_t q = url.find('?');
  out.append(url.substr(0, q));
  std::string encoded_name;
  percent_encode(name, encoded_name);
  char sep = '?';
  if (q != std::string_view::npos) {
    std::string_view query = url.substr(q + 1);
    while (!query.empty()) {
      const size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      const std::string_view key = pair.substr(0, pair.find('='));
      if (!pair.empty() && key != encoded_name && key != name) {
        out += sep;
        out.append(pair);
        sep = '&';
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  out += sep;
  out += encoded_name;
  out += '=';
  percent_encode(value, out);
  out.append(fragment);
  return out;
}

std::optional<UrlParts> parse_url(std::string_view url, std::string_view base) {
  CURLU *h = curl_url();
  if (h == nullptr) throw std::bad_alloc();
  struct Free {
    CURLU *h;
    ~Free() { curl_url_cleanup(h); }
  } guard{h};
  const unsigned flags = CURLU_NON_SUPPORT_SCHEME;
  // A relative URL is resolved against the one already in the handle.
  if (!base.empty() && curl_url_set(h, CURLUPART_URL, std::string(base).c_str(), flags) != CURLUE_OK)
    return std::nullopt;
  if (curl_url_set(h, CURLUPART_URL, std::string(url).c_str(), flags) != CURLUE_OK)
    return std::nullopt;
  auto get = [h](CURLUPart part, unsigned f, std::string *out) {
    char *v = nullptr;
    if (curl_url_get(h, part, &v, f) != CURLUE_OK || v == nullptr) return false;
    *out = v;
    curl_free(v);
    return true;
  };
  UrlParts parts;
  std::string host, port;
  if (!get(CURLUPART_URL, 0, &parts.url) || !get(CURLUPART_SCHEME, 0, &parts.scheme) ||
      !get(CURLUPART_HOST, 0, &host))
    return std::nullopt;
  // A scheme without a default port (one ssekit does not follow) has none.
  if (!get(CURLUPART_PORT, CURLU_DEFAULT_PORT, &port)) port.clear();
  for (char &c : parts.scheme) c = lower(c);
  for (char &c : host) c = lower(c);
  parts.origin = parts.scheme + "://" + host + ":" + port;
  return parts;
}

bool is_credential_header(std::string_view name) {
  return iequals(name, "Authorization") || iequals(name, "Cookie") ||
         iequals(name, "Proxy-Authorization");
}

bool is_body_header(std::string_view name) {
  return iequals(name, "Content-Type") || iequals(name, "Content-Encoding") ||
         iequals(name, "Content-Language") || iequals(name, "Content-Location") ||
         iequals(name, "Content-Length");
}

}  // namespace ssekit::http
