// Turns one batch taken from the queue into what the JavaScript handler
// reads at once: an Int32Array of fixed-size records, a few JS strings
// holding every string of the batch (records give UTF-16 offsets), and an
// array of the rare extras (response headers, failure details). One call
// into JavaScript per batch, however many events it holds. JS thread only.
#include <algorithm>
#include <climits>
#include <cstring>

#include "addon.h"

namespace ssekit_node {

namespace {

inline uint64_t Load8(const char *p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// UTF-16 code units of valid UTF-8 (the queue's strings always are): one
// per sequence, two for a four-byte one. ASCII, the common case, is
// checked eight bytes at a time; ascii is cleared otherwise.
inline size_t Utf16Length(const char *p, size_t n, bool &ascii) {
  uint64_t high = 0;
  if (n >= 8) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) high |= Load8(p + i);
    high |= Load8(p + n - 8);  // the tail, overlapping what was read
  } else {
    for (size_t i = 0; i < n; ++i) high |= static_cast<unsigned char>(p[i]);
  }
  if ((high & 0x8080808080808080ull) == 0) return n;
  ascii = false;
  size_t units = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto b = static_cast<unsigned char>(p[i]);
    units += ((b & 0xC0) != 0x80) + (b >= 0xF0);
  }
  return units;
}

// s == [p, p + n), inlined for the short strings types and ids are.
inline bool Same(const std::string &s, const char *p, size_t n) {
  if (s.size() != n) return false;
  const char *q = s.data();
  if (n >= 8 && n <= 16) return Load8(q) == Load8(p) && Load8(q + n - 8) == Load8(p + n - 8);
  if (n < 8) {
    for (size_t i = 0; i < n; ++i) {
      if (q[i] != p[i]) return false;
    }
    return true;
  }
  return std::memcmp(q, p, n) == 0;
}

// The batch's strings, as a few JS strings of at most kChunk bytes each: a
// string that large is allocated in V8's young generation, where a bigger
// one would get pages of its own (mapped, faulted in and unmapped again for
// every batch). An item's strings all go to one chunk; a record whose
// strings start a new chunk has kNextChunk set in its kind.
constexpr size_t kChunk = 96 * 1024;
constexpr int32_t kNextChunk = 16;

struct TextBuilder {
  Napi::Env env;
  std::string &buf;
  Napi::Array chunks;
  uint32_t count = 0;
  size_t units = 0;
  bool ascii = true;

  void Flush() {
    napi_value s = nullptr;
    // Latin-1 skips UTF-8 decoding when the chunk is ASCII, as most are.
    const napi_status st = ascii ? napi_create_string_latin1(env, buf.data(), buf.size(), &s)
                                 : napi_create_string_utf8(env, buf.data(), buf.size(), &s);
    // Over V8's longest string (options cap the limits below it) or out of
    // memory: never an uninitialized value.
    if (st != napi_ok || s == nullptr) throw Napi::Error::New(env, "ssekit: a batch too large for a string");
    chunks.Set(count++, Napi::Value(env, s));
    buf.clear();
    units = 0;
    ascii = true;
  }

  // Starts a new chunk if `bytes` more would overflow this one; returns
  // the flag the item's record carries.
  int32_t Reserve(size_t bytes) {
    if (buf.empty() || buf.size() + bytes <= kChunk) return 0;
    Flush();
    return kNextChunk;
  }

  // Appends s; stores its [start, end) in UTF-16 units of its chunk.
  void Add(const char *p, size_t n, int32_t *start, int32_t *end) {
    *start = static_cast<int32_t>(units);
    buf.append(p, n);
    units += Utf16Length(p, n, ascii);
    *end = static_cast<int32_t>(units);
  }
};

int32_t Clamp(uint64_t v) { return static_cast<int32_t>(std::min<uint64_t>(v, INT32_MAX)); }

template <typename Count, typename At>
Napi::Array Headers(Napi::Env env, Count count, At at) {
  const size_t n = count();
  Napi::Array out = Napi::Array::New(env, n * 2);
  for (size_t i = 0; i < n; ++i) {
    const char *name = "";
    const char *value = "";
    if (at(i, &name, &value) != SSEKIT_OK) continue;
    out.Set(static_cast<uint32_t>(2 * i), Napi::String::New(env, name));
    out.Set(static_cast<uint32_t>(2 * i + 1), Napi::String::New(env, value));
  }
  return out;
}

void EnsureRecords(Napi::Env env, EnvState *state, size_t items) {
  if (items <= state->records_cap && !state->records.IsEmpty()) return;
  size_t cap = std::max<size_t>(items, 1024);
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, cap * kRecord * sizeof(int32_t));
  Napi::Int32Array arr = Napi::Int32Array::New(env, cap * kRecord, ab, 0);
  state->records = Napi::Persistent(arr);
  state->records_data = static_cast<int32_t *>(ab.Data());
  state->records_cap = cap;
}

}  // namespace

namespace {
void Deliver(Napi::Env env, EnvState *state, ssekit_batch *batch, size_t n);
}  // namespace

void DrainQueue(Napi::Env env, EnvState *state) {
  ssekit_batch *batch = nullptr;
  if (state->queue == nullptr || ssekit_queue_take(state->queue, 0, &batch) != SSEKIT_OK ||
      batch == nullptr) {
    return;
  }
  // Streams whose last item is in this batch are finished with whatever
  // happens below: JavaScript may be unable to run (a worker being
  // terminated), and a conversion that throws must not keep them open.
  const size_t n = ssekit_batch_count(batch);
  std::vector<StreamCtx *> closed;
  for (size_t i = 0; i < n; ++i) {
    const ssekit_item *item = ssekit_batch_item(batch, i);
    if (item->kind == SSEKIT_ITEM_CLOSED) closed.push_back(static_cast<StreamCtx *>(item->userdata));
  }
  // They leave the registry before JavaScript runs (it may shut the
  // environment down, a worker's process.exit()).
  for (StreamCtx *ctx : closed) state->streams.erase(ctx->id);
  try {
    Deliver(env, state, batch, n);
  } catch (...) {
    // The items are lost with the environment that cannot take them (the
    // batch was freed on the way out).
    try {
      if (env.IsExceptionPending()) env.GetAndClearPendingException();
    } catch (...) {
    }
  }
  for (StreamCtx *ctx : closed) {
    if (!ctx->released) ssekit_stream_release(ctx->handle);
    delete ctx;
    try {
      StreamClosed(state);
    } catch (...) {
    }
  }
}

namespace {

// Converts the batch into records, strings and extras, frees it, and hands
// them to JavaScript in one call.
void Deliver(Napi::Env env, EnvState *state, ssekit_batch *batch, size_t n) {
  struct Owned {
    ssekit_batch *b;
    ~Owned() { ssekit_batch_free(b); }
  } owned{batch};
  Napi::HandleScope scope(env);
  EnsureRecords(env, state, n);
  int32_t *rec = state->records_data;
  state->text.clear();
  TextBuilder text{env, state->text, Napi::Array::New(env)};
  Napi::Array extras;
  uint32_t extra_count = 0;
  for (size_t i = 0; i < n; ++i, rec += kRecord) {
    const ssekit_item *item = ssekit_batch_item(batch, i);
    auto *ctx = static_cast<StreamCtx *>(item->userdata);
    // Each kind sets the fields it uses; JavaScript reads no others.
    rec[0] = item->kind;
    rec[1] = static_cast<int32_t>(ctx->id);
    switch (item->kind) {
      case SSEKIT_ITEM_EVENT: {
        rec[0] |= text.Reserve(item->data_len + item->type_len + item->id_len);
        text.Add(item->data, item->data_len, &rec[2], &rec[3]);
        // Type and id repeat from event to event: sent only when changed.
        if (Same(ctx->last_type, item->type, item->type_len)) {
          rec[4] = -1;
        } else {
          ctx->last_type.assign(item->type, item->type_len);
          text.Add(item->type, item->type_len, &rec[4], &rec[5]);
        }
        if (Same(ctx->last_id, item->id, item->id_len)) {
          rec[6] = -1;
        } else {
          ctx->last_id.assign(item->id, item->id_len);
          text.Add(item->id, item->id_len, &rec[6], &rec[7]);
        }
        break;
      }
      case SSEKIT_ITEM_COMMENT:
        rec[0] |= text.Reserve(item->data_len);
        text.Add(item->data, item->data_len, &rec[2], &rec[3]);
        break;
      case SSEKIT_ITEM_RETRY:
        rec[2] = Clamp(item->value);
        break;
      case SSEKIT_ITEM_STATE:
        rec[2] = static_cast<int32_t>(item->value);
        break;
      case SSEKIT_ITEM_OPEN: {
        if (extras.IsEmpty()) extras = Napi::Array::New(env);
        const ssekit_response *r = item->response;
        rec[2] = item->status;
        rec[7] = static_cast<int32_t>(extra_count);
        extras.Set(extra_count++,
                   Headers(
                       env, [r] { return ssekit_response_header_count(r); },
                       [r](size_t k, const char **a, const char **b) {
                         return ssekit_response_header_at(r, k, a, b);
                       }));
        break;
      }
      case SSEKIT_ITEM_ERROR: {
        if (extras.IsEmpty()) extras = Napi::Array::New(env);
        const ssekit_failure *f = item->failure;
        rec[2] = item->code;
        rec[3] = item->status;
        rec[4] = item->will_retry;
        rec[5] = Clamp(item->value);
        rec[7] = static_cast<int32_t>(extra_count);
        Napi::Array detail = Napi::Array::New(env, 3);
        detail.Set(0u, Napi::String::New(env, item->data, item->data_len));
        if (f != nullptr) {
          detail.Set(1u, Headers(
                             env, [f] { return ssekit_failure_header_count(f); },
                             [f](size_t k, const char **a, const char **b) {
                               return ssekit_failure_header_at(f, k, a, b);
                             }));
          size_t body_len = 0;
          const char *body = ssekit_failure_body(f, &body_len);
          detail.Set(2u, Napi::Buffer<char>::Copy(env, body, body_len));
        }
        extras.Set(extra_count++, detail);
        break;
      }
      case SSEKIT_ITEM_CLOSED:
        rec[2] = item->code;
        break;
      default:
        break;
    }
  }

  text.Flush();
  ssekit_batch_free(owned.b);
  owned.b = nullptr;

  // The raw call: while a worker is being terminated the call fails, and
  // node-addon-api would turn that into a fatal error. A JavaScript
  // exception stays pending and is reported as an uncaught one.
  napi_value args[4] = {Napi::Number::New(env, static_cast<double>(n)), state->records.Value(),
                        text.chunks, extras.IsEmpty() ? env.Undefined() : Napi::Value(extras)};
  napi_value result;
  napi_call_function(env, env.Undefined(), state->handler.Value(), 4, args, &result);
}

}  // namespace

}  // namespace ssekit_node
