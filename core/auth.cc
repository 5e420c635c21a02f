// Answers that come later, from another thread: the auth hook's after a
// 401/403, the headers hook's before a connection attempt, and the
// consumer's ack of an error before its reconnect.
#include "stream.h"

#include <algorithm>
#include <new>
#include <string>

#include "http.h"
#include "stream_util.h"

namespace ssekit {

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
    self->loop_.cancel_timer(&self->hook_timer_);
    if (retry) {
      self->auth_retried_ = true;
      self->connect();
    } else {
      self->decide_after(std::move(self->auth_failure_));
    }
  });
  return SSEKIT_OK;
}

int Stream::defer_headers() {
  if (!loop_.on_loop_thread() || !in_headers_) return SSEKIT_E_STATE;
  headers_deferred_ = true;
  return SSEKIT_OK;
}

int Stream::resume_headers(bool proceed) {
  if (closing() || state() == SSEKIT_STATE_CLOSED) return SSEKIT_E_STATE;
  auto self = shared_from_this();
  // Posted after any set_header the caller made first, so they apply.
  loop_.post([self, proceed] {
    if (!self->headers_waiting_ || self->stopped_ || self->closing()) return;
    self->headers_waiting_ = false;
    self->loop_.cancel_timer(&self->hook_timer_);
    if (!proceed) {
      self->refuse_by_headers_hook();
      return;
    }
    // What the hook added at once stays, over the options' headers as in
    // an answer given at once, except names set_header changed while it
    // waited (those were dropped from hook_headers_ then).
    HeaderList hooked = std::move(self->hook_headers_);
    self->hook_headers_.clear();
    try {
      self->collect_caller_headers();
      for (const auto &h : hooked) set_header(self->caller_headers_, h.first, h.second);
    } catch (const std::bad_alloc &) {
      self->fail_response(SSEKIT_E_NOMEM, "out of memory", false);
      self->end_attempt(std::move(self->failure_));
      return;
    }
    self->start_hop();
  });
  return SSEKIT_OK;
}

void Stream::arm_hook_timer() {
  loop_.cancel_timer(&hook_timer_);
  if (opts_.connect_timeout_ms == 0) return;
  hook_timer_ = loop_.add_timer(opts_.connect_timeout_ms, [this] {
    hook_timer_.second = 0;
    on_hook_timer();
  });
}

void Stream::on_hook_timer() {
  if (stopped_ || closing()) return;
  const uint64_t waited = std::min(opts_.connect_timeout_ms, kMaxDurationMs);
  if (headers_waiting_) {
    // Like a connection that did not open in time: the next attempt asks
    // the hook again, after the backoff.
    headers_waiting_ = false;
    hook_headers_.clear();
    try {
      fail_response(SSEKIT_E_CONNECT_TIMEOUT,
                    "the headers hook did not answer within the connect timeout (" +
                        std::to_string(waited) + " ms)",
                    false);
    } catch (const std::bad_alloc &) {
      fail_response(SSEKIT_E_NOMEM, "out of memory", false);
    }
    end_attempt(std::move(failure_));
  } else if (auth_waiting_) {
    // As if the hook had declined: the 401/403 stands.
    auth_waiting_ = false;
    Failure f = std::move(auth_failure_);
    try {
      f.message += " (the auth hook did not answer within the connect timeout, " +
                   std::to_string(waited) + " ms)";
    } catch (const std::bad_alloc &) {
      // The failure goes on with the message it had.
    }
    decide_after(std::move(f));
  }
}

int Stream::ack_error() {
  if (closing() || state() == SSEKIT_STATE_CLOSED) return SSEKIT_E_STATE;
  auto self = shared_from_this();
  loop_.post([self] {
    if (self->stopped_ || self->closing() || !self->retry_held_) return;
    self->retry_held_ = false;
    if (self->retry_due_) {
      self->retry_due_ = false;
      self->connect();
    }
  });
  return SSEKIT_OK;
}

}  // namespace ssekit
