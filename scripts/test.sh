#!/usr/bin/env bash
# Builds everything and runs every test suite: the C++ and C API suites,
# the CLI and server suites, interop against real server libraries, then the
# whole suite again under ASan+UBSan, the client under TSan, and a short
# libFuzzer run. Installs what it needs first (scripts/install-deps.sh).
#
#   scripts/test.sh            # everything, as CI runs it
#   SSEKIT_QUICK=1 scripts/test.sh   # the plain build and suite only
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
jobs="${JOBS:-$(nproc)}"

step() { printf '\n==> %s\n' "$*"; }

# Runs ctest and adds its counts to the totals printed at the end.
passed=0
failed=0
run_ctest() {
  local log
  log=$(mktemp)
  ctest "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local total fails
  total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -n 1)
  fails=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -n 1)
  rm -f "$log"
  passed=$((passed + ${total:-0} - ${fails:-0}))
  failed=$((failed + ${fails:-0}))
  return "$rc"
}
summary() { printf '\nall suites: %d passed, %d failed\n' "$passed" "$failed"; }

step "dependencies"
bash scripts/install-deps.sh

step "build (warnings are errors)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSSEKIT_WERROR=ON >/dev/null
cmake --build build -j"$jobs"

step "test suite"
run_ctest --test-dir build -j"$jobs" --output-on-failure

if [ -n "${SSEKIT_QUICK:-}" ]; then
  summary
  exit 0
fi

step "test suite under ASan + UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSSEKIT_WERROR=ON \
  -DSSEKIT_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  run_ctest --test-dir build-asan -j"$jobs" --output-on-failure

step "client under TSan"
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSSEKIT_WERROR=ON \
  -DSSEKIT_SANITIZE=thread >/dev/null
cmake --build build-tsan -j"$jobs"
TSAN_OPTIONS="halt_on_error=1" \
  run_ctest --test-dir build-tsan -j"$jobs" --output-on-failure -L client

step "fuzzing (short run; scripts/fuzz.sh 3600 for a long one)"
bash scripts/fuzz.sh "${SSEKIT_FUZZ_SECONDS:-20}"

summary
