// Building a hop's request: the headers each origin may get, the method
// and body a redirect left, and every curl option, each one checked.
#include "stream.h"

#include <algorithm>
#include <string>

#include "http.h"
#include "stream_util.h"

namespace ssekit {
namespace {

template <typename V>
void set_opt(CURL *e, CURLoption option, V value, const char *name) {
  const CURLcode rc = curl_easy_setopt(e, option, value);
  if (rc != CURLE_OK) throw SetoptError{rc, name};
}
#define SSEKIT_SETOPT(e, option, value) set_opt(e, option, value, #option)

std::string header_line(std::string_view name, std::string_view value) {
  std::string line(name);
  // "Name;" is how curl sends a header with an empty value.
  if (value.empty()) {
    line += ';';
  } else {
    line += ": ";
    line.append(value.data(), value.size());
  }
  return line;
}

}  // namespace

void erase_header(HeaderList &list, std::string_view name) {
  for (auto it = list.begin(); it != list.end(); ++it) {
    if (http::iequals(it->first, name)) {
      list.erase(it);
      return;
    }
  }
}

void set_listener(ListenerList &list, std::string_view type, ssekit_event_cb cb) {
  for (auto it = list.begin(); it != list.end(); ++it) {
    if (it->first == type) {
      if (cb == nullptr) {
        list.erase(it);
      } else {
        it->second = cb;
      }
      return;
    }
  }
  if (cb != nullptr) list.emplace_back(std::string(type), cb);
}

void set_header(HeaderList &list, std::string_view name, std::string_view value) {
  for (auto &h : list) {
    if (http::iequals(h.first, name)) {
      h.second.assign(value.data(), value.size());
      return;
    }
  }
  list.emplace_back(std::string(name), std::string(value));
}

bool Stream::setup_request() {
  HeaderList headers;
  set_header(headers, "Accept", "text/event-stream");
  set_header(headers, "Cache-Control", "no-cache");
  for (const auto &h : caller_headers_) {
    // Headers go only to the origin they were set for; credentials never
    // leave it, the others only when the caller allowed it.
    if (!hop_.same_origin &&
        (!opts_.redirect_headers || http::is_credential_header(h.first)))
      continue;
    // A redirect that turned the request into a GET took the body away.
    if (!hop_.body && opts_.body && http::is_body_header(h.first)) continue;
    set_header(headers, h.first, h.second);
  }
  // An id too long to send is kept (events still report it) but not sent:
  // the reconnect then asks for the stream from wherever the server starts.
  std::string_view last_id = parser_.last_event_id();
  if (last_id.size() > kMaxSentIdBytes) last_id = {};
  if (!last_id.empty()) set_header(headers, "Last-Event-ID", last_id);

  const std::string url = hops_ == 0 && !opts_.last_event_id_param.empty() && !last_id.empty()
                              ? http::with_query_param(hop_.url, opts_.last_event_id_param, last_id)
                              : hop_.url;
  // libcurl's own limits, reported as what they are rather than as the
  // "out of memory" or "no URL set" that libcurl would give.
  size_t head = url.size();
  for (const auto &h : headers) head += h.first.size() + h.second.size() + 4;
  if (url.size() > kMaxUrlBytes) {
    fail_response(SSEKIT_E_REQUEST,
                  "the URL is " + std::to_string(url.size()) + " bytes, over libcurl's limit of " +
                      std::to_string(kMaxUrlBytes),
                  true);
    return false;
  }
  if (head > kMaxRequestHeadBytes) {
    fail_response(SSEKIT_E_REQUEST,
                  "the request's URL and headers are " + std::to_string(head) +
                      " bytes, over libcurl's limit of " + std::to_string(kMaxRequestHeadBytes),
                  true);
    return false;
  }

  curl_slist_free_all(request_headers_);
  request_headers_ = nullptr;
  auto append = [this](const std::string &line) {
    curl_slist *next = curl_slist_append(request_headers_, line.c_str());
    if (next == nullptr) throw std::bad_alloc();
    request_headers_ = next;
  };
  for (const auto &h : headers) append(header_line(h.first, h.second));
  // A body should not wait for a 100 Continue first: "Expect:" with nothing
  // after the colon tells curl to leave the header out.
  if (hop_.body && opts_.body) append("Expect:");

  // One easy handle for every attempt, never reset: each attempt sets the
  // same options again (only the URL, method and headers change), and
  // curl_easy_reset in libcurl 7.88 leaks the cookie file list.
  if (easy_ == nullptr) {
    easy_ = curl_easy_init();
    if (easy_ == nullptr) throw std::bad_alloc();
    // Read once; the handle keeps the jar, with what servers set, from then on.
    if (opts_.cookie_file) SSEKIT_SETOPT(easy_, CURLOPT_COOKIEFILE, opts_.cookie_file->c_str());
  }
  CURL *e = easy_;
  SSEKIT_SETOPT(e, CURLOPT_URL, url.c_str());
  SSEKIT_SETOPT(e, CURLOPT_PRIVATE, static_cast<void *>(this));
  SSEKIT_SETOPT(e, CURLOPT_ERRORBUFFER, errbuf_);
  SSEKIT_SETOPT(e, CURLOPT_NOSIGNAL, 1L);
  SSEKIT_SETOPT(e, CURLOPT_HTTPHEADER, request_headers_);
  SSEKIT_SETOPT(e, CURLOPT_HEADERFUNCTION, &Stream::header_cb);
  SSEKIT_SETOPT(e, CURLOPT_HEADERDATA, static_cast<void *>(this));
  SSEKIT_SETOPT(e, CURLOPT_WRITEFUNCTION, &Stream::write_cb);
  SSEKIT_SETOPT(e, CURLOPT_WRITEDATA, static_cast<void *>(this));
#if LIBCURL_VERSION_NUM >= 0x075500
  SSEKIT_SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  SSEKIT_SETOPT(e, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  // ssekit follows redirects itself (follow_redirect), so that it decides
  // which headers each hop carries: libcurl would forward custom headers to
  // any host and follow https to http.
  SSEKIT_SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
  SSEKIT_SETOPT(e, CURLOPT_ACCEPT_ENCODING, "");
  // Waiting for a connection that may multiplex lets streams to one HTTP/2
  // host share it; only TLS can negotiate HTTP/2 (ALPN), and over plain
  // HTTP/1.1 the wait would last as long as the first stream does.
  SSEKIT_SETOPT(e, CURLOPT_PIPEWAIT, hop_.https ? 1L : 0L);
  SSEKIT_SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
  // Fewer, larger reads: a quarter of the system calls of curl's 16 KiB
  // default on a fast stream, and an idle stream never touches the pages.
  SSEKIT_SETOPT(e, CURLOPT_BUFFERSIZE, 65536L);
  SSEKIT_SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS,
                static_cast<long>(std::min(opts_.connect_timeout_ms, kMaxDurationMs)));

  // The method may change from one hop to the next (a 303 makes a GET), so
  // each hop sets it from scratch.
  SSEKIT_SETOPT(e, CURLOPT_CUSTOMREQUEST, static_cast<const char *>(nullptr));
  if (hop_.body && opts_.body) {
    SSEKIT_SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(opts_.body->size()));
    SSEKIT_SETOPT(e, CURLOPT_POSTFIELDS, opts_.body->data());
    if (hop_.method != "POST") SSEKIT_SETOPT(e, CURLOPT_CUSTOMREQUEST, hop_.method.c_str());
  } else if (hop_.method == "POST") {
    SSEKIT_SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
    SSEKIT_SETOPT(e, CURLOPT_POSTFIELDS, "");
  } else {
    SSEKIT_SETOPT(e, CURLOPT_HTTPGET, 1L);
    if (hop_.method != "GET") SSEKIT_SETOPT(e, CURLOPT_CUSTOMREQUEST, hop_.method.c_str());
  }

  if (opts_.insecure) {
    SSEKIT_SETOPT(e, CURLOPT_SSL_VERIFYPEER, 0L);
    SSEKIT_SETOPT(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!opts_.ca_file.empty()) SSEKIT_SETOPT(e, CURLOPT_CAINFO, opts_.ca_file.c_str());
  if (!opts_.ca_path.empty()) SSEKIT_SETOPT(e, CURLOPT_CAPATH, opts_.ca_path.c_str());
  if (!opts_.client_cert.empty()) SSEKIT_SETOPT(e, CURLOPT_SSLCERT, opts_.client_cert.c_str());
  if (!opts_.client_key.empty()) SSEKIT_SETOPT(e, CURLOPT_SSLKEY, opts_.client_key.c_str());
  if (opts_.proxy) SSEKIT_SETOPT(e, CURLOPT_PROXY, opts_.proxy->c_str());
  return true;
}

}  // namespace ssekit
