// Deterministic text/event-stream workloads shared by every benchmark
// contender: the C++ benchmark generates them in-process and
// gen_workloads writes the very same bytes to files for the Node peer.
#ifndef SSEKIT_BENCH_WORKLOADS_H
#define SSEKIT_BENCH_WORKLOADS_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace ssekit_bench {

enum class WorkloadId { kLlmTokens, kBigJson, kMultiLineCrlf };

inline constexpr WorkloadId kAllWorkloads[] = {
    WorkloadId::kLlmTokens, WorkloadId::kBigJson, WorkloadId::kMultiLineCrlf};

// Every contender feeds the stream in chunks of this size.
inline constexpr std::size_t kChunkSize = 64 * 1024;

struct Workload {
  // Short name ("w1") used for file names and benchmark labels.
  std::string name;
  std::string description;
  std::string bytes;
  // What a conforming parser must report for the whole stream.
  std::uint64_t events = 0;
  std::uint64_t comments = 0;
  std::uint64_t retries = 0;
  // Sum of the dispatched events' data lengths, in bytes (all ASCII, so it
  // is also the number of UTF-16 code units a JavaScript parser sees).
  std::uint64_t data_bytes = 0;
  // Last event ID at the end of the stream.
  std::string last_id;
  // Number of '\n' bytes in the stream, for the memchr floor.
  std::uint64_t newlines = 0;
};

// Builds one workload. Deterministic: every call returns the same bytes.
Workload make_workload(WorkloadId id);

// A small PRNG (splitmix64) so the workloads do not depend on the standard
// library's unspecified distributions.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, bound) for workload generation; bound > 0.
  std::uint32_t below(std::uint32_t bound) {
    return static_cast<std::uint32_t>(next() % bound);
  }

 private:
  std::uint64_t state_;
};

}  // namespace ssekit_bench

#endif  // SSEKIT_BENCH_WORKLOADS_H
