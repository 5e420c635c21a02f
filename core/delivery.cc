// Bytes to what the application sees: the parser's events through the
// sentinel, dedupe and listeners to the callbacks or the queue.
#include "stream.h"

#include <cstring>
#include <string>

#include "http.h"
#include "stream_util.h"

namespace ssekit {

void Stream::resume_from_queue() {
  if (state() == SSEKIT_STATE_CLOSED) return;
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

void Stream::stage_read() {
  // A batch this large is worth a wake-up of its own; smaller ones wait
  // for the next reads of this pass (and bound what staging holds).
  if (staged_.items.size() >= cb_.queue->stage_items() ||
      staged_.bytes.size() >= cb_.queue->stage_bytes()) {
    flush_queue();
  } else if (!flush_deferred_ && !staged_.empty()) {
    flush_deferred_ = true;
    loop_.defer_flush(weak_from_this());
  }
}

void Stream::flush_deferred() {
  flush_deferred_ = false;
  if (!stopped_) flush_queue();
}

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

size_t Stream::write_cb(char *p, size_t size, size_t n, void *self) {
  auto *s = static_cast<Stream *>(self);
  try {
    return s->on_body(p, size * n);
  } catch (...) {
    s->fail_on_exception();
    return 0;
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
  // Pushed with the next reads of this pass, or before the loop waits.
  if (cb_.queue) stage_read();
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

}  // namespace ssekit
