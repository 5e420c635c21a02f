#include "queue.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <utility>

#if defined(__linux__)
#include <sys/eventfd.h>
#endif

#include "stream.h"

namespace ssekit {

void Staged::clear() {
  recs.clear();
  bytes.clear();
  failures.clear();
  responses.clear();
}

void Staged::add_event(void *userdata, std::string_view type, std::string_view data,
                       std::string_view id) {
  Rec &r = recs.emplace_back();
  r.item.kind = SSEKIT_ITEM_EVENT;
  r.item.userdata = userdata;
  r.type_off = bytes.size();
  r.item.type_len = type.size();
  r.data_off = r.type_off + type.size();
  r.item.data_len = data.size();
  r.id_off = r.data_off + data.size();
  r.item.id_len = id.size();
  bytes.reserve(bytes.size() + type.size() + data.size() + id.size());
  bytes.append(type).append(data).append(id);
}

void Staged::add_text(int kind, void *userdata, std::string_view text) {
  Rec &r = recs.emplace_back();
  r.item.kind = kind;
  r.item.userdata = userdata;
  r.type_off = r.data_off = r.id_off = bytes.size();
  r.item.data_len = text.size();
  bytes.append(text);
}

void Staged::add_value(int kind, void *userdata, int code, uint64_t value) {
  Rec &r = recs.emplace_back();
  r.item.kind = kind;
  r.item.userdata = userdata;
  r.item.code = code;
  r.item.value = value;
  r.type_off = r.data_off = r.id_off = bytes.size();
}

void Staged::add_open(void *userdata, int status, const HeaderList &headers) {
  auto copy = std::make_unique<ResponseCopy>();
  copy->headers = headers;
  copy->view.status = status;
  copy->view.headers = &copy->headers;
  Rec &r = recs.emplace_back();
  r.item.kind = SSEKIT_ITEM_OPEN;
  r.item.userdata = userdata;
  r.item.status = status;
  r.type_off = r.data_off = r.id_off = bytes.size();
  r.response = static_cast<int>(responses.size());
  responses.push_back(std::move(copy));
}

void Staged::add_failure(void *userdata, const FailureView &f) {
  auto copy = std::make_unique<FailureCopy>();
  copy->message = f.message;
  copy->headers = *f.headers;
  copy->body = *f.body;
  copy->view = f;
  copy->view.message = copy->message.c_str();
  copy->view.headers = &copy->headers;
  copy->view.body = &copy->body;
  Rec &r = recs.emplace_back();
  r.item.kind = SSEKIT_ITEM_ERROR;
  r.item.userdata = userdata;
  r.item.code = f.code;
  r.item.status = f.status;
  r.item.will_retry = f.will_retry;
  r.item.value = f.retry_ms;
  // The message doubles as the item's data, as it does in the callback.
  r.type_off = r.data_off = r.id_off = bytes.size();
  r.item.data_len = copy->message.size();
  bytes.append(copy->message);
  r.failure = static_cast<int>(failures.size());
  failures.push_back(std::move(copy));
}

void Staged::append(Staged &&other) {
  if (recs.empty()) {
    std::swap(*this, other);
    other.clear();
    return;
  }
  const size_t shift = bytes.size();
  const int fshift = static_cast<int>(failures.size());
  const int rshift = static_cast<int>(responses.size());
  bytes.append(other.bytes);
  recs.reserve(recs.size() + other.recs.size());
  for (Rec r : other.recs) {
    r.type_off += shift;
    r.data_off += shift;
    r.id_off += shift;
    if (r.failure >= 0) r.failure += fshift;
    if (r.response >= 0) r.response += rshift;
    recs.push_back(r);
  }
  for (auto &f : other.failures) failures.push_back(std::move(f));
  for (auto &r : other.responses) responses.push_back(std::move(r));
  other.clear();
}

Queue::Queue(size_t max_items, size_t max_bytes)
    : max_items_(max_items != 0 ? max_items : kDefaultItems),
      max_bytes_(max_bytes != 0 ? max_bytes : kDefaultBytes) {
#if defined(__linux__)
  read_fd_ = write_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (read_fd_ < 0) throw std::runtime_error("eventfd failed");
#else
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  for (int fd : fds) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  read_fd_ = fds[0];
  write_fd_ = fds[1];
#endif
}

Queue::~Queue() {
  ::close(read_fd_);
  if (write_fd_ != read_fd_) ::close(write_fd_);
}

void Queue::set_ready(void (*cb)(void *), void *userdata) {
  std::lock_guard<std::mutex> lock(mu_);
  ready_cb_ = cb;
  ready_userdata_ = userdata;
}

// Under mu_, so the descriptor is readable exactly while pending_ holds
// something: a take that empties the queue clears it in the same lock.
void Queue::signal_locked() {
#if defined(__linux__)
  const uint64_t one = 1;
  while (::write(write_fd_, &one, sizeof one) < 0 && errno == EINTR) {
  }
#else
  const char one = 1;
  while (::write(write_fd_, &one, 1) < 0 && errno == EINTR) {
  }
#endif
}

void Queue::clear_signal_locked() {
  char buf[64];
  while (::read(read_fd_, buf, sizeof buf) > 0 || errno == EINTR) {
#if defined(__linux__)
    break;  // one read resets an eventfd
#endif
  }
}

bool Queue::push(Staged &staged, const std::shared_ptr<Stream> &stream) {
  if (staged.empty()) return false;
  void (*ready)(void *) = nullptr;
  void *ready_userdata = nullptr;
  bool full = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const bool was_empty = pending_.empty();
    pending_.append(std::move(staged));
    full = pending_.recs.size() > max_items_ || pending_.bytes.size() > max_bytes_;
    if (full) paused_.push_back(stream);
    if (was_empty) {
      signal_locked();
      ready = ready_cb_;
      ready_userdata = ready_userdata_;
    }
  }
  cv_.notify_all();
  if (ready != nullptr) ready(ready_userdata);
  return full;
}

std::unique_ptr<Batch> Queue::take(int64_t timeout_ms) {
  auto batch = std::make_unique<Batch>();
  std::vector<std::weak_ptr<Stream>> paused;
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto ready = [this] { return !pending_.empty(); };
    if (!ready()) {
      if (timeout_ms == 0) return nullptr;
      if (timeout_ms < 0) {
        cv_.wait(lock, ready);
      } else {
        cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready);
      }
      if (!ready()) return nullptr;
    }
    std::swap(batch->storage, pending_);
    clear_signal_locked();
    paused.swap(paused_);
  }
  // The queue is empty now: every stream it held back goes on.
  for (auto &w : paused) {
    if (auto s = w.lock()) s->resume_from_queue();
  }
  Staged &st = batch->storage;
  const char *base = st.bytes.data();
  batch->items.reserve(st.recs.size());
  for (const auto &r : st.recs) {
    ssekit_item item = r.item;
    item.type = base + r.type_off;
    item.data = base + r.data_off;
    item.id = base + r.id_off;
    if (r.failure >= 0) item.failure = to_c(&st.failures[static_cast<size_t>(r.failure)]->view);
    if (r.response >= 0)
      item.response = to_c(&st.responses[static_cast<size_t>(r.response)]->view);
    batch->items.push_back(item);
  }
  return batch;
}

}  // namespace ssekit
