#include "stream.h"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <functional>

#include "http.h"

namespace ssekit {
namespace {

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
#if LIBCURL_VERSION_NUM >= 0x080600
    case CURLE_TOO_LARGE:
      *code = SSEKIT_E_RESPONSE_TOO_LARGE;
      break;
#endif
    default:
      *code = SSEKIT_E_NETWORK;
      break;
  }
}

// A curl_easy_setopt that failed: the option's name and curl's reason.
struct SetoptError {
  CURLcode rc;
  const char *option;
};

template <typename V>
void set_opt(CURL *e, CURLoption option, V value, const char *name) {
  const CURLcode rc = curl_easy_setopt(e, option, value);
  if (rc != CURLE_OK) throw SetoptError{rc, name};
}
#define SSEKIT_SETOPT(e, option, value) set_opt(e, option, value, #option)

bool is_redirect_status(long code) {
  return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
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
  start_.url = opts_.url;
  start_.method = opts_.method;
  start_.body = opts_.body.has_value();
  start_.https = http::iequals(std::string_view(opts_.url).substr(0, 8), "https://");
  try {
    if (auto parts = http::parse_url(opts_.url)) origin_ = parts->origin;
  } catch (const std::bad_alloc &) {
  }
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
  if (cb_.queue) {
    // Queue mode: the hooks still run here, everything else is queued.
    const auto headers = cb_.headers;
    const auto auth = cb_.auth;
    const auto queue = cb_.queue;
    void *const userdata = cb_.userdata;
    cb_ = StreamCallbacks{};
    cb_.headers = headers;
    cb_.auth = auth;
    cb_.queue = queue;
    cb_.userdata = userdata;
  }
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
    if (self->cb_.queue) {
      self->staged_.add_value(SSEKIT_ITEM_STATE, self->cb_.userdata, 0, SSEKIT_STATE_CONNECTING);
      self->flush_queue();
    }
    self->connect();
  });
}

bool Stream::settle_if_dead() {
  if (!loop_.dead()) return false;
  // Inherited through fork(): the loop thread that ran the stream does not
  // exist in this process, so the stream is dead; no callback runs again.
  std::function<void()> after;
  {
    std::lock_guard<std::mutex> lock(done_mu_);
    done_ = true;
    after = std::move(after_stop_);
  }
  closing_.store(true, std::memory_order_release);
  state_.store(SSEKIT_STATE_CLOSED, std::memory_order_release);
  if (after) after();
  return true;
}

void Stream::close() {
  if (settle_if_dead()) return;
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

void Stream::release(std::function<void()> after) {
  bool now = false;
  {
    std::lock_guard<std::mutex> lock(done_mu_);
    if (done_) {
      now = true;
    } else {
      after_stop_ = std::move(after);
    }
  }
  if (now) {
    if (after) after();
    return;
  }
  if (settle_if_dead()) return;
  if (!closing_.exchange(true, std::memory_order_acq_rel)) {
    auto self = shared_from_this();
    loop_.post([self] { self->stop(SSEKIT_E_CLOSED); });
  }
}

bool Stream::close_or_defer(std::function<void()> after) {
  if (settle_if_dead()) return true;
  {
    // A stopped stream's loop may be gone already: do not ask it anything.
    std::lock_guard<std::mutex> lock(done_mu_);
    if (done_) return true;
  }
  if (loop_.on_loop_thread()) {
    release(std::move(after));
    return false;
  }
  close();
  return true;
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
    self->last_event_ns_ = self->last_byte_ns_;
    if (self->attached_ && !self->queue_paused_) curl_easy_pause(self->easy_, CURLPAUSE_CONT);
  });
  return SSEKIT_OK;
}

void Stream::resume_from_queue() {
  auto self = shared_from_this();
  loop_.post([self] {
    if (!self->queue_paused_ || self->stopped_) return;
    self->queue_paused_ = false;
    self->last_byte_ns_ = steady_ns();
    self->last_event_ns_ = self->last_byte_ns_;
    if (self->attached_ && !self->paused_) curl_easy_pause(self->easy_, CURLPAUSE_CONT);
  });
}

void Stream::flush_queue() {
  if (cb_.queue && cb_.queue->push(staged_, shared_from_this())) queue_paused_ = true;
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
  if (cb_.queue && !closing()) {
    staged_.add_value(SSEKIT_ITEM_STATE, cb_.userdata, 0, static_cast<uint64_t>(s));
    flush_queue();
  }
}

void Stream::stop(int code) {
  if (stopped_) return;
  stopped_ = true;
  // `after` may free the last handle that owns this stream.
  const auto self = shared_from_this();
  detach_transfer();
  loop_.cancel_timer(&retry_timer_);
  state_.store(SSEKIT_STATE_CLOSED, std::memory_order_release);
  if (cb_.closed != nullptr) cb_.closed(code, cb_.userdata);
  if (cb_.queue) {
    // Items staged by a read the close cut short go first; CLOSED is last.
    try {
      staged_.add_value(SSEKIT_ITEM_CLOSED, cb_.userdata, code, 0);
    } catch (const std::bad_alloc &) {
    }
    cb_.queue->push(staged_, self);
  }
  std::function<void()> after;
  {
    std::lock_guard<std::mutex> lock(done_mu_);
    done_ = true;
    after = std::move(after_stop_);
  }
  done_cv_.notify_all();
  loop_.detach(this);
  if (after) after();
}

void Stream::detach_transfer() {
  loop_.cancel_timer(&read_timer_);
  loop_.cancel_timer(&error_body_timer_);
  loop_.cancel_timer(&event_timer_);
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

  status_ = 0;
  hop_ = start_;
  hops_ = 0;
  all_permanent_ = true;
  try {
    // The caller's headers for this attempt, hook included: asked for once
    // per attempt, not again for each redirect it follows.
    caller_headers_ = opts_.headers;
    for (const auto &h : auth_headers_) set_header(caller_headers_, h.first, h.second);
    if (cb_.headers != nullptr) {
      ssekit_headers fresh;
      const int rc = cb_.headers(&fresh, cb_.userdata);
      if (closing()) return;
      if (rc != 0) {
        fail_response(SSEKIT_E_HOOK, "the headers hook refused to connect", false);
        end_attempt(std::move(failure_));
        return;
      }
      for (const auto &h : fresh.items) set_header(caller_headers_, h.first, h.second);
    }
  } catch (const std::bad_alloc &) {
    fail_response(SSEKIT_E_NOMEM, "out of memory", false);
    end_attempt(std::move(failure_));
    return;
  }
  start_hop();
}

void Stream::fail_response(int code, std::string message, bool fatal) {
  failure_.code = code;
  failure_.message = std::move(message);
  failure_.fatal = fatal;
  failure_.http_status = static_cast<int>(status_);
}

void Stream::start_hop() {
  response_headers_.clear();
  header_bytes_ = 0;
  status_ = 0;
  opened_ = false;
  delivered_ = false;
  redirect_to_.reset();
  reading_error_body_ = false;
  error_body_.clear();
  failure_ = Failure{};
  finished_ = false;
  errbuf_[0] = '\0';
  parser_.reset_connection();

  bool ready = false;
  try {
    ready = setup_request();
  } catch (const std::bad_alloc &) {
    fail_response(SSEKIT_E_NOMEM, "out of memory", false);
  } catch (const SetoptError &e) {
    // What libcurl refuses now it refuses on every attempt.
    fail_response(e.rc == CURLE_OUT_OF_MEMORY ? SSEKIT_E_NOMEM : SSEKIT_E_REQUEST,
                  std::string("libcurl refused ") + e.option + ": " + curl_easy_strerror(e.rc),
                  true);
  }
  if (!ready) {
    end_attempt(std::move(failure_));
    return;
  }
  const CURLMcode rc = curl_multi_add_handle(loop_.multi(), easy_);
  if (rc != CURLM_OK) {
    fail_response(SSEKIT_E_INTERNAL, curl_multi_strerror(rc), false);
    end_attempt(std::move(failure_));
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
  if (held()) {
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

void Stream::arm_event_timer(uint64_t delay_ms) {
  loop_.cancel_timer(&event_timer_);
  event_timer_ = loop_.add_timer(delay_ms, [this] {
    event_timer_.second = 0;
    on_event_timer();
  });
}

void Stream::on_event_timer() {
  if (!attached_ || stopped_ || closing()) return;
  const uint64_t timeout = opts_.event_timeout_ms;
  if (held()) {
    arm_event_timer(timeout);
    return;
  }
  const auto idle = static_cast<uint64_t>((steady_ns() - last_event_ns_) / 1000000);
  if (idle < timeout) {
    arm_event_timer(timeout - idle);
    return;
  }
  Failure f;
  f.code = SSEKIT_E_EVENT_TIMEOUT;
  f.http_status = static_cast<int>(status_);
  f.message = "no event received for " + std::to_string(idle) + " ms";
  end_attempt(std::move(f));
}

// ------------------------------------------------------------ curl callbacks

// No exception may cross curl's C frames: each callback catches them all.
// One that escapes a user's callback (C++ callers) ends the stream.
void Stream::fail_on_exception() noexcept {
  try {
    throw;
  } catch (const std::bad_alloc &) {
    failure_.code = SSEKIT_E_NOMEM;
  } catch (...) {
    failure_.code = SSEKIT_E_CALLBACK;
  }
  failure_.fatal = true;
  failure_.http_status = static_cast<int>(status_);
  try {
    failure_.message =
        failure_.code == SSEKIT_E_NOMEM ? "out of memory" : "an exception escaped a callback";
  } catch (...) {
  }
}

size_t Stream::header_cb(char *p, size_t size, size_t n, void *self) {
  auto *s = static_cast<Stream *>(self);
  try {
    return s->on_header(p, size * n);
  } catch (...) {
    s->fail_on_exception();
    return 0;
  }
}

size_t Stream::write_cb(char *p, size_t size, size_t n, void *self) {
  auto *s = static_cast<Stream *>(self);
  try {
    return s->on_body(p, size * n);
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
    const ssekit_response response{static_cast<int>(code), &response_headers_};
    cb_.open(&response, cb_.userdata);
  }
  if (cb_.queue && !closing()) {
    staged_.add_open(cb_.userdata, static_cast<int>(code), response_headers_);
    flush_queue();
  }
}

size_t Stream::on_body(char *p, size_t n) {
  if (closing() || finished_) return 0;
  if (reading_error_body_) {
    const size_t room = opts_.max_error_body - error_body_.size();
    error_body_.append(p, std::min(n, room));
    // Enough: ending the transfer here reports the failure kept above.
    return n <= room ? n : 0;
  }
  // The body of a redirect being followed, or of an answer already refused.
  if (!opened_) return n;
  if (held()) return CURL_WRITEFUNC_PAUSE;
  bump(bytes_, n);
  last_byte_ns_ = steady_ns();
  const int rc = parser_.feed(p, n);
  remember_id();
  // One push per network read, however many events it held.
  if (cb_.queue) flush_queue();
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
  if (opts_.dedupe && parser_.event_has_id() &&
      seen_ids_.seen_or_add(std::string_view(ev->id, ev->id_len))) {
    bump(deduped_);
    return true;
  }
  delivered_ = true;
  if (opts_.event_timeout_ms != 0) last_event_ns_ = steady_ns();
  bump(events_);
  const std::string_view type(ev->type, ev->type_len);
  for (const auto &listener : cb_.listeners) {
    if (listener.first == type) {
      if (listener.second(ev, cb_.userdata) != 0) close();
      if (closing()) return false;
    }
  }
  if (cb_.event != nullptr && cb_.event(ev, cb_.userdata) != 0) close();
  if (cb_.queue && !closing())
    staged_.add_event(cb_.userdata, type, std::string_view(ev->data, ev->data_len),
                      std::string_view(ev->id, ev->id_len));
  return !closing();
}

int Stream::parser_comment(const char *text, size_t len, void *self) {
  auto *s = static_cast<Stream *>(self);
  if (s->closing()) return 1;
  if (s->cb_.comment != nullptr && s->cb_.comment(text, len, s->cb_.userdata) != 0) s->close();
  if (s->cb_.queue) s->staged_.add_text(SSEKIT_ITEM_COMMENT, s->cb_.userdata, {text, len});
  return s->closing() ? 1 : 0;
}

int Stream::parser_retry(uint64_t ms, void *self) {
  auto *s = static_cast<Stream *>(self);
  if (s->closing()) return 1;
  // "set the event stream's reconnection time to that integer"
  s->server_retry_ms_ = ms;
  if (s->cb_.retry != nullptr && s->cb_.retry(ms, s->cb_.userdata) != 0) s->close();
  if (s->cb_.queue) s->staged_.add_value(SSEKIT_ITEM_RETRY, s->cb_.userdata, 0, ms);
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
  if (result == CURLE_OK && f.code == SSEKIT_OK && opened_ && !finished_ &&
      opts_.dispatch_unterminated) {
    // The body ended without the blank line that dispatches its last
    // event: end the line and the event as if the server had.
    try {
      parser_.feed("\n\n", 2);
    } catch (...) {
      fail_on_exception();
      f = std::move(failure_);
    }
    remember_id();
    if (closing()) {
      stop(SSEKIT_E_CLOSED);
      return;
    }
  }
  if (finished_) {
    detach_transfer();
    set_state(SSEKIT_STATE_CLOSED);
    stop(SSEKIT_OK);
    return;
  }
  if (redirect_to_) {
    detach_transfer();
    hop_ = std::move(*redirect_to_);
    redirect_to_.reset();
    ++hops_;
    start_hop();
    return;
  }
  if (f.code == SSEKIT_OK) {
    if (result == CURLE_OK) {
      f.code = SSEKIT_E_STREAM_ENDED;
      f.message = "the server ended the stream";
    } else {
      map_curl_error(result, &f.code, &f.fatal);
      f.message = errbuf_[0] != '\0' ? errbuf_ : curl_easy_strerror(result);
      // libcurl 7.88 reports a response header line over its limit as "out
      // of memory" (later versions as CURLE_TOO_LARGE); the request's own
      // limits were checked before it was sent.
      if (f.code == SSEKIT_E_NOMEM && !opened_ && errbuf_[0] == '\0') {
        f.code = SSEKIT_E_RESPONSE_TOO_LARGE;
        f.message = "a response header line exceeds libcurl's limit";
      }
    }
    f.http_status = static_cast<int>(status_);
  }
  end_attempt(std::move(f));
}

void Stream::report(const Failure &f, bool will_retry, uint64_t retry_ms, int code) {
  if (cb_.error != nullptr)
    cb_.error(code, f.http_status, f.message.c_str(), will_retry ? 1 : 0, retry_ms, cb_.userdata);
  if ((cb_.failure != nullptr || cb_.queue) && !closing()) {
    static const HeaderList kNoHeaders;
    static const std::string kNoBody;
    const ssekit_failure failure{code,
                                 f.http_status,
                                 f.message.c_str(),
                                 will_retry ? 1 : 0,
                                 retry_ms,
                                 f.from_response ? &response_headers_ : &kNoHeaders,
                                 f.from_response ? &error_body_ : &kNoBody};
    if (cb_.failure != nullptr) cb_.failure(&failure, cb_.userdata);
    if (cb_.queue) {
      staged_.add_failure(cb_.userdata, failure);
      flush_queue();
    }
  }
}

void Stream::end_attempt(Failure f) {
  detach_transfer();
  if (stopped_) return;

  if ((f.http_status == 401 || f.http_status == 403) && f.code == SSEKIT_E_HTTP_STATUS &&
      cb_.auth != nullptr && !auth_retried_) {
    ssekit_headers fresh;
    in_auth_ = true;
    auth_deferred_ = false;
    const int retry = cb_.auth(f.http_status, &fresh, cb_.userdata);
    in_auth_ = false;
    if (closing()) return;
    for (const auto &h : fresh.items) set_header(auth_headers_, h.first, h.second);
    if (auth_deferred_) {
      // The hook asked for time (a token refreshed asynchronously): the
      // stream waits, CONNECTING, until resume_auth says what to do.
      auth_failure_ = std::move(f);
      auth_waiting_ = true;
      return;
    }
    if (retry != 0) {
      auth_retried_ = true;
      connect();
      return;
    }
  }
  decide_after(std::move(f));
}

int Stream::defer_auth() {
  if (!loop_.on_loop_thread() || !in_auth_) return SSEKIT_E_STATE;
  auth_deferred_ = true;
  return SSEKIT_OK;
}

int Stream::resume_auth(bool retry) {
  if (closing() || state() == SSEKIT_STATE_CLOSED) return SSEKIT_E_STATE;
  auto self = shared_from_this();
  loop_.post([self, retry] {
    if (!self->auth_waiting_ || self->stopped_ || self->closing()) return;
    self->auth_waiting_ = false;
    if (retry) {
      self->auth_retried_ = true;
      self->connect();
    } else {
      self->decide_after(std::move(self->auth_failure_));
    }
  });
  return SSEKIT_OK;
}

void Stream::set_request_header(std::string name, std::optional<std::string> value) {
  auto self = shared_from_this();
  loop_.post([self, name = std::move(name), value = std::move(value)] {
    auto &list = self->opts_.headers;
    for (auto it = list.begin(); it != list.end(); ++it) {
      if (http::iequals(it->first, name)) {
        list.erase(it);
        break;
      }
    }
    // A header the auth hook once set would shadow the new value.
    for (auto it = self->auth_headers_.begin(); it != self->auth_headers_.end(); ++it) {
      if (http::iequals(it->first, name)) {
        self->auth_headers_.erase(it);
        break;
      }
    }
    if (value) list.emplace_back(name, *value);
  });
}

void Stream::set_listener(std::string type, ssekit_event_cb cb) {
  // Applied between two events on the loop thread, never while the
  // listener list is being walked.
  auto self = shared_from_this();
  loop_.post([self, type = std::move(type), cb] {
    auto &ls = self->cb_.listeners;
    for (auto it = ls.begin(); it != ls.end(); ++it) {
      if (it->first == type) {
        if (cb == nullptr) {
          ls.erase(it);
        } else {
          it->second = cb;
        }
        return;
      }
    }
    if (cb != nullptr) ls.emplace_back(type, cb);
  });
}

void Stream::decide_after(Failure f) {
  Outcome o;
  o.code = f.code;
  o.http_status = f.http_status;
  o.retry_after_ms = f.retry_after_ms;
  o.open_ms = opened_ ? now_ms() - opened_at_ms_ : 0;
  o.delivered = opened_ && delivered_;
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
      f.message = std::move(message);
      if (!closing()) report(f, false, 0, d.code);
      // The error ended the stream, even if the callback also closed it.
      stop(d.code);
      return;
    }
    case Decision::kRetry:
      set_state(SSEKIT_STATE_CONNECTING);
      if (!closing()) report(f, true, d.delay_ms, d.code);
      if (closing()) return;
      retry_timer_ = loop_.add_timer(d.delay_ms, [this] {
        retry_timer_.second = 0;
        connect();
      });
      return;
  }
}

}  // namespace ssekit
