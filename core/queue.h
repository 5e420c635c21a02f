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

// What a stream staged during one network read (or one state change),
// strings kept as offsets into bytes until the consumer takes them.
struct Staged {
  struct Rec {
    ssekit_item item{};
    size_t type_off = 0, data_off = 0, id_off = 0;
    int failure = -1, response = -1;
  };
  std::vector<Rec> recs;
  std::string bytes;
  std::vector<std::unique_ptr<FailureCopy>> failures;
  std::vector<std::unique_ptr<ResponseCopy>> responses;

  bool empty() const { return recs.empty(); }
  void clear();
  void add_event(void *userdata, std::string_view type, std::string_view data,
                 std::string_view id);
  void add_text(int kind, void *userdata, std::string_view text);
  void add_value(int kind, void *userdata, int code, uint64_t value);
  void add_open(void *userdata, int status, const HeaderList &headers);
  void add_failure(void *userdata, const FailureView &f);
  // Moves other's records behind this one's, shifting their offsets.
  void append(Staged &&other);
};

struct Batch {
  std::vector<ssekit_item> items;
  Staged storage;
};

class Queue {
 public:
  static constexpr size_t kDefaultItems = 4096;
  static constexpr size_t kDefaultBytes = 4 << 20;

  // Throws std::runtime_error if the descriptor cannot be made.
  Queue(size_t max_items, size_t max_bytes);
  ~Queue();
  Queue(const Queue &) = delete;
  Queue &operator=(const Queue &) = delete;

  int fd() const { return read_fd_; }
  void set_ready(void (*cb)(void *), void *userdata);

  // Loop threads. Appends what stream staged (clearing it) and returns
  // whether the queue is now over its bounds, in which case the stream
  // pauses and is resumed by the take that empties the queue.
  bool push(Staged &staged, const std::shared_ptr<Stream> &stream);

  // Any thread. Everything queued, or nullptr if nothing came within
  // timeout_ms (0: do not wait; negative: wait as long as it takes).
  std::unique_ptr<Batch> take(int64_t timeout_ms);

 private:
  void signal_locked();
  void clear_signal_locked();

  const size_t max_items_;
  const size_t max_bytes_;
  int read_fd_ = -1;
  int write_fd_ = -1;  // the same eventfd on Linux, a pipe elsewhere

  std::mutex mu_;
  std::condition_variable cv_;
  Staged pending_;                                // guarded by mu_
  std::vector<std::weak_ptr<Stream>> paused_;     // guarded by mu_
  void (*ready_cb_)(void *) = nullptr;            // guarded by mu_
  void *ready_userdata_ = nullptr;                // guarded by mu_
};

}  // namespace ssekit

#endif  // SSEKIT_CORE_QUEUE_H
