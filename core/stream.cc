#include "stream.h"

#include <cstring>
#include <ctime>

#include "http.h"

namespace ssekit {
namespace {

// Replayed ids remembered for dedupe.
constexpr size_t kSeenIds = 4096;

// Counters have one writer, the loop thread: a plain add, published with a
// relaxed store, is enough and avoids a locked instruction per event.
void bump(std::atomic<uint64_t> &counter, uint64_t n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// What a curl failure means for the stream. Certificate problems are fatal:
// retrying cannot make a certificate verify.
void map_curl_error(CURLcode rc, int *code, bool *fatal) {
  *fatal = false;
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      *code = SSEKIT_E_CONNECT_TIMEOUT;
      break;
    case CURLE_TOO_MANY_REDIRECTS:
      *code = SSEKIT_E_TOO_MANY_REDIRECTS;
      break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
      *code = SSEKIT_E_REQUEST;
      break;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      *code = SSEKIT_E_TLS;
      *fatal = true;
      break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_SHUTDOWN_FAILED:
      *code = SSEKIT_E_TLS;
      break;
    case CURLE_OUT_OF_MEMORY:
      *code = SSEKIT_E_NOMEM;
      break;
    default:
      *code = SSEKIT_E_NETWORK;
      break;
  }
}

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

void set_header(HeaderList &list, std::string_view name, std::string_view value) {
  for (auto &h : list) {
    if (http::iequals(h.first, name)) {
      h.second.assign(value.data(), value.size());
      return;
    }
  }
  list.emplace_back(std::string(name), std::string(value));
}

Stream::Stream(Loop &loop, StreamOptions options, StreamCallbacks callbacks)
    : loop_(loop),
      opts_(std::move(options)),
      cb_(std::move(callbacks)),
      rng_(std::random_device{}()) {
  url_ = opts_.url;
  shared_url_ = opts_.url;
  shared_last_id_ = opts_.last_event_id;
  parser_.set_last_event_id(opts_.last_event_id);
  parser_.set_max_line(opts_.max_line);
  parser_.set_max_event(opts_.max_event);
  ParserCallbacks pcb;
  pcb.on_event = &Stream::parser_event;
  pcb.on_comment = &Stream::parser_comment;
  pcb.on_retry = &Stream::parser_retry;
  pcb.userdata = this;
  parser_.callbacks() = pcb;
  last_byte_ns_ = steady_ns();
}

Stream::~Stream() {
  if (easy_ != nullptr) curl_easy_cleanup(easy_);
  curl_slist_free_all(request_headers_);
}

// ---------------------------------------------------------------- any thread

void Stream::start() {
  auto self = shared_from_this();
  loop_.post([self] {
    self->loop_.attach(self);
    if (self->closing()) {
      self->stop(SSEKIT_E_CLOSED);
      return;
    }
    // The state starts as CONNECTING; tell the callback about it too.
    if (self->cb_.state != nullptr) self->cb_.state(SSEKIT_STATE_CONNECTING, self->cb_.userdata);
    self->connect();
  });
}

void Stream::close() {
  {
    // Stopped already (it failed, finished, or its loop was freed, in which
    // case the loop must not be touched at all).
    std::lock_guard<std::mutex> lock(done_mu_);
    if (done_) return;
  }
  const bool first = !closing_.exchange(true, std::memory_order_acq_rel);
  if (first) {
    auto self = shared_from_this();
    loop_.post([self] { self->stop(SSEKIT_E_CLOSED); });
  }
  // On the loop thread this is a callback (or runs beside one): it cannot
  // wait for itself; the callback wrappers see closing_ and deliver nothing
  // more, and the posted stop() runs next.
  if (loop_.on_loop_thread()) return;
  std::unique_lock<std::mutex> lock(done_mu_);
  done_cv_.wait(lock, [this] { return done_; });
}

int Stream::restart() {
  if (closing() || state() == SSEKIT_STATE_CLOSED) return SSEKIT_E_STATE;
  auto self = shared_from_this();
  loop_.post([self] {
    if (self->stopped_ || self->closing()) return;
    self->detach_transfer();
    self->loop_.cancel_timer(&self->retry_timer_);
    self->connect();
  });
  return SSEKIT_OK;
}

int Stream::pause() {
  if (state() == SSEKIT_STATE_CLOSED) return SSEKIT_E_STATE;
  if (loop_.on_loop_thread()) {
    // The write callback returns CURL_WRITEFUNC_PAUSE on its next call, so
    // the read being parsed is the last one delivered.
    paused_ = true;
    return SSEKIT_OK;
  }
  auto self = shared_from_this();
  loop_.post([self] { self->paused_ = true; });
  return SSEKIT_OK;
}

int Stream::resume() {
  if (state() == SSEKIT_STATE_CLOSED) return SSEKIT_E_STATE;
  // Always through the loop: unpausing may call the write callback at once,
  // which must not happen inside another curl callback.
  auto self = shared_from_this();
  loop_.post([self] {
    if (!self->paused_ || self->stopped_) return;
    self->paused_ = false;
    self->last_byte_ns_ = steady_ns();
    if (self->attached_) curl_easy_pause(self->easy_, CURLPAUSE_CONT);
  });
  return SSEKIT_OK;
}

uint64_t Stream::metric(int which) const {
  switch (which) {
    case SSEKIT_METRIC_BYTES: return bytes_.load();
    case SSEKIT_METRIC_EVENTS: return events_.load();
    case SSEKIT_METRIC_RECONNECTS: {
      const uint64_t a = attempts_.load();
      return a == 0 ? 0 : a - 1;
    }
    case SSEKIT_METRIC_LAST_STATUS: return last_status_.load();
    case SSEKIT_METRIC_IDLE_MS:
      return static_cast<uint64_t>((steady_ns() - last_byte_ns_.load()) / 1000000);
    case SSEKIT_METRIC_CONNECTIONS: return connections_.load();
    case SSEKIT_METRIC_DEDUPED: return deduped_.load();
    default: return 0;
  }
}

std::string Stream::last_event_id() const {
  std::lock_guard<std::mutex> lock(shared_mu_);
  return shared_last_id_;
}

std::string Stream::url() const {
  std::lock_guard<std::mutex> lock(shared_mu_);
  return shared_url_;
}

// --------------------------------------------------------------- loop thread

uint64_t Stream::now_ms() const {
  return static_cast<uint64_t>(steady_ns() / 1000000);
}

void Stream::set_state(int s) {
  if (state_.exchange(s, std::memory_order_acq_rel) == s) return;
  if (cb_.state != nullptr && !closing()) cb_.state(s, cb_.userdata);
}

void Stream::stop(int code) {
  if (stopped_) return;
  stopped_ = true;
  detach_transfer();
  loop_.cancel_timer(&retry_timer_);
  state_.store(SSEKIT_STATE_CLOSED, std::memory_order_release);
  if (cb_.closed != nullptr) cb_.closed(code, cb_.userdata);
  {
    std::lock_guard<std::mutex> lock(done_mu_);
    done_ = true;
  }
  done_cv_.notify_all();
  loop_.detach(this);
}

void Stream::detach_transfer() {
  loop_.cancel_timer(&read_timer_);
  if (attached_) {
    curl_multi_remove_handle(loop_.multi(), easy_);
    attached_ = false;
  }
  // Whatever the connection left half-parsed is discarded.
  parser_.reset_connection();
  remember_id();
}

void Stream::remember_id() {
  // Runs after every read. Only this thread writes the copy, so comparing
  // needs no lock; other threads' reads are guarded by the write's lock.
  const std::string_view id = parser_.last_event_id();
  if (shared_last_id_ == id) return;
  std::lock_guard<std::mutex> lock(shared_mu_);
  shared_last_id_.assign(id.data(), id.size());
}

void Stream::connect() {
  if (stopped_ || closing()) return;
  set_state(SSEKIT_STATE_CONNECTING);
  bump(attempts_);

  response_headers_.clear();
  status_ = 0;
  opened_ = false;
  permanent_redirect_ = true;
  redirected_ = false;
  failure_ = Failure{};
  finished_ = false;
  errbuf_[0] = '\0';
  parser_.reset_connection();

  bool ready = false;
  try {
    ready = setup_request();
  } catch (const std::bad_alloc &) {
    Failure f;
    f.code = SSEKIT_E_NOMEM;
    f.message = "out of memory";
    end_attempt(std::move(f));
    return;
  }
  if (!ready) return;
  const CURLMcode rc = curl_multi_add_handle(loop_.multi(), easy_);
  if (rc != CURLM_OK) {
    Failure f;
    f.code = SSEKIT_E_INTERNAL;
    f.message = curl_multi_strerror(rc);
    end_attempt(std::move(f));
    return;
  }
  attached_ = true;
  last_byte_ns_ = steady_ns();
  if (opts_.read_timeout_ms != 0) arm_read_timer(opts_.read_timeout_ms);
}

bool Stream::setup_request() {
  HeaderList headers;
  set_header(headers, "Accept", "text/event-stream");
  set_header(headers, "Cache-Control", "no-cache");
  for (const auto &h : opts_.headers) set_header(headers, h.first, h.second);
  for (const auto &h : auth_headers_) set_header(headers, h.first, h.second);
  if (cb_.headers != nullptr) {
    ssekit_headers fresh;
    const int rc = cb_.headers(&fresh, cb_.userdata);
    if (closing()) return false;
    if (rc != 0) {
      Failure f;
      f.code = SSEKIT_E_HOOK;
      f.message = "the headers hook refused to connect";
      end_attempt(std::move(f));
      return false;
    }
    for (const auto &h : fresh.items) set_header(headers, h.first, h.second);
  }
  const std::string_view last_id = parser_.last_event_id();
  if (!last_id.empty()) set_header(headers, "Last-Event-ID", last_id);

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
  if (opts_.body) append("Expect:");

  // One easy handle for every attempt, never reset: each attempt sets the
  // same options again (only the URL and headers change), and
  // curl_easy_reset in libcurl 7.88 leaks the cookie file list.
  if (easy_ == nullptr) {
    easy_ = curl_easy_init();
    if (easy_ == nullptr) throw std::bad_alloc();
    // Read once; the handle keeps the jar, with what servers set, from then on.
    if (opts_.cookie_file)
      curl_easy_setopt(easy_, CURLOPT_COOKIEFILE, opts_.cookie_file->c_str());
  }
  CURL *e = easy_;
  const std::string url = !opts_.last_event_id_param.empty() && !last_id.empty()
                              ? http::with_query_param(url_, opts_.last_event_id_param, last_id)
                              : url_;
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, this);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf_);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, request_headers_);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Stream::header_cb);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Stream::write_cb);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(e, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS,
                   static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  // curl drops Authorization and Cookie headers on a redirect to another
  // host unless told otherwise, which it is not.
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, static_cast<long>(opts_.max_redirects));
  curl_easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  // Waiting for a connection that may multiplex lets streams to one HTTP/2
  // host share it; only TLS can negotiate HTTP/2 (ALPN), and over plain
  // HTTP/1.1 the wait would last as long as the first stream does.
  curl_easy_setopt(e, CURLOPT_PIPEWAIT,
                   http::iequals(std::string_view(url).substr(0, 8), "https://") ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  // Fewer, larger reads: a quarter of the system calls of curl's 16 KiB
  // default on a fast stream, and an idle stream never touches the pages.
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 65536L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts_.connect_timeout_ms));

  if (opts_.body) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(opts_.body->size()));
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, opts_.body->data());
    if (opts_.method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, opts_.method.c_str());
  } else if (opts_.method == "GET") {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (opts_.method == "POST") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
  } else {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, opts_.method.c_str());
  }

  if (opts_.insecure) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!opts_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, opts_.ca_file.c_str());
  if (!opts_.ca_path.empty()) curl_easy_setopt(e, CURLOPT_CAPATH, opts_.ca_path.c_str());
  if (!opts_.client_cert.empty())
    curl_easy_setopt(e, CURLOPT_SSLCERT, opts_.client_cert.c_str());
  if (!opts_.client_key.empty()) curl_easy_setopt(e, CURLOPT_SSLKEY, opts_.client_key.c_str());
  if (opts_.proxy) curl_easy_setopt(e, CURLOPT_PROXY, opts_.proxy->c_str());
  return true;
}

void Stream::arm_read_timer(uint64_t delay_ms) {
  loop_.cancel_timer(&read_timer_);
  read_timer_ = loop_.add_timer(delay_ms, [this] {
    read_timer_.second = 0;
    on_read_timer();
  });
}

void Stream::on_read_timer() {
  if (!attached_ || stopped_ || closing()) return;
  const uint64_t timeout = opts_.read_timeout_ms;
  if (paused_) {
    arm_read_timer(timeout);
    return;
  }
  const auto idle = static_cast<uint64_t>((steady_ns() - last_byte_ns_.load()) / 1000000);
  if (idle < timeout) {
    arm_read_timer(timeout - idle);
    return;
  }
  Failure f;
  f.code = SSEKIT_E_READ_TIMEOUT;
  f.http_status = static_cast<int>(status_);
  f.message = "no data received for " + std::to_string(idle) + " ms";
  end_attempt(std::move(f));
}

// ------------------------------------------------------------ curl callbacks

size_t Stream::header_cb(char *p, size_t size, size_t n, void *self) {
  // No exception may cross curl's C frames.
  auto *s = static_cast<Stream *>(self);
  try {
    return s->on_header(p, size * n);
  } catch (const std::bad_alloc &) {
    s->failure_.code = SSEKIT_E_NOMEM;
    s->failure_.message = "out of memory";
    return 0;
  }
}

size_t Stream::write_cb(char *p, size_t size, size_t n, void *self) {
  return static_cast<Stream *>(self)->on_body(p, size * n);
}

size_t Stream::on_header(const char *p, size_t n) {
  last_byte_ns_ = steady_ns();
  const std::string_view line(p, n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response: an interim 1xx or the next hop of a redirect.
    response_headers_.clear();
    return n;
  }
  if (line == "\r\n" || line == "\n") return on_headers_end() ? n : 0;
  std::string_view name, value;
  if (http::split_header(line, &name, &value))
    response_headers_.emplace_back(std::string(name), std::string(value));
  return n;
}

bool Stream::on_headers_end() {
  long code = 0;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &code);
  if (code < 200) return true;
  if (code >= 300 && code < 400 && code != 304 && code != 305) {
    // curl follows a redirect with a Location (or fails with too many
    // redirects); CURLINFO_REDIRECT_URL stays empty while it follows.
    for (const auto &h : response_headers_) {
      if (http::iequals(h.first, "Location")) {
        redirected_ = true;
        if (code != 301 && code != 308) permanent_redirect_ = false;
        return true;
      }
    }
  }
  status_ = code;
  last_status_.store(static_cast<uint64_t>(code), std::memory_order_relaxed);

  const char *ctype = nullptr;
  curl_easy_getinfo(easy_, CURLINFO_CONTENT_TYPE, &ctype);
  if (code == 200 && ctype != nullptr && http::is_event_stream(ctype)) {
    open_response(code);
    return true;
  }
  Failure f;
  f.http_status = static_cast<int>(code);
  if (code != 200) {
    f.code = SSEKIT_E_HTTP_STATUS;
    f.message = "HTTP status " + std::to_string(code);
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
  return false;
}

void Stream::open_response(long code) {
  opened_ = true;
  opened_at_ms_ = now_ms();
  auth_retried_ = false;
  bump(connections_);
  if (redirected_ && permanent_redirect_) {
    // Later reconnects go straight to where a permanent redirect pointed.
    char *effective = nullptr;
    curl_easy_getinfo(easy_, CURLINFO_EFFECTIVE_URL, &effective);
    if (effective != nullptr) {
      url_ = effective;
      std::lock_guard<std::mutex> lock(shared_mu_);
      shared_url_ = url_;
    }
  }
  set_state(SSEKIT_STATE_OPEN);
  if (cb_.open != nullptr && !closing()) {
    const ssekit_response response{static_cast<int>(code), &response_headers_};
    cb_.open(&response, cb_.userdata);
  }
}

size_t Stream::on_body(char *p, size_t n) {
  if (closing() || finished_) return 0;
  // The body of a redirect being followed, or of an answer already refused.
  if (!opened_) return n;
  if (paused_) return CURL_WRITEFUNC_PAUSE;
  bump(bytes_, n);
  last_byte_ns_ = steady_ns();
  const int rc = parser_.feed(p, n);
  remember_id();
  if (rc == SSEKIT_OK) return n;
  if (rc != SSEKIT_E_CALLBACK) {
    failure_.code = rc;
    failure_.http_status = static_cast<int>(status_);
    failure_.message = parser_.error_message();
  }
  return 0;
}

int Stream::parser_event(const ssekit_event *event, void *self) {
  return static_cast<Stream *>(self)->deliver_event(event) ? 0 : 1;
}

bool Stream::deliver_event(const ssekit_event *ev) {
  if (closing()) return false;
  if (opts_.done_sentinel && ev->data_len == opts_.done_sentinel->size() &&
      std::memcmp(ev->data, opts_.done_sentinel->data(), ev->data_len) == 0) {
    finished_ = true;
    return false;
  }
  if (opts_.dedupe && parser_.event_has_id()) {
    std::string id(ev->id, ev->id_len);
    if (seen_ids_.count(id) != 0) {
      bump(deduped_);
      return true;
    }
    seen_ids_.insert(id);
    seen_order_.push_back(std::move(id));
    if (seen_order_.size() > kSeenIds) {
      seen_ids_.erase(seen_order_.front());
      seen_order_.pop_front();
    }
  }
  bump(events_);
  const std::string_view type(ev->type, ev->type_len);
  for (const auto &listener : cb_.listeners) {
    if (listener.first == type) {
      if (listener.second(ev, cb_.userdata) != 0) close();
      if (closing()) return false;
    }
  }
  if (cb_.event != nullptr && cb_.event(ev, cb_.userdata) != 0) close();
  return !closing();
}

int Stream::parser_comment(const char *text, size_t len, void *self) {
  auto *s = static_cast<Stream *>(self);
  if (s->closing()) return 1;
  if (s->cb_.comment != nullptr && s->cb_.comment(text, len, s->cb_.userdata) != 0) s->close();
  return s->closing() ? 1 : 0;
}

int Stream::parser_retry(uint64_t ms, void *self) {
  auto *s = static_cast<Stream *>(self);
  if (s->closing()) return 1;
  // "set the event stream's reconnection time to that integer"
  s->server_retry_ms_ = ms;
  if (s->cb_.retry != nullptr && s->cb_.retry(ms, s->cb_.userdata) != 0) s->close();
  return s->closing() ? 1 : 0;
}

// ------------------------------------------------------------ attempt's end

void Stream::on_transfer_done(CURL *easy, CURLcode result) {
  if (easy != easy_ || !attached_) return;
  Failure f = std::move(failure_);
  if (closing()) {
    stop(SSEKIT_E_CLOSED);
    return;
  }
  if (finished_) {
    detach_transfer();
    set_state(SSEKIT_STATE_CLOSED);
    stop(SSEKIT_OK);
    return;
  }
  if (f.code == SSEKIT_OK) {
    if (result == CURLE_OK) {
      f.code = SSEKIT_E_STREAM_ENDED;
      f.message = "the server ended the stream";
    } else {
      map_curl_error(result, &f.code, &f.fatal);
      f.message = errbuf_[0] != '\0' ? errbuf_ : curl_easy_strerror(result);
    }
    f.http_status = static_cast<int>(status_);
  }
  end_attempt(std::move(f));
}

void Stream::end_attempt(Failure f) {
  detach_transfer();
  if (stopped_) return;

  if ((f.http_status == 401 || f.http_status == 403) && f.code == SSEKIT_E_HTTP_STATUS &&
      cb_.auth != nullptr && !auth_retried_) {
    ssekit_headers fresh;
    const int retry = cb_.auth(f.http_status, &fresh, cb_.userdata);
    if (closing()) return;
    if (retry != 0) {
      auth_retried_ = true;
      for (const auto &h : fresh.items) set_header(auth_headers_, h.first, h.second);
      connect();
      return;
    }
  }

  Outcome o;
  o.code = f.code;
  o.http_status = f.http_status;
  o.retry_after_ms = f.retry_after_ms;
  o.open_ms = opened_ ? now_ms() - opened_at_ms_ : 0;
  o.fatal = f.fatal;
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  const Decision d = decide(opts_.retry, retry_state_, o, now_ms(),
                            server_retry_ms_.value_or(opts_.retry.initial_delay_ms), jitter(rng_));
  switch (d.action) {
    case Decision::kFinish:
      set_state(SSEKIT_STATE_CLOSED);
      stop(SSEKIT_OK);
      return;
    case Decision::kFail: {
      std::string message = std::move(f.message);
      if (d.code == SSEKIT_E_RETRIES_EXHAUSTED) message = "giving up after: " + message;
      set_state(SSEKIT_STATE_CLOSED);
      if (cb_.error != nullptr && !closing())
        cb_.error(d.code, f.http_status, message.c_str(), 0, 0, cb_.userdata);
      // The error ended the stream, even if the callback also closed it.
      stop(d.code);
      return;
    }
    case Decision::kRetry:
      set_state(SSEKIT_STATE_CONNECTING);
      if (cb_.error != nullptr && !closing())
        cb_.error(d.code, f.http_status, f.message.c_str(), 1, d.delay_ms, cb_.userdata);
      if (closing()) return;
      retry_timer_ = loop_.add_timer(d.delay_ms, [this] {
        retry_timer_.second = 0;
        connect();
      });
      return;
  }
}

}  // namespace ssekit
