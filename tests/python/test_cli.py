"""python -m ssekit: ssecat's output and exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ssekit", *args], input=stdin,
                          capture_output=True, timeout=30)


def test_prints_events_as_text(server: Any) -> None:
    r = cli(server.url("/events?count=2&type=tick"), "--no-reconnect")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == "[tick] id=1\nevent 1\n\n[tick] id=2\nevent 2\n\n"


def test_prints_json_lines_and_stops_after_max_events(server: Any) -> None:
    r = cli(server.url("/events?count=-1"), "--json", "--max-events", "3")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert lines == [{"event": "message", "data": f"event {i}", "id": str(i)} for i in (1, 2, 3)]


def test_an_http_error_exits_5_with_the_status(server: Any) -> None:
    r = cli(server.url("/status/500"), "--no-reconnect")
    assert r.returncode == 5
    assert b"500" in r.stderr


def test_posts_data_with_headers(server: Any, key: str) -> None:
    r = cli(server.url(f"/events?count=1&key={key}"), "-d", '{"q":1}', "-H", "Content-Type: application/json",
            "--no-reconnect")
    assert r.returncode == 0, r.stderr
    req = server.requests(key)[0]
    assert req["method"] == "POST" and req["body"] == '{"q":1}'
    assert req["header_map"]["content-type"] == "application/json"


def test_parses_a_captured_stream_and_reports_limits() -> None:
    r = cli("--input", "-", stdin=b"data: a\n\nevent: e\nid: 9\ndata: b\n\n")
    assert r.returncode == 0
    assert r.stdout.decode() == "a\n\n[e] id=9\nb\n\n"
    r = cli("--input", "-", "--max-line", "4", stdin=b"data: a\n\nevent: toolong\n\n")
    assert r.returncode == 3
    assert r.stdout.decode() == "a\n\n"
