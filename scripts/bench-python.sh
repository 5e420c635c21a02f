#!/usr/bin/env bash
# The Python end-to-end benchmark: ssekit's blocking iterator and `async for`
# beside httpx-sse, sseclient-py, requests-sse and aiohttp-sse-client, all
# draining W1 from the loopback C sender in the same run. Prints a markdown
# table. Extra arguments go to bench/e2e/python_clients.py (--iterations N,
# --only ssekit,httpx-sse). Needs scripts/install-deps.sh to have run.
# Environment: BUILD_DIR (default build-bench), JOBS (default: all cores).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
jobs="${JOBS:-$(nproc)}"
cd "$root"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DSSEKIT_BUILD_BENCH=ON -DSSEKIT_BUILD_TESTS=OFF -DSSEKIT_BUILD_CLI=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target ssekit_w1_sender
CMAKE_BUILD_PARALLEL_LEVEL="$jobs" .venv/bin/python -m pip install -q \
  --disable-pip-version-check --no-deps --force-reinstall .
.venv/bin/python bench/e2e/python_clients.py --sender "$build/bench/e2e/ssekit_w1_sender" "$@"
