// Reading a response's head: whether it opens the stream, is a redirect to
// follow, or a failure whose body is worth keeping.
#include "stream.h"

#include <ctime>
#include <string>

#include "http.h"
#include "stream_util.h"

namespace ssekit {
namespace {

bool is_redirect_status(long code) {
  return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

}  // namespace

size_t Stream::header_cb(char *p, size_t size, size_t n, void *self) {
  auto *s = static_cast<Stream *>(self);
  try {
    return s->on_header(p, size * n);
  } catch (...) {
    s->fail_on_exception();
    return 0;
  }
}

size_t Stream::on_header(const char *p, size_t n) {
  // The read timeout counts header lines: curl hands over whole lines only.
  last_byte_ns_ = steady_ns();
  const std::string_view line(p, n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response: an interim 1xx.
    response_headers_.clear();
    header_bytes_ = 0;
    return n;
  }
  if (line == "\r\n" || line == "\n") return on_headers_end() ? n : 0;
  header_bytes_ += n;
  if (header_bytes_ > kMaxResponseHeaderBytes) {
    fail_response(SSEKIT_E_RESPONSE_TOO_LARGE,
                  "the response headers exceed " + std::to_string(kMaxResponseHeaderBytes) +
                      " bytes",
                  false);
    return 0;
  }
  std::string_view name, value;
  if (http::split_header(line, &name, &value))
    response_headers_.emplace_back(std::string(name), std::string(value));
  return n;
}

bool Stream::on_headers_end() {
  long code = 0;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &code);
  if (code < 200) return true;
  status_ = code;
  last_status_.store(static_cast<uint64_t>(code), std::memory_order_relaxed);
  if (is_redirect_status(code)) {
    // A redirect without a Location, or with an empty one, is an answer
    // like any other failing status.
    for (const auto &h : response_headers_) {
      if (http::iequals(h.first, "Location") && !h.second.empty())
        return follow_redirect(code, h.second);
    }
  }

  const char *ctype = nullptr;
  curl_easy_getinfo(easy_, CURLINFO_CONTENT_TYPE, &ctype);
  if (code == 200 && ctype != nullptr && http::is_event_stream(ctype)) {
    open_response(code);
    return true;
  }
  Failure f;
  f.http_status = static_cast<int>(code);
  f.from_response = true;
  if (code != 200) {
    f.code = SSEKIT_E_HTTP_STATUS;
    f.message = "HTTP status " + std::to_string(code);
    if (is_redirect_status(code)) f.message += " without a Location";
    for (const auto &h : response_headers_) {
      if (http::iequals(h.first, "Retry-After")) {
        f.retry_after_ms = http::retry_after_ms(h.second, std::time(nullptr));
        break;
      }
    }
  } else {
    f.code = SSEKIT_E_CONTENT_TYPE;
    f.message = std::string("Content-Type is ") + (ctype != nullptr ? ctype : "missing") +
                ", not text/event-stream";
  }
  failure_ = std::move(f);
  if (opts_.max_error_body == 0) return false;
  // The body of an error tells why (an LLM API's JSON error): read its
  // first bytes, for a bounded time, then fail the attempt.
  reading_error_body_ = true;
  error_body_timer_ = loop_.add_timer(opts_.error_body_timeout_ms, [this] {
    error_body_timer_.second = 0;
    on_error_body_timer();
  });
  return true;
}

void Stream::on_error_body_timer() {
  if (!attached_ || stopped_ || closing() || !reading_error_body_) return;
  end_attempt(std::move(failure_));
}

// Decides the next hop and ends this transfer (returning false aborts it at
// the end of the headers; the redirect's body is never read).
bool Stream::follow_redirect(long code, std::string_view location) {
  if (hops_ >= opts_.max_redirects) {
    fail_response(SSEKIT_E_TOO_MANY_REDIRECTS,
                  "more than " + std::to_string(opts_.max_redirects) + " redirects", true);
    return false;
  }
  const auto next = http::parse_url(location, hop_.url);
  if (!next) {
    fail_response(SSEKIT_E_REDIRECT,
                  "HTTP status " + std::to_string(code) + " to a Location that is not a URL",
                  true);
    return false;
  }
  if (next->scheme != "http" && next->scheme != "https") {
    fail_response(SSEKIT_E_REDIRECT, "refused a redirect to a " + next->scheme + " URL", true);
    return false;
  }
  if (hop_.https && next->scheme == "http" && !opts_.insecure_redirects) {
    fail_response(SSEKIT_E_REDIRECT,
                  "refused a redirect from https to http (" + next->url +
                      "); ssekit_stream_set_insecure_redirects allows it",
                  true);
    return false;
  }
  Hop hop;
  hop.url = next->url;
  hop.https = next->scheme == "https";
  hop.same_origin = !origin_.empty() && next->origin == origin_;
  // As browsers and libcurl do: 303 makes any method but HEAD a GET, 301 and
  // 302 make a POST a GET, and only 307 and 308 send the body again.
  hop.method = hop_.method;
  hop.body = hop_.body;
  if ((code == 303 && hop_.method != "HEAD") ||
      ((code == 301 || code == 302) && hop_.method == "POST")) {
    hop.method = "GET";
    hop.body = false;
  }
  if (code != 301 && code != 308) all_permanent_ = false;
  redirect_to_ = std::move(hop);
  return false;
}

void Stream::open_response(long code) {
  opened_ = true;
  opened_at_ms_ = now_ms();
  auth_retried_ = false;
  bump(connections_);
  if (hops_ > 0 && all_permanent_ && hop_.same_origin) {
    // Later reconnects go straight to where permanent redirects pointed,
    // with the method they left. A permanent redirect to another origin is
    // not remembered: reconnects go to the origin the caller's headers
    // belong to, which may point elsewhere next time.
    start_ = hop_;
    std::lock_guard<std::mutex> lock(shared_mu_);
    shared_url_ = start_.url;
  }
  last_event_ns_ = steady_ns();
  if (opts_.event_timeout_ms != 0) arm_event_timer(opts_.event_timeout_ms);
  set_state(SSEKIT_STATE_OPEN);
  if (cb_.open != nullptr && !closing()) {
    const ResponseView response{static_cast<int>(code), &response_headers_};
    cb_.open(to_c(&response), cb_.userdata);
  }
  if (cb_.queue && !closing()) {
    staged_.add_open(cb_.userdata, static_cast<int>(code), response_headers_);
    flush_queue();
  }
}

}  // namespace ssekit
