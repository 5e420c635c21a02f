#!/usr/bin/env bash
# Builds and runs the end-to-end client benchmarks: ssekit, curl, the npm
# eventsource client and fetch + eventsource-parser draining the same W1
# stream from a loopback sender, ssekit's event latency, and many idle
# streams on one loop. Prints one markdown table per section.
# Extra arguments go to bench/e2e/run_client_bench.py (e.g. --sections
# throughput --iterations 3, or --scale 1000).
# Environment: BUILD_DIR (default build-bench), JOBS (default: all cores).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
jobs="${JOBS:-$(nproc)}"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DSSEKIT_BUILD_BENCH=ON -DSSEKIT_BUILD_TESTS=OFF -DSSEKIT_BUILD_CLI=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target ssekit_w1_sender ssekit_client_bench

if [ ! -d "$root/bench/node_modules/eventsource" ] ||
   [ ! -d "$root/bench/node_modules/eventsource-parser" ]; then
  (cd "$root/bench" && npm ci --no-audit --no-fund --loglevel=error)
fi

# The scale section holds one socket per stream in the client and one in
# the sender; both raise their soft limit to this hard one.
echo "open file limit: soft $(ulimit -Sn), hard $(ulimit -Hn)" >&2

python3 "$root/bench/e2e/run_client_bench.py" --build "$build" \
  --out "$build" "$@"
