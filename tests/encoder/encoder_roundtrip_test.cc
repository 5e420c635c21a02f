// Property: parsing what the encoder wrote gives back the events it was
// given, however the bytes are chunked.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ssekit.h"

namespace {

struct Ev {
  std::string type;  // as dispatched: "message" when none was written
  std::string data;
  std::string id;
  bool operator==(const Ev &o) const {
    return type == o.type && data == o.data && id == o.id;
  }
};

std::ostream &operator<<(std::ostream &os, const Ev &e) {
  return os << "{" << e.type << ", " << testing::PrintToString(e.data) << ", "
            << e.id << "}";
}

// Code points chosen to stress the format: line breaks, colons, spaces,
// NUL, non-ASCII of every UTF-8 length, and the BOM.
std::string random_text(std::mt19937_64 &rng, bool allow_breaks, bool allow_nul) {
  static const char *const pieces[] = {
      "a", "Z", "0", " ", ":", "data:", "id", "\t", "\xC3\xA9", "\xE2\x82\xAC",
      "\xF0\x9F\x98\x80", "\xEF\xBB\xBF", "{\"k\":1}", "  ", "event"};
  std::uniform_int_distribution<int> len(0, 12);
  std::uniform_int_distribution<size_t> pick(0, std::size(pieces) - 1);
  std::uniform_int_distribution<int> special(0, 9);
  std::string s;
  for (int i = len(rng); i > 0; --i) {
    const int k = special(rng);
    if (allow_breaks && k == 0) s += "\n";
    else if (allow_nul && k == 1) s += std::string(1, '\0');
    else s += pieces[pick(rng)];
  }
  return s;
}

struct Collected {
  std::vector<Ev> events;
  std::vector<uint64_t> retries;
};

int on_event(const ssekit_event *ev, void *ud) {
  static_cast<Collected *>(ud)->events.push_back(
      {std::string(ev->type, ev->type_len), std::string(ev->data, ev->data_len),
       std::string(ev->id, ev->id_len)});
  return 0;
}

int on_retry(uint64_t ms, void *ud) {
  static_cast<Collected *>(ud)->retries.push_back(ms);
  return 0;
}

std::string encode(const std::string &type, const std::optional<std::string> &id,
                   const std::string &data, int64_t retry) {
  size_t n = 0;
  const int rc0 = ssekit_encode_event(type.data(), type.size(), id ? id->data() : nullptr,
                                      id ? id->size() : 0, data.data(), data.size(), retry,
                                      nullptr, 0, &n);
  EXPECT_EQ(rc0, SSEKIT_E_BUFFER_TOO_SMALL);
  std::string out(n, '\0');
  EXPECT_EQ(ssekit_encode_event(type.data(), type.size(), id ? id->data() : nullptr,
                                id ? id->size() : 0, data.data(), data.size(), retry,
                                out.data(), out.size(), &n),
            SSEKIT_OK);
  EXPECT_EQ(n, out.size());
  return out;
}

TEST(EncoderRoundTrip, RandomEventsSurviveRandomChunking) {
  std::mt19937_64 rng(20261122);
  for (int round = 0; round < 300; ++round) {
    std::string stream;
    if (round % 7 == 0) {
      size_t n = 0;
      const std::string c = random_text(rng, true, true);
      std::string buf(64 + c.size() * 2, '\0');
      ASSERT_EQ(ssekit_encode_comment(c.data(), c.size(), buf.data(), buf.size(), &n),
                SSEKIT_OK);
      stream.append(buf, 0, n);
    }
    std::vector<Ev> expected;
    std::vector<uint64_t> expected_retries;
    std::string last_id;
    std::uniform_int_distribution<int> coin(0, 3);
    const int count = 1 + static_cast<int>(rng() % 20);
    for (int i = 0; i < count; ++i) {
      const std::string type = coin(rng) == 0 ? std::string() : random_text(rng, false, true);
      std::optional<std::string> id;
      if (coin(rng) != 0) id = random_text(rng, false, false);
      const std::string data = random_text(rng, true, true);
      const int64_t retry = coin(rng) == 0 ? static_cast<int64_t>(rng() % 100000) : -1;
      stream += encode(type, id, data, retry);
      if (id) last_id = *id;
      if (retry >= 0) expected_retries.push_back(static_cast<uint64_t>(retry));
      expected.push_back({type.empty() ? "message" : type, data, last_id});
    }

    for (int replay = 0; replay < 4; ++replay) {
      Collected got;
      ssekit_parser *p = ssekit_parser_new();
      ssekit_parser_set_userdata(p, &got);
      ssekit_parser_on_event(p, on_event);
      ssekit_parser_on_retry(p, on_retry);
      size_t pos = 0;
      std::vector<size_t> cuts;
      while (pos < stream.size()) {
        const size_t n = replay == 0 ? stream.size() : 1 + rng() % (replay * 7);
        const size_t k = std::min(n, stream.size() - pos);
        cuts.push_back(k);
        ASSERT_EQ(ssekit_parser_feed(p, stream.data() + pos, k), SSEKIT_OK);
        pos += k;
      }
      ASSERT_EQ(ssekit_parser_finish(p), SSEKIT_OK);
      ssekit_parser_free(p);
      ASSERT_EQ(got.events, expected)
          << "round " << round << " replay " << replay << " stream "
          << testing::PrintToString(stream);
      ASSERT_EQ(got.retries, expected_retries);
    }
  }
}

TEST(EncoderRoundTrip, LineBreaksInDataComeBackAsLf) {
  const std::string stream = encode("", std::nullopt, "a\r\nb\rc\nd", -1);
  EXPECT_EQ(stream, "data: a\ndata: b\ndata: c\ndata: d\n\n");
  Collected got;
  ssekit_parser *p = ssekit_parser_new();
  ssekit_parser_set_userdata(p, &got);
  ssekit_parser_on_event(p, on_event);
  ASSERT_EQ(ssekit_parser_feed(p, stream.data(), stream.size()), SSEKIT_OK);
  ssekit_parser_free(p);
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_EQ(got.events[0].data, "a\nb\nc\nd");
}

}  // namespace
