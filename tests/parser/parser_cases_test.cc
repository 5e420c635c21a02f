// Replays every case of tests/cases/parser.json through the C API: the whole
// input in one feed, split at every offset, one byte at a time and in random
// multi-way splits, and again on a parser that was reset.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ssekit.h"

namespace {

using nlohmann::json;

struct ParserCase {
  std::string name;
  std::string test_name;
  std::string rule;
  std::string input;
  bool has_max_line = false;
  std::size_t max_line = 0;
  bool has_max_event = false;
  std::size_t max_event = 0;
  json expect = json::array();
  int expected_error = SSEKIT_OK;
};

// Keeps gtest from dumping the struct's bytes in failure messages.
void PrintTo(const ParserCase& c, std::ostream* os) { *os << c.name; }

struct CaseFile {
  std::vector<ParserCase> cases;
  std::vector<std::string> problems;
};

std::string ErrorName(int code) {
  switch (code) {
    case SSEKIT_E_LINE_TOO_LONG:
      return "line_too_long";
    case SSEKIT_E_EVENT_TOO_LARGE:
      return "event_too_large";
    case SSEKIT_E_INVALID:
      return "invalid";
    case SSEKIT_E_NOMEM:
      return "nomem";
    case SSEKIT_E_CALLBACK:
      return "callback";
    case SSEKIT_E_STATE:
      return "state";
    case SSEKIT_E_BUFFER_TOO_SMALL:
      return "buffer_too_small";
    case SSEKIT_E_INTERNAL:
      return "internal";
    default:
      return "code " + std::to_string(code);
  }
}

// gtest names may only hold letters, digits and underscores.
std::string TestName(const std::string& name) {
  std::string out;
  for (char ch : name) {
    const bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                       (ch >= '0' && ch <= '9');
    if (alnum) {
      out += ch;
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "unnamed" : out;
}

bool DecodeHex(const std::string& hex, std::string* out) {
  auto nibble = [](char ch) -> int {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
  };
  out->clear();
  int high = -1;
  for (char ch : hex) {
    if (ch == ' ') {
      if (high >= 0) return false;
      continue;
    }
    const int v = nibble(ch);
    if (v < 0) return false;
    if (high < 0) {
      high = v;
    } else {
      out->push_back(static_cast<char>(high * 16 + v));
      high = -1;
    }
  }
  return high < 0;
}

bool IsString(const json& j, const char* key) {
  return j.contains(key) && j.at(key).is_string();
}

// Checks one expected callback record; returns an empty string if it is well
// formed.
std::string CheckExpectItem(const json& item, bool last, int* error) {
  if (!item.is_object()) return "an expect item is not an object";
  if (item.size() == 3 && IsString(item, "event") && IsString(item, "data") &&
      IsString(item, "id")) {
    return "";
  }
  if (item.size() == 1 && item.contains("retry") &&
      item.at("retry").is_number_unsigned()) {
    return "";
  }
  if (item.size() == 1 && IsString(item, "comment")) return "";
  if (item.size() == 1 && IsString(item, "error")) {
    const std::string e = item.at("error").get<std::string>();
    if (!last) return "an error item must be the last expect item";
    if (e == "line_too_long") {
      *error = SSEKIT_E_LINE_TOO_LONG;
    } else if (e == "event_too_large") {
      *error = SSEKIT_E_EVENT_TOO_LARGE;
    } else {
      return "unknown error name '" + e + "'";
    }
    return "";
  }
  return "malformed expect item " + item.dump();
}

std::string LoadCase(const json& j, ParserCase* c) {
  if (!j.is_object()) return "a case is not an object";
  if (!IsString(j, "name")) return "a case has no name";
  c->name = j.at("name").get<std::string>();
  if (!IsString(j, "rule")) return "no rule";
  c->rule = j.at("rule").get<std::string>();
  const bool text = j.contains("input");
  const bool hex = j.contains("input_hex");
  if (text == hex) return "needs exactly one of input and input_hex";
  if (text) {
    if (!IsString(j, "input")) return "input is not a string";
    c->input = j.at("input").get<std::string>();
  } else if (!IsString(j, "input_hex") ||
             !DecodeHex(j.at("input_hex").get<std::string>(), &c->input)) {
    return "input_hex is not hex bytes";
  }
  if (j.contains("options")) {
    const json& o = j.at("options");
    if (!o.is_object()) return "options is not an object";
    for (const auto& kv : o.items()) {
      if (!kv.value().is_number_unsigned()) return "option is not a count";
      const auto v = kv.value().get<std::size_t>();
      if (kv.key() == "max_line") {
        c->has_max_line = true;
        c->max_line = v;
      } else if (kv.key() == "max_event") {
        c->has_max_event = true;
        c->max_event = v;
      } else {
        return "unknown option '" + kv.key() + "'";
      }
    }
  }
  for (const auto& kv : j.items()) {
    static const std::set<std::string> kKeys = {"name", "rule", "input",
                                                "input_hex", "options",
                                                "expect"};
    if (kKeys.count(kv.key()) == 0) return "unknown key '" + kv.key() + "'";
  }
  if (!j.contains("expect") || !j.at("expect").is_array()) {
    return "expect is not an array";
  }
  c->expect = j.at("expect");
  for (std::size_t i = 0; i < c->expect.size(); ++i) {
    std::string problem = CheckExpectItem(c->expect[i],
                                          i + 1 == c->expect.size(),
                                          &c->expected_error);
    if (!problem.empty()) return problem;
  }
  return "";
}

CaseFile LoadCases(const char* path) {
  CaseFile file;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    file.problems.push_back(std::string("cannot open ") + path);
    return file;
  }
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    file.problems.push_back(std::string("invalid JSON: ") + e.what());
    return file;
  }
  if (!doc.is_object() || !doc.contains("cases") ||
      !doc.at("cases").is_array()) {
    file.problems.push_back("the file is not an object with a cases array");
    return file;
  }
  std::set<std::string> names;
  std::set<std::string> test_names;
  for (const json& j : doc.at("cases")) {
    ParserCase c;
    std::string problem = LoadCase(j, &c);
    if (!problem.empty()) {
      file.problems.push_back("case '" + c.name + "': " + problem);
      continue;
    }
    if (!names.insert(c.name).second) {
      file.problems.push_back("duplicate case name '" + c.name + "'");
    }
    c.test_name = TestName(c.name);
    // A clash would abort gtest's registration, so keep the case runnable
    // and report the clash as a file problem.
    if (!test_names.insert(c.test_name).second) {
      file.problems.push_back("case '" + c.name +
                              "' has the same test name as another case");
      c.test_name += "_" + std::to_string(file.cases.size());
      test_names.insert(c.test_name);
    }
    file.cases.push_back(std::move(c));
  }
  return file;
}

const CaseFile& Cases() {
  static const CaseFile file = LoadCases(SSEKIT_PARSER_CASES_FILE);
  return file;
}

// Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t need = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (b < 0x80) {
      ++i;
      continue;
    } else if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (s.size() - i - 1 < need) return false;
    for (std::size_t k = 1; k <= need; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if (c < lo || c > hi) return false;
      lo = 0x80;
      hi = 0xBF;
    }
    i += need + 1;
  }
  return true;
}

std::string Escape(const std::string& s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (char ch : s) {
    const auto b = static_cast<unsigned char>(ch);
    if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\r') {
      out += "\\r";
    } else if (ch == '\\') {
      out += "\\\\";
    } else if (b >= 0x20 && b < 0x7F) {
      out += ch;
    } else {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 0xF];
    }
  }
  return out;
}

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

struct Recorder {
  json log = json::array();
  std::vector<std::string> problems;

  std::string Take(const char* what, const char* p, std::size_t len) {
    if (p == nullptr) {
      if (len != 0) problems.push_back(std::string(what) + " is NULL");
      return std::string();
    }
    std::string s(p, len);
    if (!IsValidUtf8(s)) {
      problems.push_back(std::string(what) + " is not valid UTF-8: " +
                         Escape(s));
    }
    return s;
  }
};

int OnEvent(const ssekit_event* event, void* userdata) {
  auto* rec = static_cast<Recorder*>(userdata);
  json item = json::object();
  item["event"] = rec->Take("event type", event->type, event->type_len);
  item["data"] = rec->Take("event data", event->data, event->data_len);
  item["id"] = rec->Take("event id", event->id, event->id_len);
  rec->log.push_back(std::move(item));
  return 0;
}

int OnComment(const char* text, std::size_t len, void* userdata) {
  auto* rec = static_cast<Recorder*>(userdata);
  json item = json::object();
  item["comment"] = rec->Take("comment", text, len);
  rec->log.push_back(std::move(item));
  return 0;
}

int OnRetry(std::uint64_t retry_ms, void* userdata) {
  auto* rec = static_cast<Recorder*>(userdata);
  json item = json::object();
  item["retry"] = retry_ms;
  rec->log.push_back(std::move(item));
  return 0;
}

struct ParserDeleter {
  void operator()(ssekit_parser* p) const { ssekit_parser_free(p); }
};
using ParserPtr = std::unique_ptr<ssekit_parser, ParserDeleter>;

ParserPtr NewParser(const ParserCase& c) {
  ParserPtr p(ssekit_parser_new());
  if (!p) return p;
  bool ok = ssekit_parser_on_event(p.get(), OnEvent) == SSEKIT_OK &&
            ssekit_parser_on_comment(p.get(), OnComment) == SSEKIT_OK &&
            ssekit_parser_on_retry(p.get(), OnRetry) == SSEKIT_OK;
  if (c.has_max_line) {
    ok = ok && ssekit_parser_set_max_line(p.get(), c.max_line) == SSEKIT_OK;
  }
  if (c.has_max_event) {
    ok = ok && ssekit_parser_set_max_event(p.get(), c.max_event) == SSEKIT_OK;
  }
  if (!ok) p.reset();
  return p;
}

struct Outcome {
  json log;
  std::vector<std::string> problems;
};

// Feeds the input cut at the given sorted offsets (0 and the input size give
// empty feeds), then finishes the stream, checking the return codes.
Outcome Replay(ssekit_parser* p, const ParserCase& c,
               const std::vector<std::size_t>& cuts) {
  Recorder rec;
  if (ssekit_parser_set_userdata(p, &rec) != SSEKIT_OK) {
    return {json::array(), {"ssekit_parser_set_userdata failed"}};
  }
  const std::string& in = c.input;
  int sticky = SSEKIT_OK;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i] : in.size();
    const std::size_t len = end - start;
    // The API allows NULL for an empty chunk, so empty chunks use it.
    const char* ptr = len == 0 ? nullptr : in.data() + start;
    const int rc = ssekit_parser_feed(p, ptr, len);
    if (sticky == SSEKIT_OK && rc != SSEKIT_OK) {
      sticky = rc;
      json item = json::object();
      item["error"] = ErrorName(rc);
      rec.log.push_back(std::move(item));
      const char* msg = ssekit_parser_error_message(p);
      if (msg == nullptr || msg[0] == '\0') {
        rec.problems.push_back("ssekit_parser_error_message is empty after " +
                               ErrorName(rc));
      }
    } else if (sticky != SSEKIT_OK && rc == SSEKIT_OK) {
      rec.problems.push_back("a feed after the error returned SSEKIT_OK");
    }
    start = end;
  }
  if (sticky != SSEKIT_OK) {
    const std::size_t before = rec.log.size();
    static const char kMore[] = "data: more\n\n";
    if (ssekit_parser_feed(p, kMore, sizeof kMore - 1) == SSEKIT_OK) {
      rec.problems.push_back("the error is not sticky: a further feed "
                             "returned SSEKIT_OK");
    }
    if (rec.log.size() != before) {
      rec.problems.push_back("callbacks ran after the error");
    }
  }
  const std::size_t before_finish = rec.log.size();
  const int frc = ssekit_parser_finish(p);
  if (rec.log.size() != before_finish) {
    rec.problems.push_back("ssekit_parser_finish delivered callbacks");
  }
  if (frc != sticky) {
    rec.problems.push_back("ssekit_parser_finish returned " + ErrorName(frc) +
                           ", expected " +
                           (sticky == SSEKIT_OK ? std::string("ok")
                                                : ErrorName(sticky)));
  }
  static const char kLate[] = "data: late\n\n";
  const std::size_t before_late = rec.log.size();
  const int lrc = ssekit_parser_feed(p, kLate, sizeof kLate - 1);
  if (sticky == SSEKIT_OK && lrc != SSEKIT_E_STATE) {
    rec.problems.push_back("a feed after finish returned " + ErrorName(lrc) +
                           ", expected state");
  } else if (lrc == SSEKIT_OK) {
    rec.problems.push_back("a feed after finish returned SSEKIT_OK");
  }
  if (rec.log.size() != before_late) {
    rec.problems.push_back("callbacks ran for a feed after finish");
  }
  return {std::move(rec.log), std::move(rec.problems)};
}

std::string CutsText(const std::vector<std::size_t>& cuts) {
  std::ostringstream os;
  os << "{";
  for (std::size_t i = 0; i < cuts.size(); ++i) {
    os << (i ? ", " : "") << cuts[i];
  }
  os << "}";
  return os.str();
}

class ParserCaseTest : public ::testing::TestWithParam<ParserCase> {
 protected:
  // Returns whether the outcome matches. The first few mismatches of a case
  // are reported in full; later ones are only counted.
  bool Check(const std::string& mode, const Outcome& got) {
    const ParserCase& c = GetParam();
    if (got.log == c.expect && got.problems.empty()) return true;
    ++failures_;
    if (failures_ <= kMaxReports) {
      std::ostringstream os;
      os << "case:     " << c.name << "\nrule:     " << c.rule
         << "\nreplay:   " << mode << "\ninput:    \"" << Escape(c.input)
         << "\"\nexpected: " << Dump(c.expect) << "\ngot:      "
         << Dump(got.log);
      for (const std::string& problem : got.problems) {
        os << "\nproblem:  " << problem;
      }
      ADD_FAILURE() << os.str();
    }
    return false;
  }

  Outcome Fresh(const std::vector<std::size_t>& cuts) {
    ParserPtr p = NewParser(GetParam());
    if (!p) return {json::array(), {"could not create and set up a parser"}};
    return Replay(p.get(), GetParam(), cuts);
  }

  static constexpr int kMaxReports = 3;
  int failures_ = 0;
};

TEST_P(ParserCaseTest, Replays) {
  const ParserCase& c = GetParam();
  const std::size_t n = c.input.size();

  Check("whole input in one feed", Fresh({}));

  std::vector<std::size_t> bad_offsets;
  for (std::size_t i = 0; i <= n; ++i) {
    if (!Check("two feeds split at offset " + std::to_string(i), Fresh({i}))) {
      bad_offsets.push_back(i);
    }
  }
  EXPECT_TRUE(bad_offsets.empty())
      << c.name << ": two-feed replays fail at offsets "
      << CutsText(bad_offsets);

  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < n; ++i) every_byte.push_back(i);
  Check("one byte per feed", Fresh(every_byte));

  // mt19937's output is fixed by the standard, so the splits are the same
  // with every standard library.
  std::mt19937 rng(0x55E5EEDu);
  for (int round = 0; round < 20; ++round) {
    const std::size_t count = 2 + static_cast<std::size_t>(rng() % 9);
    std::vector<std::size_t> cuts;
    for (std::size_t k = 0; k < count; ++k) {
      cuts.push_back(static_cast<std::size_t>(rng()) % (n + 1));
    }
    std::sort(cuts.begin(), cuts.end());
    Check("random split " + std::to_string(round) + " at offsets " +
              CutsText(cuts),
          Fresh(cuts));
  }

  ParserPtr p = NewParser(c);
  ASSERT_TRUE(p);
  Check("whole input, first use of the parser", Replay(p.get(), c, {}));
  ASSERT_EQ(ssekit_parser_reset(p.get()), SSEKIT_OK);
  Check("whole input after finish and reset", Replay(p.get(), c, {}));
  // A reset in the middle of the stream must drop every buffer, including a
  // half-read line, a pending CR, a partial UTF-8 sequence and the BOM check.
  ASSERT_EQ(ssekit_parser_reset(p.get()), SSEKIT_OK);
  {
    Recorder ignored;
    ASSERT_EQ(ssekit_parser_set_userdata(p.get(), &ignored), SSEKIT_OK);
    ssekit_parser_feed(p.get(), c.input.data(), (n + 1) / 2);
  }
  ASSERT_EQ(ssekit_parser_reset(p.get()), SSEKIT_OK);
  Check("one byte per feed after a reset in the middle of the input",
        Replay(p.get(), c, every_byte));

  if (failures_ > kMaxReports) {
    ADD_FAILURE() << c.name << ": " << failures_
                  << " replays failed, the first " << kMaxReports
                  << " are shown above";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParserCaseTest, ::testing::ValuesIn(Cases().cases),
    [](const ::testing::TestParamInfo<ParserCase>& param_info) {
      return param_info.param.test_name;
    });

TEST(ParserCaseFile, IsWellFormed) {
  const CaseFile& file = Cases();
  for (const std::string& problem : file.problems) {
    ADD_FAILURE() << SSEKIT_PARSER_CASES_FILE << ": " << problem;
  }
  EXPECT_GE(file.cases.size(), 80u);
}

}  // namespace
