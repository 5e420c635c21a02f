#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 and runs each for SECONDS
# (default 30) on a copy of its seed corpus. Exits non-zero if any target
# crashes; the crashing input is saved in build-fuzz/artifacts/.
#
#   scripts/fuzz.sh          # a short run, as CI does
#   scripts/fuzz.sh 3600     # a long run: one hour per target
#
# Inputs found by a run accumulate in build-fuzz/corpus/<target>/, so long
# runs can be resumed. To keep the ones that add coverage, merge them into
# the committed seeds (libFuzzer copies only inputs that reach new code):
#
#   build-fuzz/fuzz/parser_fuzz -merge=1 fuzz/corpus/parser build-fuzz/corpus/parser
#   build-fuzz/fuzz/roundtrip_fuzz -merge=1 fuzz/corpus/roundtrip build-fuzz/corpus/roundtrip
#
# Keep the committed corpus small (under 200 files and 1 MiB per target);
# to shrink it, merge it into an empty directory and replace it with that.
#
# Reproduce a crash with: build-fuzz/fuzz/<target> build-fuzz/artifacts/<file>
set -euo pipefail

seconds="${1:-30}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
CC="${CC:-clang-14}"
CXX="${CXX:-clang++-14}"

# Optimised but with assertions (no NDEBUG), so the library's own checks run.
CC="$CC" CXX="$CXX" cmake -S "$root" -B "$build" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DSSEKIT_BUILD_FUZZ=ON -DSSEKIT_BUILD_TESTS=OFF -DSSEKIT_BUILD_CLI=OFF \
  -DSSEKIT_BUILD_BENCH=OFF -DSSEKIT_WERROR=ON
targets=(parser roundtrip)
cmake --build "$build" -j1 --target "${targets[@]/%/_fuzz}"

mkdir -p "$build/artifacts"
failed=()
for name in "${targets[@]}"; do
  corpus="$build/corpus/$name"
  mkdir -p "$corpus"
  # Seeds are copied, never fuzzed in place, so a run leaves the tree clean.
  cp -n "$root/fuzz/corpus/$name/"* "$corpus/"
  echo "== ${name}_fuzz for ${seconds}s"
  if ! "$build/fuzz/${name}_fuzz" "$corpus" \
      -dict="$root/fuzz/sse.dict" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$build/artifacts/${name}-" -print_final_stats=1; then
    failed+=("${name}_fuzz")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "crashed: ${failed[*]}; inputs in $build/artifacts/" >&2
  exit 1
fi
echo "no crash"
