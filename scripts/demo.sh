#!/usr/bin/env bash
# The main job: builds ssecat and streams from the demo SSE server it starts
# inside itself on 127.0.0.1 (ticks and a counter that resumes from
# Last-Event-ID across the server's forced reconnects). Extra arguments go
# to ssecat, e.g. scripts/demo.sh --json or scripts/demo.sh --max-events 0.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh >/dev/null
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release --target ssecat >/dev/null
exec build-release/tools/ssecat/ssecat --demo --stats "$@"
