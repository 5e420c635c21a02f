#!/usr/bin/env bash
# Builds everything and runs every test suite: the C++ and C API suites,
# the C++ header, the CLI and server suites, interop against real server
# libraries, the Python package (built as an sdist and a wheel from it) and
# the Node package; then the client suites again on the portable loop
# (curl_multi_poll, what macOS wheels and Node addons run), the whole suite
# under ASan+UBSan, the client under TSan, and a short libFuzzer run.
# Installs what it needs first (scripts/install-deps.sh).
#
#   scripts/test.sh            # everything, as CI runs it
#   SSEKIT_QUICK=1 scripts/test.sh   # the plain build and suites only
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
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSSEKIT_WERROR=ON >/dev/null
cmake --build build-release -j"$jobs"

step "test suite"
run_ctest --test-dir build-release -j"$jobs" --output-on-failure

# The Python package, built as users get it (sdist, then a wheel from it),
# and its pytest suite; each test counts once in the totals.
step "Python binding"
pylog=$(mktemp)
pyrc=0
JOBS="$jobs" bash scripts/test-python.sh 2>&1 | tee "$pylog" || pyrc=$?
pypass=$(grep -oE '[0-9]+ passed' "$pylog" | tail -n 1 | cut -d' ' -f1 || true)
pyfail=$(grep -oE '[0-9]+ failed' "$pylog" | tail -n 1 | cut -d' ' -f1 || true)
rm -f "$pylog"
passed=$((passed + ${pypass:-0}))
failed=$((failed + ${pyfail:-0}))
if [ "$pyrc" -ne 0 ]; then
  [ -n "$pyfail" ] || failed=$((failed + 1))
  summary
  exit "$pyrc"
fi

# The Node package: the addon built from this checkout with node-gyp
# (Node-API headers from npm), and its node:test suite.
step "Node binding"
nodelog=$(mktemp)
noderc=0
JOBS="$jobs" bash scripts/test-node.sh 2>&1 | tee "$nodelog" || noderc=$?
nodepass=$(sed -n 's/^ℹ pass \([0-9][0-9]*\)$/\1/p' "$nodelog" | tail -n 1)
nodefail=$(sed -n 's/^ℹ fail \([0-9][0-9]*\)$/\1/p' "$nodelog" | tail -n 1)
rm -f "$nodelog"
passed=$((passed + ${nodepass:-0}))
failed=$((failed + ${nodefail:-0}))
if [ "$noderc" -ne 0 ]; then
  [ -n "$nodefail" ] && [ "$nodefail" -ne 0 ] || failed=$((failed + 1))
  summary
  exit "$noderc"
fi

if [ -n "${SSEKIT_QUICK:-}" ]; then
  summary
  exit 0
fi

# Linux builds use epoll; other platforms get the curl_multi_poll loop, which
# only this step exercises. It builds just the programs the client-labelled
# tests run (ssecat is not one of them).
step "client on the portable loop"
cmake -S . -B build-portable -G Ninja -DCMAKE_BUILD_TYPE=Release -DSSEKIT_WERROR=ON \
  -DSSEKIT_PORTABLE_LOOP=ON -DSSEKIT_BUILD_CLI=OFF >/dev/null
cmake --build build-portable -j"$jobs" \
  --target client_test hpp_test h2_clients interop_client_test
run_ctest --test-dir build-portable -j"$jobs" --output-on-failure -L client

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
