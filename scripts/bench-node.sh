#!/usr/bin/env bash
# The Node binding benchmark: builds the W1 sender (as scripts/bench-client.sh
# does, into build-bench) and the addon, installs the JavaScript peers from
# bench/package-lock.json, then runs bench/e2e/node_binding_bench.mjs, which
# prints a markdown table. Extra arguments go to it (e.g. --iterations 3).
# Environment: BUILD_DIR (default build-bench), JOBS (default: all cores).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
jobs="${JOBS:-$(nproc)}"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DSSEKIT_BUILD_BENCH=ON -DSSEKIT_BUILD_TESTS=OFF -DSSEKIT_BUILD_CLI=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target ssekit_w1_sender

if [ ! -d "$root/bench/node_modules/undici" ] || [ "$root/bench/package-lock.json" -nt "$root/bench/node_modules" ]; then
  (cd "$root/bench" && npm ci --no-audit --no-fund --loglevel=error && touch node_modules)
fi
if [ ! -d "$root/node_modules/node-addon-api" ]; then
  (cd "$root" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
(cd "$root" && JOBS="$jobs" node bindings/node/scripts/install.js)

node "$root/bench/e2e/node_binding_bench.mjs" --sender "$build/bench/e2e/ssekit_w1_sender" "$@"
