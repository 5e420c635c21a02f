#!/usr/bin/env python3
"""Checks that the SSE test server does what its routes promise, so a failing
client test points at the client, not at the fixture.

Run: python3 tests/server/test_sse_test_server.py   (stdlib only)
"""

from __future__ import annotations

import email.utils
import http.client
import json
import os
import signal
import socket
import ssl
import string
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import zlib

# Importing the server module next to this file must not litter the source
# tree with __pycache__.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sse_test_server as sts  # noqa: E402


def parse_sse(data: bytes) -> tuple[list[dict], list[str], str | None]:
    """A small spec-following parser: returns (events, comments, retry)."""
    text = data.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] != "":
        lines = lines[:-1]
    events: list[dict] = []
    comments: list[str] = []
    retry = None
    data_buf: list[str] = []
    etype = ""
    last_id = ""
    for line in lines:
        if line == "":
            if data_buf:
                events.append({"type": etype or "message", "data": "\n".join(data_buf),
                               "id": last_id})
            data_buf, etype = [], ""
            continue
        if line.startswith(":"):
            comments.append(line[1:].lstrip(" "))
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data_buf.append(value)
        elif name == "event":
            etype = value
        elif name == "id" and "\0" not in value:
            last_id = value
        elif name == "retry" and value.isdigit():
            retry = value
    return events, comments, retry


class RawResponse:
    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.complete = False
        self.error: BaseException | None = None

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


class RawClient:
    """A byte-exact HTTP/1.1 client: keeps chunk boundaries and notices a body
    cut short, which http.client hides."""

    def __init__(self, port: int, host: str = "127.0.0.1",
                 tls: ssl.SSLContext | None = None, timeout: float = 5.0) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        self.sock = tls.wrap_socket(sock, server_hostname=host) if tls else sock
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, target: str, method: str = "GET", headers: dict | None = None,
             body: bytes | None = None) -> None:
        lines = [f"{method} {target} HTTP/1.1", "Host: test"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body is not None and not any(k.lower() in ("content-length", "transfer-encoding")
                                        for k in headers or {}):
            lines.append(f"Content-Length: {len(body)}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise EOFError("connection closed")
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError("connection closed")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_head(self, resp: RawResponse) -> None:
        resp.status = int(self._line().split(b" ")[1])
        while line := self._line():
            name, _, value = line.decode("latin-1").partition(":")
            resp.headers[name.lower()] = value.strip()

    def read_chunk(self, resp: RawResponse) -> bytes | None:
        """One body piece; None once the body has ended properly."""
        if resp.headers.get("transfer-encoding") == "chunked":
            size = int(self._line(), 16)
            if size == 0:
                self._line()
                resp.complete = True
                return None
            data = self._exact(size + 2)[:-2]
        elif "content-length" in resp.headers:
            remaining = int(resp.headers["content-length"]) - len(resp.body)
            if remaining == 0:
                resp.complete = True
                return None
            if not self.buf and not self._fill():
                raise EOFError("connection closed")
            data, self.buf = self.buf[:remaining], self.buf[remaining:]
        else:
            if not self.buf and not self._fill():
                resp.complete = True
                return None
            data, self.buf = self.buf, b""
        resp.chunks.append(data)
        return data

    def response(self, head_only: bool = False) -> RawResponse:
        """Reads a whole response, recording how it ended in `error`."""
        resp = RawResponse()
        self.read_head(resp)
        if head_only or resp.status in (204, 304):
            resp.complete = True
            return resp
        try:
            while self.read_chunk(resp) is not None:
                pass
        except (EOFError, OSError) as e:
            resp.error = e
        return resp


class ServerTestCase(unittest.TestCase):
    server: sts.ServerProcess

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = sts.ServerProcess(also_hosts=("127.0.0.2",))
        cls.server.start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def raw(self, target: str, **kw) -> RawResponse:
        client = RawClient(self.server.port)
        try:
            client.send(target, **kw)
            return client.response()
        finally:
            client.close()

    def get(self, target: str, method: str = "GET", headers: dict | None = None,
            body: bytes | None = None, host: str = "127.0.0.1"
            ) -> tuple[http.client.HTTPResponse, bytes]:
        conn = http.client.HTTPConnection(host, self.server.port, timeout=5)
        try:
            conn.request(method, target, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp, resp.read()
        finally:
            conn.close()

    def requests(self, **query: str) -> list[dict]:
        target = "/_requests"
        if query:
            target += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        return json.loads(self.get(target)[1])


class EventStreamTests(ServerTestCase):
    def test_events_headers_fields_and_comments(self) -> None:
        resp, body = self.get("/events?count=4&retry=250&type=tick&comment_every=2"
                              "&id_start=10&data=n%3D{id}")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.getheader("Content-Type"), "text/event-stream")
        self.assertEqual(resp.getheader("Cache-Control"), "no-cache")
        self.assertEqual(resp.getheader("Transfer-Encoding"), "chunked")
        events, comments, retry = parse_sse(body)
        self.assertEqual(retry, "250")
        self.assertEqual([(e["id"], e["type"], e["data"]) for e in events],
                         [(str(i), "tick", f"n={i}") for i in range(10, 14)])
        self.assertEqual(comments, ["keep-alive", "keep-alive"])

    def test_events_defaults_multiline_and_done(self) -> None:
        _, body = self.get("/events?lines=2&ids=0&done=1&count=2")
        events, _, _ = parse_sse(body)
        self.assertEqual([e["data"] for e in events],
                         ["event 1\nevent 1", "event 2\nevent 2", "[DONE]"])
        self.assertNotIn(b"id:", body)

    def test_last_event_id_header_resumes_after_that_id(self) -> None:
        resp, body = self.get("/events?count=5", headers={"Last-Event-ID": "3"})
        self.assertEqual(resp.getheader("X-Last-Event-ID-Seen"), "3")
        self.assertEqual([e["id"] for e in parse_sse(body)[0]], ["4", "5"])

    def test_last_event_id_query_and_header_precedence(self) -> None:
        _, body = self.get("/events?count=5&last_event_id=2")
        self.assertEqual([e["id"] for e in parse_sse(body)[0]], ["3", "4", "5"])
        _, body = self.get("/events?count=5&last_event_id=2", headers={"Last-Event-ID": "4"})
        self.assertEqual([e["id"] for e in parse_sse(body)[0]], ["5"])
        _, body = self.get("/events?count=2", headers={"Last-Event-ID": "not-a-number"})
        self.assertEqual([e["id"] for e in parse_sse(body)[0]], ["1", "2"])

    def test_eol_and_bom_options(self) -> None:
        _, body = self.get("/events?count=1&eol=crlf&bom=1")
        self.assertEqual(body, b"\xef\xbb\xbfid: 1\r\ndata: event 1\r\n\r\n")
        _, body = self.get("/events?count=1&eol=cr")
        self.assertEqual(body, b"id: 1\rdata: event 1\r\r")

    def test_close_framing_ends_body_with_connection(self) -> None:
        resp = self.raw("/events?count=2&framing=close")
        self.assertNotIn("transfer-encoding", resp.headers)
        self.assertEqual(resp.headers["connection"], "close")
        self.assertTrue(resp.complete)
        self.assertEqual(len(parse_sse(resp.body)[0]), 2)

    def test_end_hang_keeps_connection_open(self) -> None:
        client = RawClient(self.server.port, timeout=0.3)
        try:
            client.send("/events?count=1&end=hang")
            resp = RawResponse()
            client.read_head(resp)
            self.assertEqual(client.read_chunk(resp), b"id: 1\ndata: event 1\n\n")
            with self.assertRaises(socket.timeout):
                client.read_chunk(resp)
        finally:
            client.close()

    def test_keepalive_reuses_connection(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        try:
            conn.request("GET", "/events?count=1")
            first = conn.getresponse()
            first.read()
            local = conn.sock.getsockname()
            conn.request("GET", "/events?count=1")
            second = conn.getresponse()
            self.assertEqual(parse_sse(second.read())[0][0]["data"], "event 1")
            self.assertEqual(conn.sock.getsockname(), local)
        finally:
            conn.close()

    def test_head_sends_headers_only(self) -> None:
        client = RawClient(self.server.port)
        try:
            client.send("/events?count=3", method="HEAD")
            resp = client.response(head_only=True)
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.headers["content-type"], "text/event-stream")
            client.send("/events?count=1")
            self.assertEqual(client.response().body, b"id: 1\ndata: event 1\n\n")
        finally:
            client.close()


class FaultTests(ServerTestCase):
    def test_drop_cuts_mid_event(self) -> None:
        resp = self.raw("/drop?after=2&id_start=7")
        self.assertEqual(resp.status, 200)
        self.assertFalse(resp.complete)
        self.assertIsInstance(resp.error, EOFError)
        self.assertTrue(resp.body.endswith(b"\n\nid: 9\ndata: partial"), resp.body)
        self.assertEqual([e["id"] for e in parse_sse(resp.body)[0]], ["7", "8"])

    def test_drop_partial_event_and_resume(self) -> None:
        resp = self.raw("/drop?after=1&partial=event", headers={"Last-Event-ID": "4"})
        self.assertFalse(resp.complete)
        self.assertTrue(resp.body.endswith(b"id: 5\ndata: event 5\n\nid: 6\ndata: partial\n"))

    def test_drop_with_reset(self) -> None:
        client = RawClient(self.server.port)
        try:
            client.send("/drop?after=1&how=rst")
            resp = client.response()
        finally:
            client.close()
        self.assertFalse(resp.complete)
        self.assertIsInstance(resp.error, ConnectionResetError)

    def test_stall_goes_silent_then_ends(self) -> None:
        client = RawClient(self.server.port, timeout=0.25)
        try:
            client.send("/stall?after=1&ms=700")
            resp = RawResponse()
            client.read_head(resp)
            self.assertEqual(client.read_chunk(resp), b"id: 1\ndata: event 1\n\n")
            started = time.monotonic()
            with self.assertRaises(socket.timeout):
                client.read_chunk(resp)
            client.sock.settimeout(3)
            while client.read_chunk(resp) is not None:
                pass
            self.assertGreater(time.monotonic() - started, 0.3)
            self.assertTrue(resp.complete)
        finally:
            client.close()

    def test_stall_heartbeat_and_resume(self) -> None:
        resp = self.raw("/stall?after=1&ms=300&heartbeat_ms=100&then=resume&count=3")
        events, comments, _ = parse_sse(resp.body)
        self.assertEqual([e["id"] for e in events], ["1", "2", "3"])
        self.assertGreaterEqual(len(comments), 2)
        self.assertTrue(resp.complete)

    def test_silent_sends_nothing_then_closes(self) -> None:
        client = RawClient(self.server.port, timeout=3)
        try:
            client.send("/silent?ms=300")
            started = time.monotonic()
            self.assertEqual(client.sock.recv(100), b"")
            self.assertGreater(time.monotonic() - started, 0.2)
        finally:
            client.close()

    def test_flaky_fails_per_key_then_streams(self) -> None:
        self.get("/_reset")
        statuses = [self.get("/flaky?fail=2&key=a&count=1")[0].status for _ in range(3)]
        self.assertEqual(statuses, [500, 500, 200])
        resp, body = self.get("/flaky?fail=1&key=b&status=503&retry_after=1")
        self.assertEqual((resp.status, resp.getheader("Retry-After")), (503, "1"))
        resp, body = self.get("/flaky?fail=1&key=b&count=2")
        self.assertEqual(resp.getheader("Content-Type"), "text/event-stream")
        self.assertEqual(len(parse_sse(body)[0]), 2)
        with self.assertRaises(http.client.RemoteDisconnected):
            self.get("/flaky?fail=1&key=c&how=drop")
        self.assertEqual(self.get("/flaky?fail=1&key=c&how=drop")[0].status, 200)

    def test_client_disconnect_mid_stream_is_harmless(self) -> None:
        for rst in (False, True):
            client = RawClient(self.server.port)
            client.send("/events?count=-1&interval_ms=1")
            resp = RawResponse()
            client.read_head(resp)
            client.read_chunk(resp)
            if rst:
                client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            client.close()
        time.sleep(0.1)
        self.assertIsNone(self.server.proc.poll())
        self.assertEqual(self.get("/")[0].status, 200)


class StatusAndRedirectTests(ServerTestCase):
    def test_status_with_retry_after_seconds(self) -> None:
        resp, body = self.get("/status/503?retry_after=7")
        self.assertEqual(resp.status, 503)
        self.assertEqual(resp.getheader("Retry-After"), "7")
        self.assertEqual(body, b"status 503\n")

    def test_status_with_retry_after_date(self) -> None:
        resp, _ = self.get("/status/429?retry_after_in=30")
        self.assertEqual(resp.status, 429)
        when = email.utils.parsedate_to_datetime(resp.getheader("Retry-After")).timestamp()
        self.assertAlmostEqual(when - time.time(), 30, delta=3)

    def test_status_custom_and_invalid(self) -> None:
        resp, body = self.get("/status/201?ctype=text/event-stream&body=data:%20x%0A%0A")
        self.assertEqual((resp.status, resp.getheader("Content-Type"), body),
                         (201, "text/event-stream", b"data: x\n\n"))
        self.assertEqual(self.get("/status/99")[0].status, 400)

    def test_204(self) -> None:
        resp, body = self.get("/204")
        self.assertEqual((resp.status, body), (204, b""))
        resp, body = self.get("/status/204")
        self.assertEqual((resp.status, body), (204, b""))

    def test_wrong_content_type(self) -> None:
        resp, body = self.get("/ctype")
        self.assertEqual((resp.status, resp.getheader("Content-Type")), (200, "text/plain"))
        self.assertEqual(len(parse_sse(body)[0]), 1)
        resp, _ = self.get("/ctype?value=application/json")
        self.assertEqual(resp.getheader("Content-Type"), "application/json")
        resp, _ = self.get("/ctype?value=")
        self.assertIsNone(resp.getheader("Content-Type"))

    def test_redirect_statuses_and_locations(self) -> None:
        for status in (301, 302, 303, 307, 308):
            resp, _ = self.get(f"/redirect?status={status}&to=/events%3Fcount%3D1")
            self.assertEqual((resp.status, resp.getheader("Location")),
                             (status, "/events?count=1"))
        resp, _ = self.get("/redirect")
        self.assertEqual(resp.status, 302)
        self.assertEqual(resp.getheader("Location"), f"http://127.0.0.1:{self.server.port}/echo")
        resp, _ = self.get("/redirect?status=307&to_host=127.0.0.2&to_path=/events")
        self.assertEqual(resp.getheader("Location"), f"http://127.0.0.2:{self.server.port}/events")

    def test_second_address_serves_and_is_recorded(self) -> None:
        self.get("/_reset")
        resp, body = self.get("/echo", host="127.0.0.2")
        self.assertEqual(resp.status, 200)
        [record] = self.requests(path="/echo")
        self.assertEqual(record["server"], f"127.0.0.2:{self.server.port}")

    def test_bad_parameter_and_unknown_route(self) -> None:
        resp, body = self.get("/events?count=many")
        self.assertEqual(resp.status, 400)
        self.assertIn(b"count", body)
        self.assertEqual(self.get("/nope")[0].status, 404)


class PayloadTests(ServerTestCase):
    def test_bytewise_writes_one_byte_per_chunk(self) -> None:
        resp = self.raw("/bytewise?count=2&eol=crlf&delay_ms=0")
        self.assertTrue(resp.complete)
        self.assertEqual(resp.body, b"id: 1\r\ndata: event 1\r\n\r\nid: 2\r\ndata: event 2\r\n\r\n")
        self.assertEqual({len(c) for c in resp.chunks}, {1})

    def test_oversize_single_line(self) -> None:
        _, body = self.get("/oversize?bytes=300000")
        events, _, _ = parse_sse(body)
        self.assertEqual(len(events[0]["data"]), 300000)
        self.assertEqual(set(events[0]["data"]), {"x"})
        self.assertEqual(events[1]["data"], "after")

    def test_oversize_many_lines_and_other_fields(self) -> None:
        _, body = self.get("/oversize?bytes=1000&line_bytes=300&tail=0")
        events, _, _ = parse_sse(body)
        self.assertEqual([len(x) for x in events[0]["data"].split("\n")], [300, 300, 300, 100])
        self.assertEqual(len(events), 1)
        _, body = self.get("/oversize?bytes=5000&field=comment&fill=c")
        events, comments, _ = parse_sse(body)
        self.assertEqual(comments, ["c" * 5000])
        self.assertEqual([e["data"] for e in events], ["big", "after"])

    def test_invalid_utf8_pieces_are_split_as_documented(self) -> None:
        resp = self.raw("/invalid-utf8?delay_ms=0")
        expected_pieces = [p for _, pieces in sts.INVALID_UTF8_EVENTS for p in pieces]
        self.assertEqual(resp.chunks, expected_pieces)
        events, _, _ = parse_sse(resp.body)
        self.assertEqual({e["id"]: e["data"] for e in events}, sts.INVALID_UTF8_EXPECTED)
        self.assertTrue(any(b"\xe2\x82" in p and b"\xac" not in p for p in expected_pieces))

    def test_gzip_when_accepted(self) -> None:
        client = RawClient(self.server.port)
        try:
            client.send("/gzip?count=3", headers={"Accept-Encoding": "deflate, gzip"})
            resp = RawResponse()
            client.read_head(resp)
            self.assertEqual(resp.headers["content-encoding"], "gzip")
            decoder = zlib.decompressobj(wbits=31)
            # Each event is sync-flushed, so it decodes before the stream ends.
            first = decoder.decompress(client.read_chunk(resp))
            self.assertEqual(first, b"id: 1\ndata: event 1\n\n")
            while client.read_chunk(resp) is not None:
                pass
        finally:
            client.close()
        whole = zlib.decompress(resp.body, wbits=31)
        self.assertEqual([e["id"] for e in parse_sse(whole)[0]], ["1", "2", "3"])

    def test_gzip_identity_unless_accepted_or_forced(self) -> None:
        resp, body = self.get("/gzip?count=1", headers={"Accept-Encoding": "gzip;q=0"})
        self.assertIsNone(resp.getheader("Content-Encoding"))
        self.assertEqual(body, b"id: 1\ndata: event 1\n\n")
        resp, body = self.get("/gzip?count=1&force=1")
        self.assertEqual(resp.getheader("Content-Encoding"), "gzip")
        self.assertEqual(zlib.decompress(body, wbits=31), b"id: 1\ndata: event 1\n\n")

    def test_w1_workload_shape(self) -> None:
        _, body = self.get("/w1?count=25&done=1")
        events, _, _ = parse_sse(body)
        self.assertEqual(len(events), 26)
        self.assertEqual(events[-1]["data"], "[DONE]")
        for n, event in enumerate(events[:-1], start=1):
            msg = json.loads(event["data"])
            self.assertEqual(msg["id"], "chatcmpl-1")
            content = msg["choices"][0]["delta"]["content"]
            self.assertTrue(1 <= len(content) <= 8 and set(content) <= set(string.ascii_letters))
            self.assertEqual(event["id"], str(n - n % 10) if n >= 10 else "")
        self.assertEqual(body.count(b"id: "), 2)
        _, again = self.get("/w1?count=25&done=1")
        self.assertEqual(again, body)

    def test_ticks_carry_monotonic_send_time(self) -> None:
        before = time.monotonic_ns()
        _, body = self.get("/ticks?count=5&interval_ms=2")
        after = time.monotonic_ns()
        stamps = [int(e["data"]) for e in parse_sse(body)[0]]
        self.assertEqual(len(stamps), 5)
        self.assertEqual(stamps, sorted(stamps))
        self.assertTrue(before <= stamps[0] and stamps[-1] <= after)
        self.assertGreaterEqual(stamps[-1] - stamps[0], 4 * 2_000_000)


class EchoAndRecordTests(ServerTestCase):
    def test_echo_reflects_method_headers_and_body(self) -> None:
        resp, body = self.get("/echo?x=1", method="POST", body=b'{"prompt":"hi"}\nline2',
                              headers={"Authorization": "Bearer t", "Last-Event-ID": "42",
                                       "Content-Type": "application/json"})
        self.assertEqual(resp.getheader("Content-Type"), "text/event-stream")
        got = {e["type"]: e["data"] for e in parse_sse(body)[0]}
        self.assertEqual(got["method"], "POST")
        self.assertEqual(got["target"], "/echo?x=1")
        headers = json.loads(got["headers"])
        self.assertEqual(headers["authorization"], "Bearer t")
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(got["last_event_id"], "42")
        self.assertEqual(got["body_length"], "21")
        self.assertEqual(got["body"], '{"prompt":"hi"}\nline2')

    def test_echo_chunked_request_body_and_expect_continue(self) -> None:
        client = RawClient(self.server.port)
        try:
            client.send("/echo", method="POST",
                        headers={"Transfer-Encoding": "chunked", "Expect": "100-continue"})
            self.assertEqual(client._line(), b"HTTP/1.1 100 Continue")
            self.assertEqual(client._line(), b"")
            client.sock.sendall(b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n")
            resp = client.response()
        finally:
            client.close()
        got = {e["type"]: e["data"] for e in parse_sse(resp.body)[0]}
        self.assertEqual((got["body"], got["body_length"], got["last_event_id"]),
                         ("hello world", "11", ""))

    def test_requests_log_and_reset(self) -> None:
        self.get("/_reset")
        self.get("/events?count=1", headers={"Last-Event-ID": "9", "Cookie": "a=b"})
        self.get("/echo", method="PUT", body=b"abc")
        log = self.requests()
        self.assertEqual([(r["method"], r["path"]) for r in log],
                         [("GET", "/events"), ("PUT", "/echo")])
        self.assertEqual(log[0]["header_map"]["last-event-id"], "9")
        self.assertIn(["Cookie", "a=b"], log[0]["headers"])
        self.assertEqual(log[0]["query"], {"count": "1"})
        self.assertEqual((log[1]["body_length"], log[1]["body"]), (3, "abc"))
        self.assertTrue(log[0]["client"].startswith("127.0.0.1:"))
        self.assertFalse(log[0]["tls"])
        self.assertEqual(len(self.requests(since=str(log[0]["seq"]))), 1)
        self.get("/_reset")
        self.assertEqual(self.requests(), [])

    def test_echo_set_cookie_and_no_client_cert_event_without_tls(self) -> None:
        resp, body = self.get("/echo?set_cookie=" + "sid%3Dabc%3B%20Path%3D%2F")
        self.assertEqual(resp.getheader("Set-Cookie"), "sid=abc; Path=/")
        types = [e["type"] for e in parse_sse(body)[0]]
        self.assertEqual(types, ["method", "target", "headers", "last_event_id",
                                 "body_length", "body"])
        resp, _ = self.get("/echo")
        self.assertIsNone(resp.getheader("Set-Cookie"))

    def test_absolute_form_target_is_routed_by_path(self) -> None:
        target = "http://proxy-test.invalid/echo?x=1"
        self.get("/_reset")
        resp = self.raw(target)
        self.assertEqual(resp.status, 200)
        got = {e["type"]: e["data"] for e in parse_sse(resp.body)[0]}
        self.assertEqual(got["target"], target)
        [record] = self.requests(path="/echo")
        self.assertEqual((record["target"], record["path"], record["query"]),
                         (target, "/echo", {"x": "1"}))

    def test_request_body_limit(self) -> None:
        resp = self.raw("/echo", method="POST",
                        headers={"Content-Length": str(sts.DEFAULT_MAX_BODY + 1)}, body=b"")
        self.assertEqual(resp.status, 413)


class TlsTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.server = sts.ServerProcess(tls=True, also_hosts=("127.0.0.2",))
        cls.server.start()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def test_handshake_with_generated_ca(self) -> None:
        self.assertTrue(self.server.info["tls"])
        self.assertTrue(os.path.isfile(self.server.ca_file))
        ctx = ssl.create_default_context(cafile=self.server.ca_file)
        for host in ("127.0.0.1", "127.0.0.2", "localhost"):
            conn = http.client.HTTPSConnection(host, self.server.port, context=ctx, timeout=5)
            try:
                conn.request("GET", "/events?count=2")
                resp = conn.getresponse()
                self.assertEqual(resp.status, 200)
                self.assertEqual(len(parse_sse(resp.read())[0]), 2)
            finally:
                conn.close()
        resp, _ = self._redirect(ctx)
        self.assertEqual(resp.getheader("Location"),
                         f"https://127.0.0.2:{self.server.port}/echo")

    def test_alpn_picks_http11_over_h2(self) -> None:
        ctx = ssl.create_default_context(cafile=self.server.ca_file)
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        client = RawClient(self.server.port, tls=ctx)
        try:
            self.assertEqual(client.sock.selected_alpn_protocol(), "http/1.1")
        finally:
            client.close()

    def _redirect(self, ctx: ssl.SSLContext) -> tuple[http.client.HTTPResponse, bytes]:
        conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=ctx, timeout=5)
        try:
            conn.request("GET", "/redirect?to_host=127.0.0.2")
            resp = conn.getresponse()
            return resp, resp.read()
        finally:
            conn.close()

    def test_client_certificate_is_optional_and_its_cn_echoed(self) -> None:
        info = self.server.info
        self.assertTrue(os.path.isfile(info["client_cert"]))
        self.assertTrue(os.path.isfile(info["client_key"]))
        with_cert = ssl.create_default_context(cafile=self.server.ca_file)
        with_cert.load_cert_chain(info["client_cert"], info["client_key"])
        without = ssl.create_default_context(cafile=self.server.ca_file)
        for ctx, want in ((with_cert, sts.CLIENT_CERT_CN), (without, "")):
            client = RawClient(self.server.port, tls=ctx)
            try:
                client.send("/echo")
                events = parse_sse(client.response().body)[0]
            finally:
                client.close()
            got = {e["type"]: e["data"] for e in events}
            self.assertEqual(got["client_cert"], want)
            self.assertEqual(events[-1]["type"], "client_cert")

    def test_untrusted_without_ca(self) -> None:
        ctx = ssl.create_default_context()
        with self.assertRaises(ssl.SSLCertVerificationError):
            self._redirect(ctx)
        ctx = ssl.create_default_context(cafile=self.server.ca_file)
        client = RawClient(self.server.port, tls=ctx)
        try:
            client.send("/_requests")
            records = json.loads(client.response().body)
        finally:
            client.close()
        self.assertTrue(records and all(r["tls"] for r in records))


class LifecycleTests(unittest.TestCase):
    def test_ready_line_and_sigterm(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            ready = os.path.join(tmp, "ready.json")
            proc = subprocess.Popen([sys.executable, sts.__file__, "--port", "0",
                                     "--ready-file", ready],
                                    stdout=subprocess.PIPE, text=True)
            try:
                deadline = time.monotonic() + 10
                while not os.path.exists(ready) and proc.poll() is None:
                    self.assertLess(time.monotonic(), deadline, "server never became ready")
                    time.sleep(0.01)
                line = proc.stdout.readline()
                with open(ready, encoding="utf-8") as f:
                    self.assertEqual(f.read(), line)
                info = json.loads(line)
                self.assertEqual((info["tls"], info["ca_file"], info["client_cert"],
                                  info["client_key"]), (False, "", "", ""))
                stream = RawClient(info["port"])
                stream.send("/events?count=-1&interval_ms=5")
                stream.read_head(RawResponse())
                started = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(5), 0)
                self.assertLess(time.monotonic() - started, 2.0)
                stream.close()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                proc.stdout.close()

    def test_stdin_eof_stops_server(self) -> None:
        server = sts.ServerProcess()
        server.start()
        try:
            assert server.proc is not None and server.proc.stdin is not None
            server.proc.stdin.close()
            self.assertEqual(server.proc.wait(5), 0)
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
