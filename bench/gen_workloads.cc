// Writes the benchmark workloads (w1.sse, w2.sse, w3.sse) and a manifest of
// their expected results into a directory, so that parsers outside this
// build read exactly the bytes the C++ benchmark parses.
#include <cstdio>
#include <fstream>
#include <string>

#include "workloads.h"

namespace {

bool write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  std::string manifest = "{\n  \"chunk_size\": " +
                         std::to_string(ssekit_bench::kChunkSize) +
                         ",\n  \"workloads\": [";
  bool first = true;
  for (ssekit_bench::WorkloadId id : ssekit_bench::kAllWorkloads) {
    const ssekit_bench::Workload w = ssekit_bench::make_workload(id);
    const std::string file = w.name + ".sse";
    if (!write_file(dir + "/" + file, w.bytes)) {
      std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), file.c_str());
      return 1;
    }
    // Names, descriptions and ids are plain ASCII, so no JSON escaping.
    manifest += first ? "\n" : ",\n";
    manifest += "    {\"name\": \"" + w.name + "\", \"description\": \"" +
                w.description + "\", \"file\": \"" + file +
                "\", \"bytes\": " + std::to_string(w.bytes.size()) +
                ", \"events\": " + std::to_string(w.events) +
                ", \"comments\": " + std::to_string(w.comments) +
                ", \"retries\": " + std::to_string(w.retries) +
                ", \"data_bytes\": " + std::to_string(w.data_bytes) +
                ", \"last_id\": \"" + w.last_id + "\"}";
    first = false;
    std::printf("%s/%s: %zu bytes, %llu events\n", dir.c_str(), file.c_str(),
                w.bytes.size(), static_cast<unsigned long long>(w.events));
  }
  manifest += "\n  ]\n}\n";
  if (!write_file(dir + "/manifest.json", manifest)) {
    std::fprintf(stderr, "cannot write %s/manifest.json\n", dir.c_str());
    return 1;
  }
  return 0;
}
