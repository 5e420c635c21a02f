#include "queue.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <stdexcept>
#include <utility>

#if defined(__linux__)
#include <sys/eventfd.h>
#endif

#include "loop.h"
#include "stream.h"

namespace ssekit {

namespace {

const char *offset(size_t off) { return reinterpret_cast<const char *>(static_cast<uintptr_t>(off)); }

// Most events have the default type: it is not copied for each of them.
constexpr size_t kMessageType = SIZE_MAX;
constexpr std::string_view kMessage = "message";
size_t offset_of(const char *p) { return static_cast<size_t>(reinterpret_cast<uintptr_t>(p)); }

ssekit_item &add(std::vector<ssekit_item> &items, int kind, void *userdata, size_t at) {
  ssekit_item &it = items.emplace_back();
  it.kind = kind;
  it.userdata = userdata;
  it.type = it.data = it.id = offset(at);
  return it;
}

}  // namespace

void Staged::add_event(void *userdata, std::string_view type, std::string_view data,
                       std::string_view id) {
  const bool message = type == kMessage;
  const size_t type_bytes = message ? 0 : type.size();
  const size_t data_bytes = data.size();
  const size_t at = bytes.size();
  ssekit_item &it = add(items, SSEKIT_ITEM_EVENT, userdata, at);
  if (message) it.type = offset(kMessageType);
  it.type_len = type.size();
  it.data = offset(at + type_bytes);
  it.data_len = data.size();
  it.id = offset(at + type_bytes + data_bytes);
  it.id_len = id.size();
  // One bounds check for the three strings.
  char *p = bytes.extend(type_bytes + data_bytes + id.size());
  if (type_bytes != 0) std::memcpy(p, type.data(), type_bytes);
  if (data_bytes != 0) std::memcpy(p + type_bytes, data.data(), data_bytes);
  if (!id.empty()) std::memcpy(p + type_bytes + data_bytes, id.data(), id.size());
}

void Staged::add_text(int kind, void *userdata, std::string_view text) {
  ssekit_item &it = add(items, kind, userdata, bytes.size());
  it.data_len = text.size();
  bytes.append(text.data(), text.size());
}

void Staged::add_value(int kind, void *userdata, int code, uint64_t value) {
  ssekit_item &it = add(items, kind, userdata, bytes.size());
  it.code = code;
  it.value = value;
}

void Staged::add_open(void *userdata, int status, const HeaderList &headers) {
  auto copy = std::make_unique<ResponseCopy>();
  copy->headers = headers;
  copy->view.status = status;
  copy->view.headers = &copy->headers;
  ssekit_item &it = add(items, SSEKIT_ITEM_OPEN, userdata, bytes.size());
  it.status = status;
  responses.push_back(std::move(copy));
  it.response = reinterpret_cast<const ssekit_response *>(static_cast<uintptr_t>(responses.size()));
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
  ssekit_item &it = add(items, SSEKIT_ITEM_ERROR, userdata, bytes.size());
  it.code = f.code;
  it.status = f.status;
  it.will_retry = f.will_retry;
  it.value = f.retry_ms;
  // The message doubles as the item's data, as it does in the callback.
  it.data_len = copy->message.size();
  bytes.append(copy->message.data(), copy->message.size());
  failures.push_back(std::move(copy));
  it.failure = reinterpret_cast<const ssekit_failure *>(static_cast<uintptr_t>(failures.size()));
}

void Staged::settle() {
  // Never a null base, even with no bytes: items promise valid pointers.
  const char *base = bytes.view().data();
  for (ssekit_item &it : items) {
    it.type = offset_of(it.type) == kMessageType ? kMessage.data() : base + offset_of(it.type);
    it.data = base + offset_of(it.data);
    it.id = base + offset_of(it.id);
    if (it.failure != nullptr)
      it.failure = to_c(&failures[reinterpret_cast<uintptr_t>(it.failure) - 1]->view);
    if (it.response != nullptr)
      it.response = to_c(&responses[reinterpret_cast<uintptr_t>(it.response) - 1]->view);
  }
}

Queue::Queue(size_t max_items, size_t max_bytes)
    : max_items_(max_items != 0 ? max_items : kDefaultItems),
      generation_(Loop::fork_generation_now()),
      max_bytes_(max_bytes != 0 ? max_bytes : kDefaultBytes),
      stage_items_(std::clamp<size_t>(max_items_ / 4, 1, 4096)),
      stage_bytes_(std::clamp<size_t>(max_bytes_ / 4, 1, 256 * 1024)) {
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

bool Queue::inherited() const { return generation_ != Loop::fork_generation_now(); }

int Queue::fd() {
  if (inherited()) return -1;
  std::lock_guard<std::mutex> lock(mu_);
  if (!fd_used_) {
    fd_used_ = true;
    if (!pending_.empty()) signal_locked();
  }
  return read_fd_;
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
  const size_t items = staged.items.size();
  const size_t bytes = staged.bytes.size();
  bool full = false;
  bool waiting = false;
  // The next read is likely as large as this one: it goes into a recycled
  // buffer if there is one, fetched in the same lock.
  Staged next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const bool was_empty = pending_.empty();
    waiting = waiters_ != 0;
    pending_.push_back(std::move(staged));
    pending_items_ += items;
    pending_bytes_ += bytes;
    full = pending_items_ > max_items_ || pending_bytes_ > max_bytes_;
    if (full) paused_.push_back(stream);
    if (was_empty) {
      if (fd_used_) signal_locked();
      // Under the lock, so that once set_ready returned the old callback is
      // never called again; it only signals, as the header requires.
      if (ready_cb_ != nullptr) ready_cb_(ready_userdata_);
    }
    if (!spare_.empty()) {
      next = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  // Only a consumer that sleeps needs waking: one busy with its last batch
  // finds this push when it takes again, without a system call.
  if (waiting) cv_.notify_all();
  staged = std::move(next);
  staged.items.reserve(items);
  staged.bytes.reserve(bytes);
  return full;
}

std::unique_ptr<Batch> Queue::take(int64_t timeout_ms) {
  // Inherited through fork(): its items and its descriptor are the
  // parent's, and taking them would steal the parent's wake-up.
  if (inherited()) return nullptr;
  auto batch = std::make_unique<Batch>();
  std::vector<std::weak_ptr<Stream>> paused;
  size_t count = 0;
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto ready = [this] { return !pending_.empty(); };
    // Spinning before sleeping was measured and lost: on two cores the
    // spinning consumer takes the time the loop thread needs.
    if (!ready() && timeout_ms != 0) {
      ++waiters_;
      // A wait beyond the timers' range is a wait without end (and would
      // overflow the clock's nanoseconds).
      if (timeout_ms < 0 || static_cast<uint64_t>(timeout_ms) > kMaxDurationMs) {
        cv_.wait(lock, ready);
      } else {
        cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready);
      }
      --waiters_;
    }
    if (!ready()) return nullptr;
    batch->chunks.swap(pending_);
    count = pending_items_;
    pending_items_ = 0;
    pending_bytes_ = 0;
    if (fd_used_) clear_signal_locked();
    paused.swap(paused_);
  }
  // The queue is empty now: every stream it held back goes on.
  for (auto &w : paused) {
    if (auto s = w.lock()) s->resume_from_queue();
  }
  batch->owner = shared_from_this();
  batch->items.reserve(count);
  for (Staged &chunk : batch->chunks) {
    chunk.settle();
    for (const ssekit_item &it : chunk.items) batch->items.push_back(&it);
  }
  return batch;
}

void Queue::recycle(std::vector<Staged> &&chunks) {
  constexpr size_t kSpares = 8;
  std::lock_guard<std::mutex> lock(mu_);
  for (Staged &c : chunks) {
    if (spare_.size() >= kSpares) break;
    c.items.clear();
    c.bytes.clear();
    c.failures.clear();
    c.responses.clear();
    spare_.push_back(std::move(c));
  }
}

Batch::~Batch() {
  if (owner) owner->recycle(std::move(chunks));
}

}  // namespace ssekit
