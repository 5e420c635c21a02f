// Differential fuzzing of the stream parser through the C API.
//
// Input: 4 bytes of recipe (a seed for chunk splits and limits), then the
// stream. Each input is parsed
//   - by a reference model of the WHATWG algorithm written here,
//   - whole and split into chunks with the default limits,
//   - whole and split (differently) with small limits and a callback that
//     may ask the parser to stop,
// and every pair that must agree is compared callback by callback. Any
// disagreement, invalid UTF-8 handed to a callback, or oversized event data
// traps.
#include <ssekit.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_common.h"

namespace {

using ssekit_fuzz::Entry;
using ssekit_fuzz::Fail;
using ssekit_fuzz::Harness;
using ssekit_fuzz::Limits;
using ssekit_fuzz::Outcome;

constexpr size_t kRecipeBytes = 4;
// Far below the default limits, so a default-limit parse must never fail.
constexpr size_t kMaxStream = 1 << 20;

// The reference parse, plus what the limit checks need to know about it.
struct Reference {
  std::vector<Entry> log;
  // For each event, the stream offset just past the line ending that
  // dispatched it: by then the parser must have delivered it.
  std::vector<size_t> event_due;
  std::string last_id;
  // A retry value above UINT64_MAX: the spec only says to guard overflow, so
  // whether it is ignored or clamped is left open and retries are not
  // compared.
  bool retry_overflow = false;
  // The longest line, counted in the fewest bytes any reading of "line
  // length" allows (raw bytes, without BOM) and in the most (decoded bytes,
  // or raw bytes with the BOM).
  size_t longest_line_min = 0;
  size_t longest_line_max = 0;
  // The most data an event held, dispatched or not, as it would be
  // dispatched.
  size_t largest_data = 0;
};

class ReferenceParser {
 public:
  Reference Parse(const uint8_t* p, size_t n) {
    size_t pos = 0;
    const bool bom = n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF;
    if (bom) pos = 3;
    size_t start = pos;
    for (size_t i = pos; i < n; ++i) {
      if (p[i] != '\r' && p[i] != '\n') continue;
      const std::string line = ssekit_fuzz::DecodeUtf8(p + start, i - start);
      // A data line is event data: max_event bounds it, not max_line.
      if (!IsDataLine(line)) Measure(p + start, i - start, bom && start == 3);
      Line(line, i + 1);
      if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') ++i;
      start = i + 1;
    }
    // An unterminated last line is never processed, but still counts
    // against the line limit while it is buffered.
    if (start < n) {
      const std::string line = ssekit_fuzz::DecodeUtf8(p + start, n - start);
      if (IsDataPrefix(line)) {
        // "da": it may yet become a data line, which max_line does not
        // bound, so the bytes fed do not show that it exceeds the limit.
      } else if (IsDataLine(line)) {
        // A data line that never ends still grows the event's data.
        const size_t colon = line.find(':');
        const std::string value =
            colon == std::string::npos ? "" : StripSpace(line.substr(colon + 1));
        ref_.largest_data = std::max(ref_.largest_data, data_.size() + value.size());
      } else {
        Measure(p + start, n - start, bom && start == 3);
      }
    }
    return std::move(ref_);
  }

 private:
  void Measure(const uint8_t* p, size_t n, bool after_bom) {
    const size_t decoded = ssekit_fuzz::DecodeUtf8(p, n).size();
    ref_.longest_line_min = std::max(ref_.longest_line_min, n);
    ref_.longest_line_max = std::max(
        ref_.longest_line_max, std::max(decoded, n + (after_bom ? 3 : 0)));
  }

  void Line(const std::string& line, size_t due) {
    if (line.empty()) {
      Dispatch(due);
      return;
    }
    if (line[0] == ':') {
      ref_.log.push_back(ssekit_fuzz::CommentEntry(StripSpace(line.substr(1))));
      return;
    }
    const size_t colon = line.find(':');
    const std::string name = line.substr(0, colon);
    const std::string value =
        colon == std::string::npos ? "" : StripSpace(line.substr(colon + 1));
    if (name == "event") {
      type_ = value;
    } else if (name == "data") {
      data_ += value;
      data_ += '\n';
      ref_.largest_data = std::max(ref_.largest_data, data_.size() - 1);
    } else if (name == "id") {
      if (value.find('\0') == std::string::npos) id_ = value;
    } else if (name == "retry") {
      Retry(value);
    }
  }

  void Retry(const std::string& value) {
    if (value.empty()) return;
    uint64_t ms = 0;
    bool overflow = false;
    for (char c : value) {
      if (c < '0' || c > '9') return;
      const auto digit = static_cast<uint64_t>(c - '0');
      if (ms > (UINT64_MAX - digit) / 10) overflow = true;
      ms = ms * 10 + digit;
    }
    if (overflow) {
      ref_.retry_overflow = true;
      return;
    }
    ref_.log.push_back(ssekit_fuzz::RetryEntry(ms));
  }

  void Dispatch(size_t due) {
    ref_.last_id = id_;
    if (data_.empty()) {
      type_.clear();
      return;
    }
    data_.pop_back();
    ref_.log.push_back(ssekit_fuzz::EventEntry(
        type_.empty() ? "message" : type_, data_, ref_.last_id));
    ref_.event_due.push_back(due);
    data_.clear();
    type_.clear();
  }

  static bool IsDataLine(const std::string& line) {
    return line.compare(0, line.find(':'), "data") == 0;
  }

  // A line without its end that is a shorter start of the name "data".
  static bool IsDataPrefix(const std::string& line) {
    return line.size() < 4 && std::string("data").compare(0, line.size(), line) == 0;
  }

  static std::string StripSpace(std::string s) {
    if (!s.empty() && s[0] == ' ') s.erase(0, 1);
    return s;
  }

  Reference ref_;
  std::string type_;
  std::string data_;
  std::string id_;
};

std::vector<Entry> WithoutRetries(const std::vector<Entry>& log) {
  std::vector<Entry> out;
  for (const Entry& e : log) {
    if (e.kind != 'R') out.push_back(e);
  }
  return out;
}

void CheckAgainstReference(const Reference& ref, const Outcome& got) {
  if (got.feed_rc != SSEKIT_OK) {
    Fail("a small stream failed with the default limits:\n" +
         ssekit_fuzz::DescribeOutcome(got));
  }
  const std::vector<Entry> want =
      ref.retry_overflow ? WithoutRetries(ref.log) : ref.log;
  const std::vector<Entry> have =
      ref.retry_overflow ? WithoutRetries(got.log) : got.log;
  if (want != have || ref.last_id != got.last_id) {
    Fail("parser disagrees with the reference model (first different "
         "callback: #" +
         std::to_string(ssekit_fuzz::FirstDifference(want, have)) +
         ")\nreference: last id " + ssekit_fuzz::Escape(ref.last_id) + "\n" +
         ssekit_fuzz::DescribeLog(want) + "parser:\n" +
         ssekit_fuzz::DescribeOutcome(got));
  }
}

// The limited parse must behave like the unlimited one until it stops, and
// may only stop for a reason the stream actually gives.
void CheckLimited(const Limits& lim, const Outcome& limited,
                  const Outcome& full, const Reference& ref) {
  const std::string detail = "\nlimited (max_line " +
                             std::to_string(lim.max_line) + ", max_event " +
                             std::to_string(lim.max_event) + ", stop_after " +
                             std::to_string(lim.stop_after) + "):\n" +
                             ssekit_fuzz::DescribeOutcome(limited) +
                             "unlimited:\n" +
                             ssekit_fuzz::DescribeOutcome(full);
  if (limited.feed_rc == SSEKIT_OK) {
    if (limited.log != full.log || limited.last_id != full.last_id) {
      Fail("a parse that hit no limit differs from the unlimited one" +
           detail);
    }
    if (lim.max_line != 0 && ref.longest_line_min > lim.max_line) {
      Fail("a line of " + std::to_string(ref.longest_line_min) +
           " bytes passed max_line " + std::to_string(lim.max_line) + detail);
    }
    if (lim.stop_after != 0 && full.log.size() >= lim.stop_after) {
      Fail("the parser went on after a callback returned non-zero" + detail);
    }
    return;
  }
  const std::vector<Entry>& part = limited.log;
  if (part.size() > full.log.size() ||
      !std::equal(part.begin(), part.end(), full.log.begin())) {
    Fail("the callbacks before the limit are not a prefix of the unlimited "
         "ones" +
         detail);
  }
  switch (limited.feed_rc) {
    case SSEKIT_E_CALLBACK:
      if (part.size() != lim.stop_after) {
        Fail("SSEKIT_E_CALLBACK without a callback asking to stop" + detail);
      }
      break;
    case SSEKIT_E_LINE_TOO_LONG:
      if (ref.longest_line_max <= lim.max_line) {
        Fail("SSEKIT_E_LINE_TOO_LONG but no line is longer than " +
             std::to_string(lim.max_line) + " bytes (longest: " +
             std::to_string(ref.longest_line_max) + ")" + detail);
      }
      break;
    case SSEKIT_E_EVENT_TOO_LARGE:
      if (ref.largest_data <= lim.max_event) {
        Fail("SSEKIT_E_EVENT_TOO_LARGE but no event's data exceeds " +
             std::to_string(lim.max_event) + " bytes (largest: " +
             std::to_string(ref.largest_data) + ")" + detail);
      }
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kRecipeBytes || size - kRecipeBytes > kMaxStream) return 0;
  uint64_t seed = 0;
  for (size_t i = 0; i < kRecipeBytes; ++i) seed = (seed << 8) | data[i];
  ssekit_fuzz::Rng rng(seed);
  const uint8_t* stream = data + kRecipeBytes;
  const size_t n = size - kRecipeBytes;
  const std::vector<size_t> whole{n};

  const Reference ref = ReferenceParser().Parse(stream, n);

  Harness unlimited(nullptr);
  const Outcome full = unlimited.Run(stream, n, whole);
  CheckAgainstReference(ref, full);
  // Reset must clear everything, the last event ID and the BOM check too.
  unlimited.Reset();
  ssekit_fuzz::ExpectSame(full, "whole",
                          unlimited.Run(stream, n, whole), "whole after reset");

  Harness split_parser(nullptr);
  size_t due_index = 0;
  const Outcome split = split_parser.Run(
      stream, n, ssekit_fuzz::PlanChunks(rng, stream, n), [&](size_t fed) {
        while (due_index < ref.event_due.size() &&
               ref.event_due[due_index] <= fed) {
          ++due_index;
        }
        if (split_parser.events() != due_index) {
          Fail("after " + std::to_string(fed) + " bytes the parser had "
               "delivered " + std::to_string(split_parser.events()) +
               " events; " + std::to_string(due_index) +
               " were terminated by then");
        }
      });
  ssekit_fuzz::ExpectSame(full, "whole", split, "split");

  Limits lim;
  lim.max_line = rng.OneIn(4) ? 0 : 1 + rng.Below(64);
  lim.max_event = rng.OneIn(4) ? 0 : 1 + rng.Below(96);
  lim.stop_after = rng.OneIn(3) ? 1 + rng.Below(8) : 0;
  Harness limited_whole_parser(&lim);
  const Outcome limited_whole = limited_whole_parser.Run(stream, n, whole);
  Harness limited_split_parser(&lim);
  const Outcome limited_split = limited_split_parser.Run(
      stream, n, ssekit_fuzz::PlanChunks(rng, stream, n));
  ssekit_fuzz::ExpectSame(limited_whole, "limited whole", limited_split,
                          "limited split");
  CheckLimited(lim, limited_whole, full, ref);
  return 0;
}
