#!/usr/bin/env bash
# Installs everything ssekit builds and tests with, from Debian's archive and
# the npm registry only. Safe to run again: apt and npm skip what is present.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_pkgs=(
  build-essential cmake ninja-build pkg-config
  clang-14 libclang-rt-14-dev llvm-14
  libgtest-dev libbenchmark-dev nlohmann-json3-dev
  libcurl4-openssl-dev openssl
  python3
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

# JavaScript peers for the benchmarks, pinned in bench/package-lock.json.
if [ -f bench/package.json ]; then
  (cd bench && npm ci --no-audit --no-fund --loglevel=error)
fi
