#!/usr/bin/env bash
# Builds the Node.js addon from this checkout and runs the Node binding's
# tests (tests/node/*.test.mjs, node:test). Everything the build and the
# tests use comes from the lock files: the root package-lock.json
# (node-addon-api, node-api-headers, node-gyp-build, TypeScript) and
# tests/interop/package-lock.json (better-sse).
# Environment: JOBS (compiler jobs, default 1).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export JOBS="${JOBS:-1}"

# npm ci skips the package's own install script here (--ignore-scripts):
# the addon is built explicitly below, always from the sources.
if [ ! -d node_modules/node-addon-api ] || [ package-lock.json -nt node_modules ]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  touch node_modules
fi
if [ ! -d tests/interop/node_modules/better-sse ]; then
  (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
fi

SSEKIT_BUILD_FROM_SOURCE=1 nice -n 10 node bindings/node/scripts/install.js

node --test --test-reporter=spec --test-concurrency=1 tests/node/*.test.mjs
