#include "workloads.h"

#include <algorithm>
#include <stdexcept>

namespace ssekit_bench {
namespace {

constexpr std::uint64_t kLlmEvents = 2000000;
constexpr std::uint64_t kBigJsonEvents = 2000;
constexpr std::size_t kBigJsonSize = 65536;
constexpr std::uint64_t kCrlfEvents = 500000;
constexpr std::uint64_t kKeepAliveEvery = 50;

void append_uint(std::string& out, std::uint64_t value) {
  out += std::to_string(value);
}

void finish(Workload& w) {
  w.newlines = static_cast<std::uint64_t>(
      std::count(w.bytes.begin(), w.bytes.end(), '\n'));
}

// A chat-completion token stream as LLM APIs send it: tiny JSON events, one
// token each, with an occasional id.
Workload make_llm_tokens() {
  Workload w;
  w.name = "w1";
  w.description = "LLM tokens";
  w.bytes.reserve(kLlmEvents * 80);
  SplitMix64 rng(0x5EE5EE5EULL);
  static constexpr char kPrefix[] =
      R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":")";
  static constexpr char kSuffix[] = R"("}}]})";
  const std::size_t fixed = sizeof kPrefix - 1 + sizeof kSuffix - 1;
  for (std::uint64_t n = 1; n <= kLlmEvents; ++n) {
    if (n % 10 == 0) {
      w.bytes += "id: ";
      append_uint(w.bytes, n);
      w.bytes += '\n';
      w.last_id = std::to_string(n);
    }
    std::uint64_t r = rng.next();
    const std::size_t letters = 1 + (r & 7);
    r >>= 3;
    w.bytes += "data: ";
    w.bytes += kPrefix;
    for (std::size_t i = 0; i < letters; ++i) {
      w.bytes += static_cast<char>('a' + (r % 26));
      r /= 26;
    }
    w.bytes += kSuffix;
    w.bytes += "\n\n";
    w.data_bytes += fixed + letters;
  }
  w.events = kLlmEvents;
  finish(w);
  return w;
}

constexpr const char* kWords[] = {
    "alpha",   "bracket", "cobalt",  "delta",    "ember",  "falcon",
    "granite", "harbor",  "indigo",  "juniper",  "kernel", "lantern",
    "meadow",  "nebula",  "orchid",  "pioneer",  "quartz", "ridge",
    "summit",  "timber",  "umber",   "velvet",   "willow", "xenon",
    "yonder",  "zephyr",  "compact", "wireless", "deluxe", "organic"};
constexpr const char* kRegions[] = {"eu-west", "eu-central", "us-east",
                                    "us-west", "ap-south", "sa-east"};
constexpr const char* kTags[] = {"new",      "sale",    "popular",
                                 "limited",  "eco",     "bundle",
                                 "clearance", "premium", "imported"};

template <std::size_t N>
const char* pick(SplitMix64& rng, const char* const (&list)[N]) {
  return list[rng.below(static_cast<std::uint32_t>(N))];
}

void append_item(std::string& out, SplitMix64& rng) {
  out += R"({"sku":"SKU-)";
  append_uint(out, 10000000 + rng.below(90000000));
  out += R"(","name":")";
  const std::uint32_t words = 2 + rng.below(3);
  for (std::uint32_t i = 0; i < words; ++i) {
    if (i != 0) out += ' ';
    out += pick(rng, kWords);
  }
  out += R"(","price":)";
  append_uint(out, 1 + rng.below(999));
  out += '.';
  const std::uint32_t cents = rng.below(100);
  out += static_cast<char>('0' + cents / 10);
  out += static_cast<char>('0' + cents % 10);
  out += R"(,"quantity":)";
  append_uint(out, rng.below(500));
  out += R"(,"in_stock":)";
  out += rng.below(4) != 0 ? "true" : "false";
  out += R"(,"tags":[)";
  const std::uint32_t tags = rng.below(4);
  for (std::uint32_t i = 0; i < tags; ++i) {
    if (i != 0) out += ',';
    out += '"';
    out += pick(rng, kTags);
    out += '"';
  }
  out += R"(],"warehouse":{"id":"wh-)";
  append_uint(out, rng.below(40));
  out += R"(","region":")";
  out += pick(rng, kRegions);
  out += R"("}})";
}

// One JSON object of exactly kBigJsonSize bytes on a single line.
std::string big_json(std::uint64_t sequence, SplitMix64& rng) {
  std::string json;
  json.reserve(kBigJsonSize);
  json += R"({"type":"inventory.update","sequence":)";
  append_uint(json, sequence);
  json += R"(,"timestamp":"2024-05-01T12:)";
  const std::uint64_t seconds = sequence % 3600;
  json += static_cast<char>('0' + seconds / 600);
  json += static_cast<char>('0' + seconds / 60 % 10);
  json += ':';
  json += static_cast<char>('0' + seconds % 60 / 10);
  json += static_cast<char>('0' + seconds % 10);
  json += R"(Z","items":[)";
  static constexpr char kTail[] = R"(],"note":")";
  static constexpr char kEnd[] = R"("})";
  const std::size_t closing = sizeof kTail - 1 + sizeof kEnd - 1;
  std::string item;
  bool first = true;
  for (;;) {
    item.clear();
    append_item(item, rng);
    if (json.size() + item.size() + 1 + closing > kBigJsonSize) break;
    if (!first) json += ',';
    json += item;
    first = false;
  }
  json += kTail;
  // Pad with readable text so the object is exactly kBigJsonSize bytes.
  while (json.size() + sizeof kEnd - 1 < kBigJsonSize) {
    const char* word = pick(rng, kWords);
    const std::size_t room = kBigJsonSize - (sizeof kEnd - 1) - json.size();
    std::string piece = std::string(word) + ' ';
    json.append(piece, 0, std::min(room, piece.size()));
  }
  json += kEnd;
  if (json.size() != kBigJsonSize) {
    throw std::logic_error("big_json: wrong size");
  }
  return json;
}

// Large documents pushed as single-line JSON events.
Workload make_big_json() {
  Workload w;
  w.name = "w2";
  w.description = "big JSON";
  w.bytes.reserve(kBigJsonEvents * (kBigJsonSize + 40));
  SplitMix64 rng(0xB16B00B5ULL);
  for (std::uint64_t n = 1; n <= kBigJsonEvents; ++n) {
    w.bytes += "event: update\nid: ";
    append_uint(w.bytes, n);
    w.bytes += "\ndata: ";
    w.bytes += big_json(n, rng);
    w.bytes += "\n\n";
    w.data_bytes += kBigJsonSize;
  }
  w.events = kBigJsonEvents;
  w.last_id = std::to_string(kBigJsonEvents);
  finish(w);
  return w;
}

// Multi-line events with CRLF line endings, a retry field and keep-alive
// comments, as proxies and Windows servers produce.
Workload make_multi_line_crlf() {
  Workload w;
  w.name = "w3";
  w.description = "multi-line CRLF";
  w.bytes.reserve(kCrlfEvents * 90);
  w.bytes += "retry: 3000\r\n";
  w.retries = 1;
  for (std::uint64_t n = 1; n <= kCrlfEvents; ++n) {
    const std::string number = std::to_string(n);
    for (int line = 1; line <= 3; ++line) {
      w.bytes += "data: line ";
      w.bytes += static_cast<char>('0' + line);
      w.bytes += " of event ";
      w.bytes += number;
      w.bytes += "\r\n";
    }
    w.bytes += "\r\n";
    // Three "line k of event N" joined by two "\n".
    w.data_bytes += 3 * (16 + number.size()) + 2;
    if (n % kKeepAliveEvery == 0 && n != kCrlfEvents) {
      w.bytes += ": keep-alive\r\n";
      ++w.comments;
    }
  }
  w.events = kCrlfEvents;
  finish(w);
  return w;
}

}  // namespace

Workload make_workload(WorkloadId id) {
  switch (id) {
    case WorkloadId::kLlmTokens:
      return make_llm_tokens();
    case WorkloadId::kBigJson:
      return make_big_json();
    case WorkloadId::kMultiLineCrlf:
      return make_multi_line_crlf();
  }
  throw std::invalid_argument("make_workload: unknown workload");
}

}  // namespace ssekit_bench
