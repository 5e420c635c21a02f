#!/usr/bin/env bash
# Installs everything ssekit builds and tests with, from Debian's archive, PyPI
# and the npm registry only. Safe to run again: apt, pip and npm skip what is
# present.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_pkgs=(
  build-essential cmake ninja-build pkg-config
  clang-14 libclang-rt-14-dev llvm-14
  libgtest-dev libbenchmark-dev nlohmann-json3-dev
  libcurl4-openssl-dev openssl nghttp2-proxy
  python3 python3-venv python3-dev
)
# A machine may already carry a Node.js build that bundles npm (and conflicts
# with Debian's npm package); only fall back to Debian's when there is none.
command -v node >/dev/null 2>&1 || apt_pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || apt_pkgs+=(npm)

missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm ci reinstalls from scratch: only when the lock file changed since.
npm_ci() {
  [ -f "$1/package-lock.json" ] || return 0
  if [ ! -d "$1/node_modules" ] || [ "$1/package-lock.json" -nt "$1/node_modules" ]; then
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error && touch node_modules)
  fi
}

# JavaScript peers for the benchmarks, pinned in bench/package-lock.json.
npm_ci bench

# Interoperability test servers: sse-starlette in a virtualenv at .venv/ and
# better-sse, pinned in tests/interop/requirements.txt and package-lock.json.
# The Python binding's test tools and benchmark peers go into the same
# virtualenv (tests/python/requirements.txt).
reqs=()
for r in tests/interop/requirements.txt tests/python/requirements.txt; do
  [ -f "$r" ] && reqs+=("$r")
done
if [ "${#reqs[@]}" -gt 0 ]; then
  stamp=.venv/ssekit-requirements.txt
  # A virtualenv whose base interpreter is gone cannot be repaired in place.
  if [ -d .venv ] && ! .venv/bin/python -c '' >/dev/null 2>&1; then
    rm -rf .venv
  fi
  if ! cat "${reqs[@]}" | cmp -s - "$stamp"; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    args=()
    for r in "${reqs[@]}"; do args+=(-r "$r"); done
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-input "${args[@]}"
    cat "${reqs[@]}" > "$stamp"
  fi
fi
npm_ci tests/interop

# Node binding: the build tools of the addon (node-addon-api,
# node-api-headers, node-gyp-build) and TypeScript for the type tests,
# pinned in the root package-lock.json. --ignore-scripts: scripts/test-node.sh
# builds the addon itself.
if [ -f package-lock.json ] && { [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; }; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch node_modules
fi
