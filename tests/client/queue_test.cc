// Queue mode: streams deliver copies to a bounded queue that a consumer on
// another thread drains in batches.

#include <poll.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "client_test.h"

namespace ssekit_test {
namespace {

struct QueueDeleter {
  void operator()(ssekit_queue* q) const { ssekit_queue_free(q); }
};
using QueuePtr = std::unique_ptr<ssekit_queue, QueueDeleter>;

struct BatchDeleter {
  void operator()(ssekit_batch* b) const { ssekit_batch_free(b); }
};
using BatchPtr = std::unique_ptr<ssekit_batch, BatchDeleter>;

// An item copied out of its batch.
struct Item {
  int kind = -1;
  void* userdata = nullptr;
  std::string type, data, id;
  int code = 0, status = 0, will_retry = 0;
  std::uint64_t value = 0;
  std::string body;  // ERROR: the failure's body
  std::string header;  // OPEN: Content-Type; ERROR: X-Request-Id
};

Item Copy(const ssekit_item* it) {
  Item i;
  i.kind = it->kind;
  i.userdata = it->userdata;
  i.type.assign(it->type, it->type_len);
  i.data.assign(it->data, it->data_len);
  i.id.assign(it->id, it->id_len);
  i.code = it->code;
  i.status = it->status;
  i.will_retry = it->will_retry;
  i.value = it->value;
  if (it->kind == SSEKIT_ITEM_OPEN) {
    const char* ct = ssekit_response_header(it->response, "content-type");
    if (ct != nullptr) i.header = ct;
  }
  if (it->kind == SSEKIT_ITEM_ERROR) {
    std::size_t len = 0;
    const char* b = ssekit_failure_body(it->failure, &len);
    i.body.assign(b, len);
    const char* rid = ssekit_failure_header(it->failure, "x-request-id");
    if (rid != nullptr) i.header = rid;
  }
  return i;
}

// Takes batches until `closed` CLOSED items arrived (or the timeout).
std::vector<Item> Drain(ssekit_queue* q, int closed = 1,
                        milliseconds timeout = milliseconds(10000),
                        std::vector<std::size_t>* batch_sizes = nullptr) {
  std::vector<Item> out;
  int seen = 0;
  const auto deadline = Clock::now() + timeout;
  while (seen < closed && Clock::now() < deadline) {
    ssekit_batch* raw = nullptr;
    EXPECT_EQ(ssekit_queue_take(q, 100, &raw), SSEKIT_OK);
    BatchPtr b(raw);
    if (!b) continue;
    const std::size_t n = ssekit_batch_count(b.get());
    EXPECT_GT(n, 0u);
    if (batch_sizes != nullptr) batch_sizes->push_back(n);
    for (std::size_t i = 0; i < n; ++i) {
      out.push_back(Copy(ssekit_batch_item(b.get(), i)));
      if (out.back().kind == SSEKIT_ITEM_CLOSED) ++seen;
    }
    EXPECT_EQ(ssekit_batch_item(b.get(), n), nullptr);
  }
  EXPECT_EQ(seen, closed) << "CLOSED items";
  return out;
}

std::vector<int> Kinds(const std::vector<Item>& items) {
  std::vector<int> k;
  for (const auto& i : items) k.push_back(i.kind);
  return k;
}

class QueueTest : public ClientTest {
 protected:
  StreamPtr QueuedStream(const std::string& path, ssekit_queue* q, void* userdata = nullptr) {
    StreamPtr s = NewBareStream(Url(path));
    EXPECT_EQ(ssekit_stream_set_queue(s.get(), q), SSEKIT_OK);
    EXPECT_EQ(ssekit_stream_set_userdata(s.get(), userdata), SSEKIT_OK);
    return s;
  }
};

TEST_F(QueueTest, AStreamsLifeArrivesInOrder) {
  QueuePtr q(ssekit_queue_new(0, 0));
  ASSERT_TRUE(q);
  int tag = 0;
  StreamPtr s = QueuedStream("/events?count=3&retry=500&comment_every=1", q.get(), &tag);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  auto items = Drain(q.get());
  EXPECT_EQ(Kinds(items),
            (std::vector<int>{SSEKIT_ITEM_STATE, SSEKIT_ITEM_STATE, SSEKIT_ITEM_OPEN,
                              SSEKIT_ITEM_RETRY, SSEKIT_ITEM_EVENT, SSEKIT_ITEM_COMMENT,
                              SSEKIT_ITEM_EVENT, SSEKIT_ITEM_COMMENT, SSEKIT_ITEM_EVENT,
                              SSEKIT_ITEM_COMMENT, SSEKIT_ITEM_STATE, SSEKIT_ITEM_CLOSED}));
  ASSERT_EQ(items.size(), 12u);
  for (const auto& i : items) EXPECT_EQ(i.userdata, &tag);
  EXPECT_EQ(items[0].value, static_cast<std::uint64_t>(SSEKIT_STATE_CONNECTING));
  // As the callbacks run: the state changes, then the open.
  EXPECT_EQ(items[1].value, static_cast<std::uint64_t>(SSEKIT_STATE_OPEN));
  EXPECT_EQ(items[2].status, 200);
  EXPECT_EQ(items[2].header, "text/event-stream");
  EXPECT_EQ(items[3].value, 500u);
  EXPECT_EQ(items[4].type, "message");
  EXPECT_EQ(items[4].data, "event 1");
  EXPECT_EQ(items[4].id, "1");
  EXPECT_EQ(items[5].data, "keep-alive");
  EXPECT_EQ(items[8].id, "3");
  EXPECT_EQ(items[10].value, static_cast<std::uint64_t>(SSEKIT_STATE_CLOSED));
  EXPECT_EQ(items[11].code, SSEKIT_OK);
}

TEST_F(QueueTest, StreamsSharingAQueueKeepTheirOwnOrder) {
  QueuePtr q(ssekit_queue_new(0, 0));
  int tags[3] = {0, 1, 2};
  std::vector<StreamPtr> streams;
  for (int& t : tags) {
    streams.push_back(QueuedStream("/events?count=50&interval_ms=1", q.get(), &t));
    ASSERT_EQ(ssekit_stream_set_on_end(streams.back().get(), SSEKIT_END_FINISH), SSEKIT_OK);
    ASSERT_EQ(ssekit_stream_start(streams.back().get()), SSEKIT_OK);
  }
  auto items = Drain(q.get(), 3);
  std::map<void*, std::vector<std::string>> ids;
  std::map<void*, int> last_kind;
  for (const auto& i : items) {
    if (i.kind == SSEKIT_ITEM_EVENT) ids[i.userdata].push_back(i.id);
    last_kind[i.userdata] = i.kind;
  }
  ASSERT_EQ(ids.size(), 3u);
  for (auto& entry : ids) {
    ASSERT_EQ(entry.second.size(), 50u);
    for (int n = 0; n < 50; ++n) EXPECT_EQ(entry.second[n], std::to_string(n + 1));
    EXPECT_EQ(last_kind[entry.first], SSEKIT_ITEM_CLOSED);
  }
}

TEST_F(QueueTest, ASlowConsumerPausesTheStreamAndLosesNothing) {
  // 100 items at most, and a consumer that does not take for a while.
  QueuePtr q(ssekit_queue_new(100, 0));
  StreamPtr s = QueuedStream("/events?count=20000", q.get());
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  std::this_thread::sleep_for(milliseconds(500));
  std::vector<std::size_t> sizes;
  auto items = Drain(q.get(), 1, milliseconds(30000), &sizes);
  ASSERT_FALSE(sizes.empty());
  // The bound, plus what the stream stages (a quarter of it) and at most
  // one network read (64 KiB, under 3000 of these events) beyond it,
  // however long the consumer waited.
  for (std::size_t n : sizes) EXPECT_LE(n, 100u + 25u + 3000u);
  std::vector<std::string> ids;
  for (const auto& i : items) {
    if (i.kind == SSEKIT_ITEM_EVENT) ids.push_back(i.id);
  }
  ASSERT_EQ(ids.size(), 20000u);
  for (std::size_t n = 0; n < ids.size(); ++n) ASSERT_EQ(ids[n], std::to_string(n + 1));
  EXPECT_EQ(items.back().code, SSEKIT_OK);
}

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

std::atomic<int> ready_calls{0};
void CountReady(void*) { ready_calls.fetch_add(1); }

TEST_F(QueueTest, TheDescriptorIsReadableWhileTheQueueHoldsItems) {
  QueuePtr q(ssekit_queue_new(0, 0));
  const int fd = ssekit_queue_fd(q.get());
  ASSERT_GE(fd, 0);
  ready_calls = 0;
  ASSERT_EQ(ssekit_queue_on_ready(q.get(), &CountReady, nullptr), SSEKIT_OK);
  EXPECT_FALSE(Readable(fd));
  ssekit_batch* none = reinterpret_cast<ssekit_batch*>(1);
  EXPECT_EQ(ssekit_queue_take(q.get(), 0, &none), SSEKIT_OK);
  EXPECT_EQ(none, nullptr);

  StreamPtr s = QueuedStream("/events?count=1&end=hang", q.get());
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  ASSERT_TRUE(PollUntil([&] { return ready_calls.load() >= 1; }));
  // Wait for the event itself, the last item before the stream goes quiet.
  std::vector<Item> got;
  while (got.empty() || got.back().kind != SSEKIT_ITEM_EVENT) {
    ssekit_batch* raw = nullptr;
    ASSERT_EQ(ssekit_queue_take(q.get(), 5000, &raw), SSEKIT_OK);
    ASSERT_NE(raw, nullptr);
    BatchPtr b(raw);
    for (std::size_t i = 0; i < ssekit_batch_count(b.get()); ++i)
      got.push_back(Copy(ssekit_batch_item(b.get(), i)));
  }
  EXPECT_FALSE(Readable(fd));
  const int calls = ready_calls.load();
  EXPECT_GE(calls, 1);
  // Closing queues the last items: readable again, one more ready call.
  ASSERT_EQ(ssekit_stream_close(s.get()), SSEKIT_OK);
  EXPECT_TRUE(Readable(fd));
  EXPECT_EQ(ready_calls.load(), calls + 1);
  auto rest = Drain(q.get());
  EXPECT_EQ(rest.back().code, SSEKIT_E_CLOSED);
  EXPECT_FALSE(Readable(fd));
}

TEST_F(QueueTest, AnErrorItemCarriesTheFailure) {
  QueuePtr q(ssekit_queue_new(0, 0));
  StreamPtr s = QueuedStream("/status/403?body=denied&header=X-Request-Id:r-42", q.get());
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  auto items = Drain(q.get());
  std::vector<Item> errors;
  for (const auto& i : items) {
    if (i.kind == SSEKIT_ITEM_ERROR) errors.push_back(i);
  }
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, SSEKIT_E_HTTP_STATUS);
  EXPECT_EQ(errors[0].status, 403);
  EXPECT_EQ(errors[0].will_retry, 0);
  EXPECT_EQ(errors[0].body, "denied");
  EXPECT_EQ(errors[0].header, "r-42");
  EXPECT_EQ(errors[0].data, "HTTP status 403");
  EXPECT_EQ(items.back().kind, SSEKIT_ITEM_CLOSED);
  EXPECT_EQ(items.back().code, SSEKIT_E_HTTP_STATUS);
}

TEST_F(QueueTest, ABatchOutlivesItsQueueAndStream) {
  ssekit_queue* q = ssekit_queue_new(0, 0);
  StreamPtr s = QueuedStream("/events?count=2", q);
  ASSERT_EQ(ssekit_stream_set_on_end(s.get(), SSEKIT_END_FINISH), SSEKIT_OK);
  ASSERT_EQ(ssekit_stream_start(s.get()), SSEKIT_OK);
  ASSERT_TRUE(PollUntil([&] { return ssekit_stream_state(s.get()) == SSEKIT_STATE_CLOSED; }));
  ssekit_batch* raw = nullptr;
  ASSERT_EQ(ssekit_queue_take(q, 1000, &raw), SSEKIT_OK);
  ASSERT_NE(raw, nullptr);
  s.reset();
  ssekit_queue_free(q);
  BatchPtr b(raw);
  std::vector<std::string> datas;
  for (std::size_t i = 0; i < ssekit_batch_count(b.get()); ++i) {
    const ssekit_item* it = ssekit_batch_item(b.get(), i);
    if (it->kind == SSEKIT_ITEM_EVENT) datas.emplace_back(it->data, it->data_len);
  }
  EXPECT_EQ(datas, (std::vector<std::string>{"event 1", "event 2"}));
}

TEST_F(QueueTest, ReleaseFromAForeignThreadWhileEventsFlowAtFullSpeed) {
  QueuePtr q(ssekit_queue_new(0, 0));
  StreamPtr owned = QueuedStream("/w1?count=200000", q.get());
  ssekit_stream* s = owned.release();
  ASSERT_EQ(ssekit_stream_start(s), SSEKIT_OK);
  std::atomic<std::size_t> events{0};
  std::atomic<bool> closed{false};
  std::thread consumer([&] {
    const auto deadline = Clock::now() + milliseconds(20000);
    while (!closed.load() && Clock::now() < deadline) {
      ssekit_batch* raw = nullptr;
      if (ssekit_queue_take(q.get(), 100, &raw) != SSEKIT_OK || raw == nullptr) continue;
      BatchPtr b(raw);
      for (std::size_t i = 0; i < ssekit_batch_count(b.get()); ++i) {
        const ssekit_item* it = ssekit_batch_item(b.get(), i);
        if (it->kind == SSEKIT_ITEM_EVENT) events.fetch_add(1);
        if (it->kind == SSEKIT_ITEM_CLOSED) closed = true;
      }
    }
  });
  ASSERT_TRUE(PollUntil([&] { return events.load() > 1000; }, milliseconds(10000)));
  // As a garbage collector's finalizer would, from a thread of its own.
  std::thread finalizer([s] { ssekit_stream_release(s); });
  finalizer.join();
  consumer.join();
  EXPECT_TRUE(closed.load());
  EXPECT_LE(events.load(), 200000u);
}

TEST_F(QueueTest, NullArgumentsAreRefused) {
  ssekit_batch* b = nullptr;
  EXPECT_EQ(ssekit_queue_take(nullptr, 0, &b), SSEKIT_E_INVALID);
  QueuePtr q(ssekit_queue_new(0, 0));
  EXPECT_EQ(ssekit_queue_take(q.get(), 0, nullptr), SSEKIT_E_INVALID);
  EXPECT_EQ(ssekit_queue_fd(nullptr), -1);
  EXPECT_EQ(ssekit_queue_on_ready(nullptr, nullptr, nullptr), SSEKIT_E_INVALID);
  EXPECT_EQ(ssekit_batch_count(nullptr), 0u);
  EXPECT_EQ(ssekit_batch_item(nullptr, 0), nullptr);
  ssekit_batch_free(nullptr);
  ssekit_queue_free(nullptr);
}

}  // namespace
}  // namespace ssekit_test
