"""Fixtures: the fault-injecting server (tests/server) on 127.0.0.1 and
127.0.0.2, started once per session, and its request log."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
import uuid
from typing import Any, Dict, Iterator, List

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "server"))
sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))

from sse_test_server import ServerProcess  # noqa: E402


class Server:
    def __init__(self, proc: ServerProcess) -> None:
        self.proc = proc

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return self.proc.url(path, host)

    @property
    def ca_file(self) -> str:
        return self.proc.ca_file

    def requests(self, key: str) -> List[Dict[str, Any]]:
        """The requests (oldest first) whose query carried key=<key>."""
        with urllib.request.urlopen(self.proc.url("/_requests"), timeout=10) as r:
            log = json.load(r)
        return [q for q in log if q.get("query", {}).get("key") == key]


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with ServerProcess(also_hosts=("127.0.0.2",)) as proc:
        yield Server(proc)


@pytest.fixture(scope="session")
def tls_server() -> Iterator[Server]:
    with ServerProcess(tls=True) as proc:
        yield Server(proc)


@pytest.fixture
def key() -> str:
    """A fresh key for /flaky counters and request-log filtering."""
    return uuid.uuid4().hex[:12]
