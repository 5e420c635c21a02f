// The delivery queue: streams on loop threads append copies of what
// happens, a consumer on any thread takes everything queued in one call.
// For bindings, whose consumers (Python, JavaScript) must not run on the
// loop thread: one lock per network read on the producer side, one per
// batch on the consumer side, and a file descriptor that is readable while
// the queue is not empty.
#ifndef SSEKIT_CORE_QUEUE_H
#define SSEKIT_CORE_QUEUE_H

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "buffer.h"
#include "views.h"
#include "options.h"
#include "ssekit.h"

namespace ssekit {

class Stream;

// A failure as the consumer keeps it, with the C view pointing into it.
struct FailureCopy {
  FailureView view{};
  std::string message;
  HeaderList headers;
  std::string body;
};

struct ResponseCopy {
  ResponseView view{};
  HeaderList headers;
};

// What a stream staged during one network read (or one state change).
// Until the consumer takes it, an item's string pointers hold offsets into
// bytes and its failure and response pointers hold indexes + 1: the
// buffers may still move.
struct Staged {
  std::vector<ssekit_item> items;
  detail::Buffer bytes;
  std::vector<std::unique_ptr<FailureCopy>> failures;
  std::vector<std::unique_ptr<ResponseCopy>> responses;

  bool empty() const { return items.empty(); }
  void add_event(void *userdata, std::string_view type, std::string_view data,
                 std::string_view id);
  void add_text(int kind, void *userdata, std::string_view text);
  void add_value(int kind, void *userdata, int code, uint64_t value);
  void add_open(void *userdata, int status, const HeaderList &headers);
  void add_failure(void *userdata, const FailureView &f);
  // Turns the offsets into pointers, once the buffers stay where they are.
  void settle();
};

class Queue;

// What one take returned. Freeing it hands its buffers back to the queue,
// so a stream at full speed refills memory that is already mapped instead
// of faulting in fresh pages for every read.
struct Batch {
  std::vector<Staged> chunks;
  std::vector<const ssekit_item *> items;
  std::shared_ptr<Queue> owner;
  ~Batch();
};

class Queue : public std::enable_shared_from_this<Queue> {
 public:
  static constexpr size_t kDefaultItems = 4096;
  static constexpr size_t kDefaultBytes = 4 << 20;

  // Throws std::runtime_error if the descriptor cannot be made.
  Queue(size_t max_items, size_t max_bytes);
  ~Queue();
  Queue(const Queue &) = delete;
  Queue &operator=(const Queue &) = delete;

  // -1 in a child after fork(): the descriptor is the parent's. The
  // descriptor is kept in step with the queue from the first call on:
  // consumers that only take with a timeout never pay its system calls.
  int fd();
  // How much a stream stages before it pushes without waiting for the
  // loop to idle: a quarter of the bounds, at most 4096 items or 256 KiB,
  // so that a full queue grows by little more than a quarter of them.
  size_t stage_items() const { return stage_items_; }
  size_t stage_bytes() const { return stage_bytes_; }
  void set_ready(void (*cb)(void *), void *userdata);

  // Loop threads. Appends what stream staged (leaving it empty, with room
  // for as much again) and returns whether the queue is now over its
  // bounds, in which case the stream pauses and is resumed by the take that
  // empties the queue.
  bool push(Staged &staged, const std::shared_ptr<Stream> &stream);

  // Any thread. Everything queued, or nullptr if nothing came within
  // timeout_ms (0: do not wait; negative: wait as long as it takes).
  std::unique_ptr<Batch> take(int64_t timeout_ms);
  // A freed batch's buffers, kept (a few) for the next pushes.
  void recycle(std::vector<Staged> &&chunks);

 private:
  void signal_locked();
  void clear_signal_locked();

  bool inherited() const;

  const size_t max_items_;
  uint64_t generation_;
  const size_t max_bytes_;
  const size_t stage_items_;
  const size_t stage_bytes_;
  int read_fd_ = -1;
  int write_fd_ = -1;  // the same eventfd on Linux, a pipe elsewhere

  std::mutex mu_;
  std::condition_variable cv_;
  // One chunk per push, moved in whole: a push never copies what is queued.
  std::vector<Staged> pending_;                   // guarded by mu_
  size_t pending_items_ = 0;                      // guarded by mu_
  size_t pending_bytes_ = 0;                      // guarded by mu_
  size_t waiters_ = 0;                            // guarded by mu_
  std::vector<std::weak_ptr<Stream>> paused_;     // guarded by mu_
  std::vector<Staged> spare_;                     // guarded by mu_
  bool fd_used_ = false;                          // guarded by mu_
  void (*ready_cb_)(void *) = nullptr;            // guarded by mu_
  void *ready_userdata_ = nullptr;                // guarded by mu_
};

}  // namespace ssekit

#endif  // SSEKIT_CORE_QUEUE_H
