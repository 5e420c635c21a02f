#!/usr/bin/env bash
# Builds the Python package the two ways users get it and runs its tests:
#   1. python -m build: an sdist, then a wheel built from that sdist alone
#      (so the sdist is proven complete), installed into .venv/;
#   2. the pytest suite (tests/python) against that installed wheel:
#      parser cases, the fault-injecting server, sse-starlette and
#      better-sse, asyncio, Ctrl-C, GC, exit, fork, leaks, mypy --strict.
# `pip install .` (the README's command) is the same build from the tree.
# Needs scripts/install-deps.sh to have run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
py=.venv/bin/python
dist=build-python/dist

printf '\n==> python: sdist and wheel (python -m build)\n'
rm -rf "$dist"
CMAKE_BUILD_PARALLEL_LEVEL="${JOBS:-$(nproc)}" \
  "$py" -m build --outdir "$dist" . 2>&1 | grep -E '^(Successfully|ERROR|error)' || true
ls "$dist"/ssekit-*.tar.gz "$dist"/ssekit-*.whl >/dev/null
"$py" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$dist"/ssekit-*.whl

printf '\n==> python: tests\n'
# From outside the tree, so `import ssekit` is the installed package.
cd "$root/tests/python"
"$root/$py" -m pytest -q -p no:cacheprovider "$@"
