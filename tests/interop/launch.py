#!/usr/bin/env python3
"""Starts one of the interoperability servers with the interpreter it needs.

    python3 tests/interop/launch.py --server starlette|better-sse \\
        --ready-file ready.json [--port 0] [--watch-stdin] [--max-lifetime S]

The process replaces itself with the server (the pid stays the same, so a
signal reaches the server), and every option after --server is passed on.
The equivalent direct commands, from the repository root, are:

    .venv/bin/python tests/interop/starlette_server.py --ready-file F ...
    node tests/interop/better_sse_server.mjs --ready-file F ...

Both need scripts/install-deps.sh to have run. From Python, `InteropServer`
starts a server, waits for its ready file and stops it again.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SERVERS = ("starlette", "better-sse")


class MissingDependency(RuntimeError):
    pass


def server_command(name: str) -> list[str]:
    """The argv that runs server `name`, without the server's own options."""
    if name == "starlette":
        python = os.path.join(ROOT, ".venv", "bin", "python")
        if not os.access(python, os.X_OK):
            raise MissingDependency(
                f"{python} is missing: run scripts/install-deps.sh")
        return [python, os.path.join(HERE, "starlette_server.py")]
    if name == "better-sse":
        node = shutil.which("node")
        if node is None:
            raise MissingDependency("node is not on PATH: run scripts/install-deps.sh")
        if not os.path.isdir(os.path.join(HERE, "node_modules", "better-sse")):
            raise MissingDependency(
                "tests/interop/node_modules/better-sse is missing: run scripts/install-deps.sh")
        return [node, os.path.join(HERE, "better_sse_server.mjs")]
    raise ValueError(f"unknown server {name!r}; expected one of {', '.join(SERVERS)}")


class InteropServer:
    """A server process on 127.0.0.1 and a free port, for `with` blocks.

    The server watches its standard input, so it stops even if this process
    dies without calling stop()."""

    def __init__(self, name: str, startup_timeout: float = 20.0):
        self.name = name
        self.port = 0
        self._startup_timeout = startup_timeout
        self._dir = tempfile.mkdtemp(prefix="ssekit-interop-")
        self._proc: subprocess.Popen | None = None
        self.log_path = os.path.join(self._dir, "server.log")

    def start(self) -> "InteropServer":
        ready = os.path.join(self._dir, "ready.json")
        argv = server_command(self.name) + ["--port", "0", "--ready-file", ready,
                                            "--watch-stdin", "--max-lifetime", "600"]
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=log,
                                          stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + self._startup_timeout
        while not os.path.exists(ready):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} server did not start:\n{self.log()}")
            time.sleep(0.02)
        with open(ready, encoding="utf-8") as f:
            self.port = int(json.load(f)["port"])
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "InteropServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(
        description="Starts an interoperability server; other options go to the server.",
        allow_abbrev=False)
    ap.add_argument("--server", required=True, choices=SERVERS)
    args, rest = ap.parse_known_args(argv)
    try:
        cmd = server_command(args.server)
    except MissingDependency as exc:
        print(f"launch.py: {exc}", file=sys.stderr)
        return 2
    os.execv(cmd[0], cmd + rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
