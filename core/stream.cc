// One EventSource's life: attempts, their end, the reconnect decision,
// timers, and the calls other threads make.
#include "stream.h"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <functional>

#include "http.h"
#include "stream_util.h"

namespace ssekit {
namespace {

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

}  // namespace

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
  {
    // Stopped already (it failed, finished, or its loop was freed, in which
    // case the loop must not be touched at all).
    std::lock_guard<std::mutex> lock(done_mu_);
    if (done_) return;
  }
  if (settle_if_dead()) return;
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
  // `after` may free the handle that owns this stream as soon as the lock
  // below is released, from the loop thread.
  const auto self = shared_from_this();
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
  if (!closing_.exchange(true, std::memory_order_acq_rel))
    loop_.post([self] { self->stop(SSEKIT_E_CLOSED); });
}

bool Stream::close_or_defer(std::function<void()> after) {
  {
    // A stopped stream's loop may be gone already: do not ask it anything.
    std::lock_guard<std::mutex> lock(done_mu_);
    if (done_) return true;
  }
  if (settle_if_dead()) return true;
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
  loop_.cancel_timer(&hook_timer_);
  state_.store(SSEKIT_STATE_CLOSED, std::memory_order_release);
  if (cb_.closed != nullptr) cb_.closed(code, cb_.userdata);
  if (cb_.queue) {
    // Items staged by a read the close cut short go first; CLOSED is last.
    try {
      staged_.add_value(SSEKIT_ITEM_CLOSED, cb_.userdata, code, 0);
      cb_.queue->push(staged_, self);
    } catch (const std::bad_alloc &) {
      // The stream stops all the same: close() waiters must not hang.
    }
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

  // A failure before the first request (the headers hook refusing, or not
  // answering in time) is judged on this attempt, not on what the last
  // response left (its Retry-After, body, or an event that reset backoff).
  clear_response();
  // A restart ends a wait for a deferred auth or headers answer, or for
  // the consumer's ack of an error.
  auth_waiting_ = false;
  headers_waiting_ = false;
  loop_.cancel_timer(&hook_timer_);
  retry_held_ = false;
  retry_due_ = false;
  hop_ = start_;
  hops_ = 0;
  all_permanent_ = true;
  try {
    // The caller's headers for this attempt, hook included: asked for once
    // per attempt, not again for each redirect it follows.
    collect_caller_headers();
    if (cb_.headers != nullptr) {
      HeaderSink fresh;
      in_headers_ = true;
      headers_deferred_ = false;
      const int rc = cb_.headers(to_c(&fresh), cb_.userdata);
      in_headers_ = false;
      if (closing()) return;
      if (rc != 0) {
        refuse_by_headers_hook();
        return;
      }
      for (const auto &h : fresh.items) set_header(caller_headers_, h.first, h.second);
      if (headers_deferred_) {
        // The hook asked for time (a token from an await or a Promise): the
        // stream waits, CONNECTING, until resume_headers says what to do.
        hook_headers_ = std::move(fresh.items);
        headers_waiting_ = true;
        arm_hook_timer();
        return;
      }
    }
  } catch (const std::bad_alloc &) {
    fail_response(SSEKIT_E_NOMEM, "out of memory", false);
    end_attempt(std::move(failure_));
    return;
  }
  start_hop();
}

void Stream::collect_caller_headers() {
  caller_headers_ = opts_.headers;
  for (const auto &h : auth_headers_) set_header(caller_headers_, h.first, h.second);
}

void Stream::refuse_by_headers_hook() {
  fail_response(SSEKIT_E_HOOK, "the headers hook refused to connect", false);
  end_attempt(std::move(failure_));
}

void Stream::fail_response(int code, std::string message, bool fatal) {
  failure_.code = code;
  failure_.message = std::move(message);
  failure_.fatal = fatal;
  failure_.http_status = static_cast<int>(status_);
}

void Stream::clear_response() {
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
}

void Stream::start_hop() {
  clear_response();
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
    const FailureView failure{code,
                                 f.http_status,
                                 f.message.c_str(),
                                 will_retry ? 1 : 0,
                                 retry_ms,
                                 f.from_response ? &response_headers_ : &kNoHeaders,
                                 f.from_response ? &error_body_ : &kNoBody};
    if (cb_.failure != nullptr) cb_.failure(to_c(&failure), cb_.userdata);
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
    HeaderSink fresh;
    in_auth_ = true;
    auth_deferred_ = false;
    const int retry = cb_.auth(f.http_status, to_c(&fresh), cb_.userdata);
    in_auth_ = false;
    if (closing()) return;
    for (const auto &h : fresh.items) set_header(auth_headers_, h.first, h.second);
    if (auth_deferred_) {
      // The hook asked for time (a token refreshed asynchronously): the
      // stream waits, CONNECTING, until resume_auth says what to do.
      auth_failure_ = std::move(f);
      auth_waiting_ = true;
      arm_hook_timer();
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

void Stream::set_request_header(std::string name, std::optional<std::string> value) {
  // A stopped stream's loop may be gone; it connects no more anyway.
  if (state() == SSEKIT_STATE_CLOSED) return;
  auto self = shared_from_this();
  loop_.post([self, name = std::move(name), value = std::move(value)] {
    erase_header(self->opts_.headers, name);
    // A header the auth hook once set would shadow the new value.
    erase_header(self->auth_headers_, name);
    // While a deferred headers hook waits, what is set now is its answer
    // and wins over what the hook added before deferring.
    if (self->headers_waiting_) erase_header(self->hook_headers_, name);
    if (value) self->opts_.headers.emplace_back(name, *value);
  });
}

void Stream::set_listener(std::string type, ssekit_event_cb cb) {
  // Applied between two events on the loop thread, never while the
  // listener list is being walked.
  if (state() == SSEKIT_STATE_CLOSED) return;
  auto self = shared_from_this();
  loop_.post([self, type = std::move(type), cb] { ssekit::set_listener(self->cb_.listeners, type, cb); });
}

void Stream::decide_after(Failure f) {
  Outcome o;
  o.code = f.code;
  o.http_status = f.http_status;
  o.retry_after_ms = f.retry_after_ms;
  o.open_ms = opened_ ? now_ms() - opened_at_ms_ : 0;
  o.delivered = opened_ && delivered_;
  o.ever_opened = connections_.load() != 0;
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
      // With ack_errors, the consumer must have seen the error first: an
      // EventSource closed from its onerror never reconnects.
      retry_held_ = opts_.retry.ack_errors;
      retry_due_ = false;
      retry_timer_ = loop_.add_timer(d.delay_ms, [this] {
        retry_timer_.second = 0;
        if (retry_held_) {
          retry_due_ = true;
          return;
        }
        connect();
      });
      return;
  }
}

}  // namespace ssekit
