#!/usr/bin/env python3
"""Checks the raw bytes the interoperability servers send, so that a failing
client test points at the client, not at a server or its setup.

Run: python3 tests/interop/test_servers_smoke.py   (stdlib only; the servers
need scripts/install-deps.sh: .venv/ for sse-starlette, node_modules/ for
better-sse).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from urllib.parse import quote

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from launch import InteropServer, server_command  # noqa: E402

TIMEOUT = 10


def event_for(i: int) -> tuple[str, str]:
    """The documented (type, data) of numbered event i (README.md)."""
    if i % 3 == 1:
        return "tick", f"tick {i}"
    if i % 3 == 2:
        return "multi", f"first line of {i}\nsecond line\n\nfourth line after an empty one"
    return "unicode", f"héllo wörld ✓ 日本語 🚀 {i}"


def expected(first: int, last: int) -> list[dict]:
    out = []
    for i in range(first, last + 1):
        etype, data = event_for(i)
        out.append({"type": etype, "data": data, "id": str(i)})
    return out


def parse_sse(body: bytes) -> list[tuple]:
    """A small parser following the WHATWG rules. Returns, in stream order,
    ("event", {type, data, id}), ("comment", text) and ("retry", ms) items."""
    text = body.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines.pop()  # the text after the last line ending is an unfinished line
    items: list[tuple] = []
    data: list[str] = []
    etype, last_id = "", ""
    for line in lines:
        if line == "":
            if data:
                items.append(("event", {"type": etype or "message",
                                        "data": "\n".join(data), "id": last_id}))
            data, etype = [], ""
            continue
        if line.startswith(":"):
            items.append(("comment", line[1:]))
            continue
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            etype = value
        elif name == "id" and "\0" not in value:
            last_id = value
        elif name == "retry" and value.isdigit():
            items.append(("retry", int(value)))
    return items


def events_of(items: list[tuple]) -> list[dict]:
    return [v for k, v in items if k == "event"]


class ServerChecks:
    """The checks every server must pass; subclasses name the server."""

    SERVER = ""
    server: InteropServer

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = InteropServer(cls.SERVER).start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def request(self, path: str, method: str = "GET", headers: dict | None = None,
                body: bytes | None = None) -> tuple[http.client.HTTPResponse, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=TIMEOUT)
        self.addCleanup(conn.close)
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp, resp.read()

    def assert_event_stream(self, resp: http.client.HTTPResponse) -> None:
        self.assertEqual(resp.status, 200)
        ctype = resp.getheader("Content-Type", "")
        self.assertEqual(ctype.split(";")[0].strip(), "text/event-stream", ctype)
        self.assertIn("no-store", resp.getheader("Cache-Control", ""))

    def test_stream_events_in_order(self) -> None:
        resp, body = self.request("/stream?count=6")
        self.assert_event_stream(resp)
        self.assertEqual(events_of(parse_sse(body)), expected(1, 6))

    def test_non_ascii_data_is_utf8_on_the_wire(self) -> None:
        _, body = self.request("/stream?count=3")
        self.assertIn("héllo wörld ✓ 日本語 🚀 3".encode("utf-8"), body)

    def test_multi_line_data_uses_one_field_per_line(self) -> None:
        _, body = self.request("/stream?count=2")
        lines = body.replace(b"\r\n", b"\n").split(b"\n")
        data_lines = [ln for ln in lines if ln.startswith(b"data:")]
        self.assertEqual([ln.split(b":", 1)[1].lstrip(b" ") for ln in data_lines],
                         [b"tick 1", b"first line of 2", b"second line", b"",
                          b"fourth line after an empty one"])

    def test_resume_from_last_event_id_header(self) -> None:
        resp, body = self.request("/stream?count=6", headers={"Last-Event-ID": "4"})
        self.assert_event_stream(resp)
        self.assertEqual(resp.getheader("X-Last-Event-ID-Seen"), "4")
        self.assertEqual(events_of(parse_sse(body)), expected(5, 6))

    def test_resume_from_query_parameter(self) -> None:
        _, body = self.request("/stream?count=5&lastEventId=3")
        self.assertEqual(events_of(parse_sse(body)), expected(4, 5))

    def test_non_numeric_last_event_id_starts_over(self) -> None:
        resp, body = self.request("/stream?count=2", headers={"Last-Event-ID": "abc"})
        self.assertEqual(resp.getheader("X-Last-Event-ID-Seen"), "abc")
        self.assertEqual(events_of(parse_sse(body)), expected(1, 2))

    def test_retry_parameter_is_sent_before_the_events_end(self) -> None:
        _, body = self.request("/stream?count=2&retry=150")
        self.assertIn(("retry", 150), parse_sse(body))

    def test_ping_sends_comments_between_events(self) -> None:
        _, body = self.request("/ping?count=2&gap_ms=400&ping_ms=100")
        items = parse_sse(body)
        self.assertEqual(events_of(items),
                         [{"type": "tick", "data": "tick 1", "id": "1"},
                          {"type": "tick", "data": "tick 2", "id": "2"}])
        first, second = [n for n, (k, _) in enumerate(items) if k == "event"]
        between = [k for k, _ in items[first + 1:second]]
        self.assertGreaterEqual(between.count("comment"), 2, items)

    def test_post_streams_tokens_then_done(self) -> None:
        prompt = "Explain Server-Sent Events to a café owner"
        resp, body = self.request("/post", "POST", {"Content-Type": "application/json"},
                                  json.dumps({"prompt": prompt}).encode())
        self.assert_event_stream(resp)
        events = events_of(parse_sse(body))
        self.assertEqual(events[-1], {"type": "message", "data": "[DONE]", "id": ""})
        tokens = [json.loads(e["data"]) for e in events[:-1]]
        self.assertEqual([t["index"] for t in tokens], list(range(len(tokens))))
        self.assertEqual("".join(t["token"] for t in tokens), prompt)
        self.assertEqual(len(tokens), len(prompt.split(" ")))
        self.assertTrue(all(e["type"] == "message" and e["id"] == "" for e in events))
        self.assertNotIn(b"id:", body)
        self.assertIn('"token":"café "'.encode(), body)

    def test_post_rejects_get_and_bad_json(self) -> None:
        resp, _ = self.request("/post")
        self.assertEqual(resp.status, 405)
        resp, _ = self.request("/post", "POST", {"Content-Type": "application/json"}, b"{")
        self.assertEqual(resp.status, 400)

    def test_close_after_resumes_until_204(self) -> None:
        seen: list[dict] = []
        last_id = None
        for _ in range(3):
            headers = {} if last_id is None else {"Last-Event-ID": last_id}
            resp, body = self.request("/close-after?n=2&total=5", headers=headers)
            self.assert_event_stream(resp)
            events = events_of(parse_sse(body))
            self.assertLessEqual(len(events), 2)
            seen += events
            last_id = events[-1]["id"]
        self.assertEqual(seen, expected(1, 5))
        resp, body = self.request("/close-after?n=2&total=5", headers={"Last-Event-ID": "5"})
        self.assertEqual((resp.status, body), (204, b""))

    def test_raw_response_is_chunked_http11(self) -> None:
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=TIMEOUT) as s:
            # better-sse answers `Connection: keep-alive` whatever the request
            # says, so the end of the body is the last chunk, not a close.
            s.sendall(b"GET /stream?count=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Accept: text/event-stream\r\n\r\n")
            raw = b""
            while not raw.endswith(b"\r\n0\r\n\r\n"):
                chunk = s.recv(65536)
                self.assertTrue(chunk, raw)
                raw += chunk
        head, _, body = raw.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertIn(b"transfer-encoding: chunked", head.lower())
        self.assertTrue(body.endswith(b"0\r\n\r\n"), body[-20:])
        self.assertIn(b"tick 1", body)

    def test_client_leaving_an_endless_stream_leaves_the_server_healthy(self) -> None:
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=TIMEOUT) as s:
            s.sendall(b"GET /stream?count=-1&interval_ms=5 HTTP/1.1\r\n"
                      b"Host: 127.0.0.1\r\n\r\n")
            got = b""
            while got.count(b"tick") < 3:
                got += s.recv(65536)
        time.sleep(0.1)
        resp, body = self.request("/health")
        self.assertEqual((resp.status, body), (200, b"ok\n"))

    def test_closing_stdin_stops_a_watching_server(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            ready = os.path.join(tmp, "ready.json")
            proc = subprocess.Popen(
                server_command(self.SERVER) + ["--ready-file", ready, "--watch-stdin"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 20
                while not os.path.exists(ready) and time.monotonic() < deadline:
                    time.sleep(0.02)
                self.assertTrue(os.path.exists(ready))
                proc.stdin.close()
                proc.wait(timeout=5)
            finally:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()


class StarletteServerTest(ServerChecks, unittest.TestCase):
    SERVER = "starlette"

    def test_lines_end_with_crlf_and_fields_have_a_space(self) -> None:
        _, body = self.request("/stream?count=1")
        self.assertEqual(body, b"id: 1\r\nevent: tick\r\ndata: tick 1\r\n\r\n")

    def test_ping_comment_text(self) -> None:
        _, body = self.request("/ping?count=1&gap_ms=250&ping_ms=100")
        comments = [v for k, v in parse_sse(body) if k == "comment"]
        self.assertTrue(comments)
        self.assertTrue(all(c.startswith(" ping - ") for c in comments), comments)


class BetterSseServerTest(ServerChecks, unittest.TestCase):
    SERVER = "better-sse"

    def test_lines_end_with_lf_and_fields_have_no_space(self) -> None:
        _, body = self.request("/stream?count=1")
        self.assertEqual(body, b"retry:2000\n\nevent:tick\nid:1\ndata:tick 1\n\n")

    def test_keep_alive_is_an_empty_comment(self) -> None:
        _, body = self.request("/ping?count=1&gap_ms=250&ping_ms=100")
        self.assertIn(b"\n:\n\n", body)

    def test_broadcast_reaches_every_channel_session(self) -> None:
        conns = []
        for _ in range(3):
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=TIMEOUT)
            self.addCleanup(conn.close)
            conn.request("GET", "/channel")
            resp = conn.getresponse()
            self.assert_event_stream(resp)
            conns.append(resp)
        deadline = time.monotonic() + TIMEOUT
        while json.loads(self.request("/channel/sessions")[1])["sessions"] < 3:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.02)
        _, reply = self.request("/broadcast?msg=" + quote("héllo everyone"))
        reply = json.loads(reply)
        self.assertEqual(reply["sessions"], 3)
        want = {"type": "broadcast", "id": reply["id"],
                "data": json.dumps({"msg": "héllo everyone", "seq": int(reply["id"])},
                                   ensure_ascii=False, separators=(",", ":"))}
        for resp in conns:
            buf = b""
            while not buf.endswith(b"\n\n") or b"event:broadcast" not in buf:
                buf += resp.read1(65536)
            self.assertEqual(events_of(parse_sse(buf)), [want])


if __name__ == "__main__":
    unittest.main(verbosity=2)
