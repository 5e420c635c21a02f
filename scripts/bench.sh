#!/usr/bin/env bash
# Builds and runs the parser benchmarks (ssekit, a memchr floor and the npm
# eventsource-parser on the same bytes), then prints one markdown table.
# Extra arguments go to the Google Benchmark binary (e.g. --benchmark_filter=w1).
# Environment: BUILD_DIR (default build-bench), JOBS (default: all cores).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
jobs="${JOBS:-$(nproc)}"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DSSEKIT_BUILD_BENCH=ON -DSSEKIT_BUILD_TESTS=OFF -DSSEKIT_BUILD_CLI=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target ssekit_parser_bench ssekit_gen_workloads

if [ ! -d "$root/bench/node_modules" ]; then
  (cd "$root/bench" && npm ci --no-audit --no-fund --loglevel=error)
fi

workloads="$build/workloads"
mkdir -p "$workloads"
"$build/bench/ssekit_gen_workloads" "$workloads"

"$build/bench/ssekit_parser_bench" \
  --benchmark_out="$build/parser_bench.json" --benchmark_out_format=json "$@"
node --expose-gc "$root/bench/eventsource_parser.mjs" "$workloads" \
  --json "$build/eventsource_parser.json"

echo
python3 "$root/bench/report_table.py" "$build/parser_bench.json" \
  "$build/eventsource_parser.json" "$workloads/manifest.json" |
  tee "$build/bench-table.md"
