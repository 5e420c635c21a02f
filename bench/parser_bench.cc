// Parser throughput on the shared workloads: ssekit through its C API, and
// a memchr line count over the same chunks as the floor that any parser
// which looks at every line must pay.
#include <benchmark/benchmark.h>
#include <ssekit.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "workloads.h"

namespace {

using ssekit_bench::kChunkSize;
using ssekit_bench::Workload;
using ssekit_bench::WorkloadId;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "parser_bench: FAILED: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// Generated on first use and kept for the whole run, outside timed regions.
const Workload& workload(WorkloadId id) {
  static std::array<std::unique_ptr<Workload>, 3> cache;
  std::unique_ptr<Workload>& slot = cache[static_cast<std::size_t>(id)];
  if (!slot) slot = std::make_unique<Workload>(ssekit_bench::make_workload(id));
  return *slot;
}

struct Tally {
  std::uint64_t events = 0;
  std::uint64_t comments = 0;
  std::uint64_t retries = 0;
  std::uint64_t data_bytes = 0;
};

int on_event(const ssekit_event* event, void* userdata) {
  Tally* tally = static_cast<Tally*>(userdata);
  ++tally->events;
  tally->data_bytes += event->data_len;
  return 0;
}

int on_comment(const char*, size_t, void* userdata) {
  ++static_cast<Tally*>(userdata)->comments;
  return 0;
}

int on_retry(uint64_t, void* userdata) {
  ++static_cast<Tally*>(userdata)->retries;
  return 0;
}

void expect_equal(const Workload& w, const char* what, std::uint64_t got,
                  std::uint64_t want) {
  if (got != want) {
    fail(w.name + ": " + what + ": got " + std::to_string(got) +
         ", expected " + std::to_string(want));
  }
}

void check_rc(const Workload& w, const ssekit_parser* parser, int rc,
              const char* call) {
  if (rc != SSEKIT_OK) {
    fail(w.name + ": " + call + " returned " + ssekit_strerror(rc) + " (" +
         ssekit_parser_error_message(parser) + ")");
  }
}

void set_throughput(benchmark::State& state, const Workload& w) {
  const auto iterations = static_cast<std::int64_t>(state.iterations());
  state.SetBytesProcessed(iterations *
                          static_cast<std::int64_t>(w.bytes.size()));
  state.counters["events"] = benchmark::Counter(
      static_cast<double>(iterations) * static_cast<double>(w.events),
      benchmark::Counter::kIsRate);
  state.SetLabel(w.description);
}

void BM_ssekit(benchmark::State& state, WorkloadId id) {
  const Workload& w = workload(id);
  ssekit_parser* parser = ssekit_parser_new();
  if (parser == nullptr) fail("ssekit_parser_new returned NULL");
  Tally tally;
  ssekit_parser_set_userdata(parser, &tally);
  ssekit_parser_on_event(parser, on_event);
  ssekit_parser_on_comment(parser, on_comment);
  ssekit_parser_on_retry(parser, on_retry);
  const char* bytes = w.bytes.data();
  const std::size_t size = w.bytes.size();

  for (auto _ : state) {
    tally = Tally{};
    for (std::size_t off = 0; off < size; off += kChunkSize) {
      const std::size_t n = std::min(kChunkSize, size - off);
      check_rc(w, parser, ssekit_parser_feed(parser, bytes + off, n),
               "ssekit_parser_feed");
    }
    check_rc(w, parser, ssekit_parser_finish(parser), "ssekit_parser_finish");
    expect_equal(w, "events", tally.events, w.events);
    expect_equal(w, "comments", tally.comments, w.comments);
    expect_equal(w, "retries", tally.retries, w.retries);
    expect_equal(w, "data bytes", tally.data_bytes, w.data_bytes);
    size_t id_len = 0;
    const char* last_id = ssekit_parser_last_event_id(parser, &id_len);
    if (std::string(last_id, id_len) != w.last_id) {
      fail(w.name + ": last event id: got \"" + std::string(last_id, id_len) +
           "\", expected \"" + w.last_id + "\"");
    }
    check_rc(w, parser, ssekit_parser_reset(parser), "ssekit_parser_reset");
  }

  ssekit_parser_free(parser);
  set_throughput(state, w);
}

void BM_memchr_floor(benchmark::State& state, WorkloadId id) {
  const Workload& w = workload(id);
  const char* bytes = w.bytes.data();
  const std::size_t size = w.bytes.size();

  for (auto _ : state) {
    std::uint64_t lines = 0;
    for (std::size_t off = 0; off < size; off += kChunkSize) {
      const char* p = bytes + off;
      const char* end = p + std::min(kChunkSize, size - off);
      while (const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p))) {
        ++lines;
        p = static_cast<const char*>(nl) + 1;
      }
    }
    benchmark::DoNotOptimize(lines);
    expect_equal(w, "newlines", lines, w.newlines);
  }

  set_throughput(state, w);
}

}  // namespace

int main(int argc, char** argv) {
  static constexpr const char* kNames[] = {"w1", "w2", "w3"};
  for (WorkloadId id : ssekit_bench::kAllWorkloads) {
    const std::string name = kNames[static_cast<std::size_t>(id)];
    for (const auto& [contender, fn] :
         {std::pair{"ssekit", &BM_ssekit},
          std::pair{"memchr_floor", &BM_memchr_floor}}) {
      benchmark::RegisterBenchmark((std::string(contender) + "/" + name).c_str(),
                                   fn, id)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(1.0);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
