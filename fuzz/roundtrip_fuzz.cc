// Round trip: what ssekit_encode_event / ssekit_encode_comment write, the
// parser must read back unchanged, whatever the chunking.
//
// Input: 4 bytes of seed for the chunk splits, then records separated by
// 0xFE. A record's first byte says what it is:
//   - bit 0 set: a comment; the rest of the record is its text.
//   - otherwise an event; the rest is split at 0xFF into type, id, data and
//     retry. A missing field is NULL (no retry), and bits 1, 2 and 3 force
//     type, id and data to NULL. The retry field's digits give retry_ms, a
//     leading '-' makes it negative (no retry line).
// So "@" "ping" 0xFF "7" 0xFF "a\nb" 0xFF "100" is event "ping", id "7", data
// "a\nb", retry 100. Any byte may appear in the strings: events the encoder
// must refuse (type with CR/LF, id with CR/LF/NUL) are checked to be refused
// with SSEKIT_E_INVALID and left out of the stream, and invalid UTF-8 is
// expected back decoded to U+FFFD as the parser must.
#include <ssekit.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_common.h"

namespace {

using ssekit_fuzz::Entry;
using ssekit_fuzz::Fail;

constexpr size_t kSeedBytes = 4;
constexpr uint8_t kRecordSep = 0xFE;
constexpr uint8_t kFieldSep = 0xFF;

struct Field {
  bool present = false;
  std::string value;
  const char* ptr() const { return present ? value.data() : nullptr; }
  size_t len() const { return present ? value.size() : 0; }
};

struct Record {
  bool comment = false;
  std::string text;
  Field type, id, data;
  int64_t retry_ms = -1;
};

int64_t ParseRetry(const std::string& s) {
  if (s.empty()) return -1;
  const bool negative = s[0] == '-';
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') continue;
    const int64_t digit = c - '0';
    v = v > (INT64_MAX - digit) / 10 ? INT64_MAX : v * 10 + digit;
  }
  return negative ? -v - 1 : v;
}

std::vector<Record> ParseRecords(const uint8_t* p, size_t n) {
  std::vector<Record> out;
  size_t start = 0;
  while (start < n) {
    size_t end = start;
    while (end < n && p[end] != kRecordSep) ++end;
    if (end > start) {
      const uint8_t kind = p[start];
      const std::string body(reinterpret_cast<const char*>(p + start + 1),
                             end - start - 1);
      Record r;
      if (kind & 1) {
        r.comment = true;
        r.text = body;
      } else {
        std::vector<std::string> parts;
        size_t from = 0;
        while (parts.size() < 4) {
          const size_t sep = body.find(static_cast<char>(kFieldSep), from);
          parts.push_back(body.substr(from, sep - from));
          if (sep == std::string::npos) break;
          from = sep + 1;
        }
        Field* fields[] = {&r.type, &r.id, &r.data};
        for (size_t i = 0; i < 3 && i < parts.size(); ++i) {
          fields[i]->present = (kind & (2u << i)) == 0;
          if (fields[i]->present) fields[i]->value = parts[i];
        }
        if (parts.size() == 4) r.retry_ms = ParseRetry(parts[3]);
      }
      out.push_back(std::move(r));
    }
    start = end + 1;
  }
  return out;
}

// Splits at CR, CRLF and LF: n line endings make n + 1 lines.
std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> lines(1);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' || s[i] == '\n') {
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      lines.emplace_back();
    } else {
      lines.back().push_back(s[i]);
    }
  }
  return lines;
}

std::string NormalizeNewlines(const std::string& s) {
  const std::vector<std::string> lines = Lines(s);
  std::string out = lines[0];
  for (size_t i = 1; i < lines.size(); ++i) out += "\n" + lines[i];
  return out;
}

bool Holds(const std::string& s, const char* bytes, size_t n) {
  return s.find_first_of(bytes, 0, n) != std::string::npos;
}

// Runs one encoder through the whole size protocol: the size query, a
// buffer one byte short (nothing may be written), then an exact fit with
// guard bytes after it. Returns the encoder's verdict and appends the
// output on success.
template <typename Encode>
int EncodeChecked(const Encode& encode, std::string* stream) {
  size_t need = SIZE_MAX;
  int rc = encode(nullptr, 0, &need);
  if (rc == SSEKIT_E_INVALID) return rc;
  if (rc != SSEKIT_E_BUFFER_TOO_SMALL || need == 0 || need == SIZE_MAX) {
    Fail("size query returned " + std::to_string(rc) + " with size " +
         std::to_string(need));
  }
  constexpr size_t kGuard = 16;
  std::string buf(need + kGuard, '\xA5');
  size_t got = 0;
  rc = encode(&buf[0], need - 1, &got);
  if (rc != SSEKIT_E_BUFFER_TOO_SMALL || got != need) {
    Fail("a buffer one byte short gave rc " + std::to_string(rc) +
         " and size " + std::to_string(got) + ", expected size " +
         std::to_string(need));
  }
  if (buf != std::string(need + kGuard, '\xA5')) {
    Fail("the encoder wrote into a buffer that was too small");
  }
  got = 0;
  rc = encode(&buf[0], buf.size(), &got);
  if (rc != SSEKIT_OK || got != need) {
    Fail("encoding into a large enough buffer gave rc " + std::to_string(rc) +
         " and size " + std::to_string(got) + ", expected size " +
         std::to_string(need));
  }
  if (buf.compare(need, kGuard, std::string(kGuard, '\xA5')) != 0) {
    Fail("the encoder wrote past the size it reported");
  }
  stream->append(buf, 0, need);
  return SSEKIT_OK;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kSeedBytes) return 0;
  uint64_t seed = 0;
  for (size_t i = 0; i < kSeedBytes; ++i) seed = (seed << 8) | data[i];
  ssekit_fuzz::Rng rng(seed);
  const std::vector<Record> records =
      ParseRecords(data + kSeedBytes, size - kSeedBytes);

  std::string stream;
  std::vector<Entry> expected;
  std::string last_id;
  for (const Record& r : records) {
    if (r.comment) {
      const int rc = EncodeChecked(
          [&](char* out, size_t cap, size_t* len) {
            return ssekit_encode_comment(r.text.data(), r.text.size(), out,
                                         cap, len);
          },
          &stream);
      if (rc != SSEKIT_OK) {
        Fail("encode_comment refused " + ssekit_fuzz::Escape(r.text) +
             " with rc " + std::to_string(rc));
      }
      for (const std::string& line : Lines(r.text)) {
        expected.push_back(
            ssekit_fuzz::CommentEntry(ssekit_fuzz::DecodeUtf8(line)));
      }
      continue;
    }
    const bool invalid =
        (r.type.present && Holds(r.type.value, "\r\n", 2)) ||
        (r.id.present && Holds(r.id.value, "\r\n\0", 3));
    const int rc = EncodeChecked(
        [&](char* out, size_t cap, size_t* len) {
          return ssekit_encode_event(r.type.ptr(), r.type.len(), r.id.ptr(),
                                     r.id.len(), r.data.ptr(), r.data.len(),
                                     r.retry_ms, out, cap, len);
        },
        &stream);
    if (invalid != (rc == SSEKIT_E_INVALID)) {
      Fail("encode_event(type " +
           (r.type.present ? ssekit_fuzz::Escape(r.type.value) : "NULL") +
           ", id " + (r.id.present ? ssekit_fuzz::Escape(r.id.value) : "NULL") +
           ") returned " + std::to_string(rc) +
           (invalid ? ", expected SSEKIT_E_INVALID" : ""));
    }
    if (invalid) continue;
    if (r.retry_ms >= 0) {
      expected.push_back(
          ssekit_fuzz::RetryEntry(static_cast<uint64_t>(r.retry_ms)));
    }
    if (r.id.present) last_id = ssekit_fuzz::DecodeUtf8(r.id.value);
    if (r.data.present) {
      const std::string type = ssekit_fuzz::DecodeUtf8(r.type.value);
      expected.push_back(ssekit_fuzz::EventEntry(
          type.empty() ? "message" : type,
          ssekit_fuzz::DecodeUtf8(NormalizeNewlines(r.data.value)), last_id));
    }
  }

  ssekit_fuzz::Outcome want;
  want.log = expected;
  want.last_id = last_id;
  const auto* bytes = reinterpret_cast<const uint8_t*>(stream.data());
  const std::string context =
      "encoded stream: " + ssekit_fuzz::Escape(stream, 2000) + "\n";
  ssekit_fuzz::Harness whole_parser(nullptr);
  ssekit_fuzz::ExpectSame(
      want, "encoded",
      whole_parser.Run(bytes, stream.size(), {stream.size()}), "parsed whole",
      context);
  ssekit_fuzz::Harness split_parser(nullptr);
  ssekit_fuzz::ExpectSame(
      want, "encoded",
      split_parser.Run(bytes, stream.size(),
                       ssekit_fuzz::PlanChunks(rng, bytes, stream.size())),
      "parsed split", context);
  return 0;
}
