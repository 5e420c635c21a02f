#!/usr/bin/env python3
"""A fault-injecting Server-Sent Events server for ssekit's client tests.

Python 3.11 standard library only (asyncio streams). TLS needs the `openssl`
command-line tool, which generates a throwaway CA and server certificate at
startup.

Starting it
-----------
    python3 sse_test_server.py --port 0 --ready-file ready.json \\
        [--host 127.0.0.1] [--also-host 127.0.0.2] [--tls] [--watch-stdin]

Once every listener is up, one JSON line is written atomically to the ready
file (and printed to stdout):

    {"port": 40123, "tls": false, "ca_file": "", "cert_file": "",
     "client_cert": "", "client_key": "",
     "scheme": "http", "hosts": ["127.0.0.1", "127.0.0.2"], "pid": 4242}

`ca_file` is the PEM file a client trusts (CURLOPT_CAINFO) when `tls` is true;
the certificate names localhost and every listening address. The same CA also
signs a client certificate (`client_cert`, PEM, and its unencrypted key
`client_key`, subject CN `ssekit test client`); the server asks every TLS
client for a certificate but does not require one, and /echo reports the CN
of a verified one. All addresses share one port. SIGTERM or SIGINT stops the
server within a fraction of a second; so does the end of standard input with
`--watch-stdin` (a harness that dies closes the pipe), and `--max-lifetime`
seconds (default 1800, 0 = never).
`ServerProcess` at the bottom of this module does all of this for Python tests.

HTTP
----
HTTP/1.1 with keep-alive (turned off by `--no-keepalive`, a request's
`Connection: close`, or HTTP/1.0). A request target in absolute form
(`GET http://host/echo HTTP/1.1`, as clients send it to a proxy) is routed by
its path, so the server can stand in for an HTTP proxy; /echo and /_requests
show the target as sent. Request bodies may use Content-Length or
chunked encoding; `Expect: 100-continue` is answered. Every method is accepted
on every route; HEAD gets the headers only. Stream bodies are chunked unless
the query says `framing=close` (the body then ends when the connection
closes). Every response carries `X-Request-Seq`, the number under which the
request appears in /_requests.

Event streams (shared parameters)
---------------------------------
/events, /drop, /stall, /ctype, /bytewise, /gzip and /flaky generate events
from these query parameters:

    count=N          events in the whole stream (-1 = endless)
    id_start=K       id of the first event (default 1); events are numbered
                     K, K+1, ...
    ids=0            leave out the `id:` field
    data=TEXT        data of each event, `{id}` replaced by the id
                     (default `event {id}`)
    lines=L          repeat the data line L times (data = L lines joined by LF)
    type=X           `event: X` on each event
    retry=R          a `retry: R` block before the first event
    comment_every=M  a `: keep-alive` comment line after every M events
    interval_ms=T    pause between events
    eol=lf|crlf|cr   line terminator (default lf)
    bom=1            a UTF-8 BOM at the very start of the body
    done=1           a final `data: [DONE]` event (no id)
    end=close|hang   after the last event: end the body (default), or keep the
                     connection open, silent, until the client leaves
    framing=chunked|close

Resuming: a numeric `Last-Event-ID` header (or, when the header is absent, a
`last_event_id` query parameter) L makes the stream continue at id L+1 (never
below id_start); the total is still bounded by id_start+count-1. A
non-numeric value is ignored. The value seen is echoed in the response header
`X-Last-Event-ID-Seen`.

Routes
------
/events          200 text/event-stream; the shared parameters above
                 (count defaults to 5).
/drop?after=N&how=close|rst&partial=line|event|none
                 N events (default 1, numbered as above), then a partial
                 event, then the connection is cut: `how=close` closes
                 without ending a chunked body (FIN), `how=rst` resets it
                 (SO_LINGER 0). `partial=line` (default) sends
                 `id: <next>` LF `data: partial` with no line end,
                 `partial=event` the same lines terminated but without the
                 blank line, `none` nothing. Neither must be dispatched, and
                 `<next>` must not become the last event id.
/stall?after=N&ms=T&heartbeat_ms=H&then=close|resume|drop
                 N events (default 1), then T ms (default 5000) of silence,
                 or of `:` comment lines every H ms if heartbeat_ms is set;
                 then end the body (default), resume the remaining events,
                 or drop the connection. Ends early if the client leaves.
/silent?ms=T     reads the request, answers nothing for T ms (default 5000),
                 then closes the connection (connect / first-byte timeouts).
/status/NNN?retry_after=V&retry_after_in=S&ctype=C&body=B
                 status NNN (200-999) with a text/plain body `status NNN`
                 (or B, with Content-Type C). `retry_after=V` sends
                 `Retry-After: V` verbatim (seconds or an HTTP date);
                 `retry_after_in=S` sends an HTTP date S seconds from now.
                 `header=Name:Value` adds one header; `body_bytes=N` sends
                 a chunked body of N bytes of `e` instead (-1: 64 KiB
                 every 50 ms, never ending).
/204             204 No Content (the server telling the client to stop).
/ctype?value=V   200 with Content-Type V (default text/plain; an empty value
                 sends no Content-Type) and an event-stream body (count
                 defaults to 1) that a client must not dispatch.
/redirect?status=301|302|303|307|308&to=URL
/redirect?status=...&to_host=H&to_path=P
                 a redirect (default 302) to URL (absolute or relative), or
                 to <this scheme>://H:<this port>P (P defaults to /echo) for
                 cross-host tests such as to_host=127.0.0.2. `to` may itself
                 be a percent-encoded /redirect URL to build chains.
/redirect?status=...&location=L
                 the Location header verbatim, even empty (`location=`).
/unterminated?line_end=0|1
                 200 event stream `data: a` LF LF `data: last`, with an LF
                 after it if line_end=1 (default 0) but never the blank
                 line, then a clean end of the body.
/slow-headers?delay_ms=D&unit=byte|line
                 the response head of an event stream (count defaults to 1)
                 written a byte (default) or a header line at a time, D ms
                 apart (default 100), after a few padding header lines; the
                 body then follows at once.
/big-headers?line_bytes=N&lines=K
                 a 200 event stream (count defaults to 1) whose head carries
                 K (default 1) header lines `X-Big-<i>: <N bytes of x>`
                 (default 1 MiB), written lazily in blocks, so a client that
                 gives up early costs nothing.
/bytewise?delay_ms=D
                 the shared event stream (count defaults to 3), each byte in
                 its own write (its own chunk, TCP_NODELAY), D ms apart
                 (default 1).
/oversize?bytes=N&line_bytes=L&field=data|comment|event|id&fill=C&tail=0
                 one event whose `field` line carries N bytes of C (default
                 1 MiB of `x`), generated lazily; for a field other than
                 data, a `data: big` line follows so the event dispatches.
                 With line_bytes=L (data only) the N bytes are spread over
                 data lines of at most L bytes, making a huge event of short
                 lines. Then, unless tail=0, an event `id: after` /
                 `data: after`.
/invalid-utf8?delay_ms=D
                 the events in INVALID_UTF8_EVENTS, written piece by piece
                 (D ms apart, default 20) so multi-byte sequences are split
                 across writes. The decoded data expected for each id
                 (invalid sequences become U+FFFD) is:
                   1 "a\\ufffdb"                   (a lone 0xFF)
                   2 "euro \\u20ac end"            (E2 82 | AC split)
                   3 "smile \\U0001f600"           (F0 | 9F | 98 80 split)
                   4 "cut \\ufffd("                (E2 82 | '(' truncated)
                   5 "overlong \\ufffd\\ufffd"      (C0 AF)
                   6 "surrogate \\ufffd\\ufffd\\ufffd" (ED A0 80)
                   7 "lone \\ufffd\\ufffd"          (80 80)
                   8 "tail \\ufffd"                (F0 9F 98 then LF)
                   9 "ok"
/gzip?force=1    the shared event stream (count defaults to 3) gzip-encoded
                 (Content-Encoding: gzip, a sync flush after every event)
                 when the request's Accept-Encoding allows gzip, or always
                 with force=1; otherwise identity. Vary: Accept-Encoding.
/echo?end=close|hang&set_cookie=C
                 a text/event-stream reflecting the request, one event each
                 (with set_cookie, the response carries `Set-Cookie: C`):
                   event: method         data: GET
                   event: target         data: /echo?x=1
                   event: headers        data: JSON object, lower-case names,
                                         repeated headers joined with ", "
                   event: last_event_id  data: the Last-Event-ID header or ""
                   event: body_length    data: decimal byte count
                   event: body           data: the body (UTF-8, invalid bytes
                                         replaced), one data line per LF-
                                         separated line (CR is not preserved)
                   event: client_cert    data: the subject CN of the client's
                                         verified certificate, or "" (TLS
                                         connections only)
/flaky?fail=N&key=K&how=status|drop|rst&status=S&retry_after=V
                 the first N requests (default 1) for key K (default "")
                 fail: with status S (default 500, optional Retry-After), by
                 closing the connection before any response, or with a reset.
                 Later requests stream like /events. Counters are per key, so
                 parallel tests use distinct keys; /_reset clears them.
/w1?count=N&seed=S&done=1&framing=close
                 the W1 throughput workload: N (default 1000) LLM-token events
                 `data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":
                 {"content":"<1-8 letters>"}}]}`, where event n (1-based)
                 also carries `id: n` when n is a multiple of 10; with done=1 a
                 final `data: [DONE]`. Written in large pre-built buffers; the
                 body of the last (count, seed) up to 128 MiB is cached, so
                 repeated benchmark runs only copy memory.
/ticks?interval_ms=1&count=N
                 N events (default 100, -1 endless) `id: <seq>` /
                 `data: <time.monotonic_ns() just before the write>`. On Linux
                 that is CLOCK_MONOTONIC, the clock of std::chrono::steady_clock,
                 so a client on this machine can compute delivery latency.
/_requests?path=P&since=SEQ
                 JSON array of the requests received (oldest first, the last
                 1000; /_requests and /_reset are not recorded): seq, method,
                 target, path, query, version, headers ([name, value] pairs
                 as sent), header_map (lower-case names), body_length, body
                 (first 4 KiB, UTF-8 with replacement), client ("ip:port"),
                 server (the local "ip:port" the request arrived on, which
                 tells 127.0.0.1 from 127.0.0.2), tls, time_ns (monotonic).
                 Filtered by exact path and/or seq > SEQ.
/_reset          clears the request log and the /flaky counters.
/                a plain-text pointer to this docstring; any other path: 404.

Bad query values get 400 with a one-line reason.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import email.utils
import ipaddress
import itertools
import json
import os
import random
import shutil
import signal
import socket
import ssl
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import zlib
from http import HTTPStatus
from typing import Awaitable, Callable, Iterator

MAX_HEADER_BYTES = 64 * 1024
MAX_HEADER_COUNT = 100
DEFAULT_MAX_BODY = 16 * 1024 * 1024
IDLE_KEEPALIVE_S = 60.0
RECORD_LIMIT = 1000
RECORD_BODY_PREVIEW = 4096
WRITE_BLOCK = 64 * 1024
W1_BATCH_EVENTS = 16384
W1_CACHE_LIMIT = 128 * 1024 * 1024
POLL_S = 0.02

Emit = Callable[[bytes], Awaitable[None]]

INVALID_UTF8_EVENTS: list[tuple[str, list[bytes]]] = [
    ("1", [b"id: 1\ndata: a\xffb\n\n"]),
    ("2", [b"id: 2\ndata: euro \xe2\x82", b"\xac end\n\n"]),
    ("3", [b"id: 3\ndata: smile \xf0", b"\x9f", b"\x98\x80\n\n"]),
    ("4", [b"id: 4\ndata: cut \xe2\x82", b"(\n\n"]),
    ("5", [b"id: 5\ndata: overlong \xc0\xaf\n\n"]),
    ("6", [b"id: 6\ndata: surrogate \xed\xa0\x80\n\n"]),
    ("7", [b"id: 7\ndata: lone \x80\x80\n\n"]),
    ("8", [b"id: 8\ndata: tail \xf0\x9f\x98\n\n"]),
    ("9", [b"id: 9\ndata: ok\n\n"]),
]

INVALID_UTF8_EXPECTED: dict[str, str] = {
    "1": "a\ufffdb",
    "2": "euro \u20ac end",
    "3": "smile \U0001f600",
    "4": "cut \ufffd(",
    "5": "overlong \ufffd\ufffd",
    "6": "surrogate \ufffd\ufffd\ufffd",
    "7": "lone \ufffd\ufffd",
    "8": "tail \ufffd",
    "9": "ok",
}


class BadRequest(Exception):
    """A request the server refuses; becomes an error response."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ClientGone(Exception):
    """The peer closed or reset the connection while we were serving it."""


class HeadDone(Exception):
    """Unwinds a route once the headers of a HEAD response are out."""


class Params:
    """Typed access to query parameters; bad values raise 400."""

    def __init__(self, query: dict[str, str]) -> None:
        self._q = query

    def has(self, name: str) -> bool:
        return name in self._q

    def text(self, name: str, default: str | None = None) -> str | None:
        return self._q.get(name, default)

    def integer(self, name: str, default: int, lo: int | None = None,
                hi: int | None = None) -> int:
        raw = self._q.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw, 10)
        except ValueError:
            raise BadRequest(400, f"{name} must be an integer, got {raw!r}") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise BadRequest(400, f"{name}={value} is out of range [{lo}, {hi}]")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        raw = self._q.get(name)
        if raw is None:
            return default
        return raw.lower() in ("1", "true", "yes", "on", "")

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        raw = self._q.get(name, default)
        if raw not in choices:
            raise BadRequest(400, f"{name} must be one of {', '.join(choices)}")
        return raw


class Request:
    def __init__(self, method: str, target: str, version: str,
                 headers: list[tuple[str, str]]) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = b""
        self.seq = 0
        split = urllib.parse.urlsplit(target)
        self.path = urllib.parse.unquote(split.path) or "/"
        self.query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
        self.params = Params(self.query)

    def header(self, name: str) -> str | None:
        lname = name.lower()
        values = [v for k, v in self.headers if k.lower() == lname]
        return ", ".join(values) if values else None

    def header_map(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for k, v in self.headers:
            key = k.lower()
            out[key] = f"{out[key]}, {v}" if key in out else v
        return out

    def wants_keepalive(self) -> bool:
        tokens = {t.strip().lower() for t in (self.header("connection") or "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


class Connection:
    """One accepted TCP (or TLS) connection, serving requests in sequence."""

    def __init__(self, server: "SseTestServer", reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.peer = _addr(writer.get_extra_info("peername"))
        self.local = _addr(writer.get_extra_info("sockname"))
        self.tls = writer.get_extra_info("sslcontext") is not None
        self.client_cn = _common_name(writer.get_extra_info("peercert"))
        self.closed = False

    def gone(self) -> bool:
        return self.closed or self.writer.transport.is_closing() or self.reader.at_eof()

    async def idle(self, seconds: float | None) -> None:
        """Sleeps for `seconds` (None = until the client leaves); raises
        ClientGone as soon as the client closes, so silent routes end early."""
        loop = asyncio.get_running_loop()
        deadline = None if seconds is None else loop.time() + seconds
        while True:
            if self.gone():
                raise ClientGone()
            remaining = POLL_S if deadline is None else deadline - loop.time()
            if remaining <= 0:
                return
            await asyncio.sleep(min(POLL_S, remaining))

    async def write_raw(self, data: bytes) -> None:
        if self.closed or self.writer.transport.is_closing():
            raise ClientGone()
        self.writer.write(data)
        await self.writer.drain()

    def drop(self, rst: bool) -> None:
        """Cuts the connection: a reset if `rst`, else FIN after flushing."""
        self.closed = True
        if rst:
            sock = self.writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    _linger_struct(1, 0))
            self.writer.transport.abort()
        else:
            self.writer.close()

    async def close(self) -> None:
        self.closed = True
        with contextlib.suppress(Exception):
            self.writer.close()
            await asyncio.wait_for(self.writer.wait_closed(), 2.0)

    async def read_request(self) -> Request | None:
        try:
            head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"),
                                          IDLE_KEEPALIVE_S)
        except asyncio.IncompleteReadError as e:
            if e.partial.strip():
                raise BadRequest(400, "incomplete request head") from None
            return None
        except asyncio.LimitOverrunError:
            raise BadRequest(431, "request head too large") from None
        except asyncio.TimeoutError:
            return None
        lines = head.lstrip(b"\r\n").decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadRequest(400, "malformed request line")
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise BadRequest(400, "malformed header line")
            headers.append((name, value.strip()))
        if len(headers) > MAX_HEADER_COUNT:
            raise BadRequest(431, "too many headers")
        req = Request(parts[0], parts[1], parts[2], headers)
        req.body = await self._read_body(req)
        return req

    async def _read_body(self, req: Request) -> bytes:
        max_body = self.server.max_body
        te = (req.header("transfer-encoding") or "").lower()
        chunked = te.split(",")[-1].strip() == "chunked" if te else False
        length_hdr = req.header("content-length")
        if not chunked and length_hdr is None:
            return b""
        length = 0
        if not chunked:
            if not length_hdr or not length_hdr.isdigit():
                raise BadRequest(400, "bad Content-Length")
            length = int(length_hdr)
            if length > max_body:
                raise BadRequest(413, "request body too large")
        if (req.header("expect") or "").lower() == "100-continue" and (chunked or length):
            await self.write_raw(b"HTTP/1.1 100 Continue\r\n\r\n")
        if not chunked:
            return await self.reader.readexactly(length)
        parts: list[bytes] = []
        total = 0
        while True:
            size_line = await self.reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError:
                raise BadRequest(400, "bad chunk size") from None
            if size == 0:
                break
            total += size
            if total > max_body:
                raise BadRequest(413, "request body too large")
            chunk = await self.reader.readexactly(size + 2)
            if chunk[-2:] != b"\r\n":
                raise BadRequest(400, "bad chunk terminator")
            parts.append(chunk[:-2])
        while (await self.reader.readuntil(b"\r\n")) != b"\r\n":
            pass
        return b"".join(parts)


class Response:
    """Writes one response: status line, headers, then a body framed as
    Content-Length, chunked, close-delimited, or nothing."""

    def __init__(self, conn: Connection, req: Request) -> None:
        self.conn = conn
        self.req = req
        self.started = False
        self.complete = False
        self.dropped = False
        self.mode = "none"
        self.keep_alive = conn.server.keepalive and req.wants_keepalive()

    async def start(self, status: int, headers: list[tuple[str, str]] | None = None,
                    mode: str = "chunked", length: int = 0) -> None:
        if status in (204, 304) or 100 <= status < 200:
            mode = "none"
        if mode == "chunked" and self.req.version == "HTTP/1.0":
            mode = "close"
        if mode == "close":
            self.keep_alive = False
        self.mode = mode
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Status"
        lines = [f"HTTP/1.1 {status} {reason}",
                 f"Date: {email.utils.formatdate(usegmt=True)}",
                 "Server: ssekit-sse-test-server",
                 f"X-Request-Seq: {self.req.seq}"]
        # Values may come from the query string: a CR or LF there must not
        # split the response.
        lines += [f"{k}: {_one_line(v)}" for k, v in headers or []]
        if mode == "chunked":
            lines.append("Transfer-Encoding: chunked")
        elif mode == "length":
            lines.append(f"Content-Length: {length}")
        lines.append("Connection: " + ("keep-alive" if self.keep_alive else "close"))
        self.started = True
        await self.conn.write_raw(b"".join(_header_bytes(line) + b"\r\n" for line in lines)
                                  + b"\r\n")
        if self.req.method == "HEAD" or mode == "none":
            self.complete = True
            raise HeadDone()

    async def send(self, data: bytes) -> None:
        if not data:
            return
        if self.mode == "chunked":
            await self.conn.write_raw(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            await self.conn.write_raw(data)

    async def finish(self) -> None:
        if self.mode == "chunked":
            await self.conn.write_raw(b"0\r\n\r\n")
        self.complete = True

    async def simple(self, status: int, body: bytes = b"",
                     ctype: str | None = "text/plain; charset=utf-8",
                     headers: list[tuple[str, str]] | None = None) -> None:
        hdrs = list(headers or [])
        if ctype:
            hdrs.insert(0, ("Content-Type", ctype))
        await self.start(status, hdrs, mode="length", length=len(body))
        await self.send(body)
        await self.finish()

    def drop(self, rst: bool) -> None:
        self.dropped = True
        self.keep_alive = False
        self.conn.drop(rst)


class EventSpec:
    """The event sequence described by the shared query parameters."""

    EOLS = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}

    def __init__(self, req: Request, default_count: int) -> None:
        p = req.params
        self.count = p.integer("count", default_count, lo=-1)
        self.id_start = p.integer("id_start", 1)
        self.with_ids = p.flag("ids", True)
        self.data = p.text("data", "event {id}") or ""
        self.lines = p.integer("lines", 1, lo=1, hi=10000)
        self.type = p.text("type")
        self.retry = p.text("retry")
        self.comment_every = p.integer("comment_every", 0, lo=0)
        self.interval = p.integer("interval_ms", 0, lo=0) / 1000.0
        self.eol = self.EOLS[p.choice("eol", tuple(self.EOLS), "lf")]
        self.bom = p.flag("bom")
        self.done = p.flag("done")
        self.end = p.choice("end", ("close", "hang"), "close")
        self.framing = p.choice("framing", ("chunked", "close"), "chunked")
        header = req.header("last-event-id")
        self.last_event_id = header if header is not None else p.text("last_event_id")
        self.first_id = self.id_start
        lei = (self.last_event_id or "").strip()
        if lei.isascii() and lei.isdigit():
            self.first_id = max(self.id_start, int(lei) + 1)

    def ids(self, start: int) -> Iterator[int]:
        if self.count < 0:
            return itertools.count(start)
        return iter(range(start, self.id_start + self.count))

    def _block(self, lines: list[str]) -> bytes:
        return (self.eol.join(lines) + self.eol + self.eol).encode("utf-8")

    def preamble(self) -> bytes:
        out = b"\xef\xbb\xbf" if self.bom else b""
        if self.retry is not None:
            out += self._block([f"retry: {self.retry}"])
        return out

    def render(self, event_id: int) -> bytes:
        lines = [f"id: {event_id}"] if self.with_ids else []
        if self.type is not None:
            lines.append(f"event: {self.type}")
        text = self.data.replace("{id}", str(event_id))
        lines += [f"data: {text}"] * self.lines
        return self._block(lines)

    def comment(self) -> bytes:
        return (": keep-alive" + self.eol).encode()

    def done_event(self) -> bytes:
        return self._block(["data: [DONE]"])


def _addr(info: object) -> str:
    if isinstance(info, tuple) and len(info) >= 2:
        host = str(info[0])
        return f"[{host}]:{info[1]}" if ":" in host else f"{host}:{info[1]}"
    return str(info)


def _common_name(peercert: object) -> str:
    """The subject CN of a certificate as ssl.SSLSocket.getpeercert() gives
    it; "" when the client sent none."""
    if not isinstance(peercert, dict):
        return ""
    for rdn in peercert.get("subject", ()):
        for name, value in rdn:
            if name == "commonName":
                return _one_line(str(value))
    return ""


def _one_line(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


def _header_bytes(line: str) -> bytes:
    """Latin-1 round-trips request header bytes; text from the query string
    that Latin-1 cannot hold goes out as UTF-8."""
    try:
        return line.encode("latin-1")
    except UnicodeEncodeError:
        return line.encode("utf-8")


def _linger_struct(onoff: int, seconds: int) -> bytes:
    return struct.pack("ii", onoff, seconds)


def _accepts_gzip(value: str | None) -> bool:
    for item in (value or "").split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = params.strip()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def _w1_pool(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    pool = []
    for _ in range(256):
        token = "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(1, 8)))
        pool.append(b'data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":'
                    b'{"content":"%s"}}]}\n\n' % token.encode())
    return pool


def w1_batches(count: int, seed: int) -> Iterator[bytes]:
    """Yields the W1 body in batches of W1_BATCH_EVENTS events."""
    pool = _w1_pool(seed)
    picks = random.Random(seed + 1)
    n = 0
    while n < count:
        k = min(W1_BATCH_EVENTS, count - n)
        parts: list[bytes] = []
        for i, pick in enumerate(picks.randbytes(k), start=n + 1):
            if i % 10 == 0:
                parts.append(b"id: %d\n" % i)
            parts.append(pool[pick])
        n += k
        yield b"".join(parts)


class SseTestServer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.keepalive = not args.no_keepalive
        self.max_body = args.max_body
        self.verbose = args.verbose
        self.port = 0
        self.scheme = "https" if args.tls else "http"
        self.records: collections.deque[dict] = collections.deque(maxlen=RECORD_LIMIT)
        self.seq = 0
        self.flaky: dict[str, int] = {}
        self.w1_cache: tuple[tuple[int, int], list[bytes]] | None = None
        self.tasks: set[asyncio.Task] = set()
        self.stopping: asyncio.Event | None = None
        self.routes: dict[str, Callable[[Connection, Request, Response], Awaitable[None]]] = {
            "/": self.route_index,
            "/events": self.route_events,
            "/drop": self.route_drop,
            "/stall": self.route_stall,
            "/silent": self.route_silent,
            "/204": self.route_204,
            "/ctype": self.route_ctype,
            "/redirect": self.route_redirect,
            "/bytewise": self.route_bytewise,
            "/slow-headers": self.route_slow_headers,
            "/unterminated": self.route_unterminated,
            "/big-headers": self.route_big_headers,
            "/oversize": self.route_oversize,
            "/invalid-utf8": self.route_invalid_utf8,
            "/gzip": self.route_gzip,
            "/echo": self.route_echo,
            "/flaky": self.route_flaky,
            "/w1": self.route_w1,
            "/ticks": self.route_ticks,
            "/_requests": self.route_requests,
            "/_reset": self.route_reset,
        }

    def log(self, message: str) -> None:
        print(f"sse_test_server: {message}", file=sys.stderr, flush=True)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        conn = Connection(self, reader, writer)
        try:
            while not conn.closed:
                try:
                    req = await conn.read_request()
                except BadRequest as e:
                    body = e.message.encode() + b"\n"
                    head = (f"HTTP/1.1 {e.status} {HTTPStatus(e.status).phrase}\r\n"
                            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
                    with contextlib.suppress(Exception):
                        await conn.write_raw(head.encode() + body)
                    return
                if req is None:
                    return
                if not await self.dispatch(conn, req):
                    return
        except (ClientGone, ConnectionError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError, ssl.SSLError, TimeoutError):
            pass
        except asyncio.CancelledError:
            # Only shutdown cancels; ending normally keeps asyncio's stream
            # callback from reporting the cancellation as an error.
            conn.drop(rst=False)
        except Exception:
            self.log("connection error:\n" + traceback.format_exc())
        finally:
            await conn.close()
            self.tasks.discard(task)

    def record(self, conn: Connection, req: Request) -> None:
        self.seq += 1
        req.seq = self.seq
        if req.path in ("/_requests", "/_reset"):
            return
        self.records.append({
            "seq": req.seq,
            "method": req.method,
            "target": req.target,
            "path": req.path,
            "query": req.query,
            "version": req.version,
            "headers": [[k, v] for k, v in req.headers],
            "header_map": req.header_map(),
            "body_length": len(req.body),
            "body": req.body[:RECORD_BODY_PREVIEW].decode("utf-8", "replace"),
            "client": conn.peer,
            "server": conn.local,
            "tls": conn.tls,
            "time_ns": time.monotonic_ns(),
        })

    async def dispatch(self, conn: Connection, req: Request) -> bool:
        """Serves one request; returns whether the connection may be reused."""
        self.record(conn, req)
        if self.verbose:
            self.log(f"{conn.peer} -> {conn.local} {req.method} {req.target}")
        resp = Response(conn, req)
        route = self.routes.get(req.path)
        if route is None and req.path.startswith("/status/"):
            route = self.route_status
        try:
            if route is None:
                raise BadRequest(404, f"no route {req.path}")
            await route(conn, req, resp)
        except HeadDone:
            pass
        except BadRequest as e:
            if resp.started:
                resp.drop(rst=False)
                return False
            await resp.simple(e.status, e.message.encode() + b"\n")
        except (ClientGone, ConnectionError, asyncio.CancelledError):
            raise
        except Exception:
            self.log(f"route {req.path} failed:\n" + traceback.format_exc())
            if not resp.started:
                resp.keep_alive = False
                await resp.simple(500, b"internal error\n")
            return False
        return resp.complete and resp.keep_alive and not resp.dropped

    async def start_stream(self, req: Request, resp: Response, spec: EventSpec | None,
                           ctype: str | None = "text/event-stream",
                           extra: list[tuple[str, str]] | None = None) -> None:
        headers = [("Content-Type", ctype)] if ctype else []
        headers.append(("Cache-Control", "no-cache"))
        if spec is not None and spec.last_event_id is not None:
            headers.append(("X-Last-Event-ID-Seen", spec.last_event_id))
        headers += extra or []
        framing = spec.framing if spec else req.params.choice(
            "framing", ("chunked", "close"), "chunked")
        await resp.start(200, headers, mode=framing)

    async def stream(self, conn: Connection, spec: EventSpec, emit: Emit,
                     start: int | None = None, limit: int | None = None,
                     preamble: bool = True) -> int:
        """Emits events from `start` (default: the resume point); returns the
        id the next event would have."""
        if preamble and (head := spec.preamble()):
            await emit(head)
        next_id = spec.first_id if start is None else start
        sent = 0
        for event_id in spec.ids(next_id):
            if limit is not None and sent >= limit:
                break
            if sent and spec.interval:
                await conn.idle(spec.interval)
            await emit(spec.render(event_id))
            sent += 1
            next_id = event_id + 1
            if spec.comment_every and sent % spec.comment_every == 0:
                await emit(spec.comment())
        return next_id

    async def end_stream(self, conn: Connection, resp: Response, spec: EventSpec,
                         emit: Emit | None = None) -> None:
        if spec.done:
            await (emit or resp.send)(spec.done_event())
        if spec.end == "hang":
            await conn.idle(None)
        await resp.finish()

    async def route_index(self, conn: Connection, req: Request, resp: Response) -> None:
        await resp.simple(200, b"ssekit SSE test server; routes are documented in "
                               b"tests/server/sse_test_server.py\n")

    async def route_events(self, conn: Connection, req: Request, resp: Response) -> None:
        spec = EventSpec(req, default_count=5)
        await self.start_stream(req, resp, spec)
        await self.stream(conn, spec, resp.send)
        await self.end_stream(conn, resp, spec)

    async def route_drop(self, conn: Connection, req: Request, resp: Response) -> None:
        spec = EventSpec(req, default_count=-1)
        after = req.params.integer("after", 1, lo=0)
        how = req.params.choice("how", ("close", "rst"), "close")
        partial = req.params.choice("partial", ("line", "event", "none"), "line")
        await self.start_stream(req, resp, spec)
        next_id = await self.stream(conn, spec, resp.send, limit=after)
        eol = spec.eol
        if partial == "line":
            await resp.send(f"id: {next_id}{eol}data: partial".encode())
        elif partial == "event":
            await resp.send(f"id: {next_id}{eol}data: partial{eol}".encode())
        # Let the bytes leave before the cut, so the client really sees a
        # connection that dies mid-event rather than one that never spoke.
        await asyncio.sleep(0.05)
        resp.drop(rst=how == "rst")

    async def route_stall(self, conn: Connection, req: Request, resp: Response) -> None:
        spec = EventSpec(req, default_count=-1)
        p = req.params
        after = p.integer("after", 1, lo=0)
        seconds = p.integer("ms", 5000, lo=0) / 1000.0
        heartbeat = p.integer("heartbeat_ms", 0, lo=0) / 1000.0
        then = p.choice("then", ("close", "resume", "drop"), "close")
        await self.start_stream(req, resp, spec)
        next_id = await self.stream(conn, spec, resp.send, limit=after)
        if heartbeat:
            deadline = asyncio.get_running_loop().time() + seconds
            while (left := deadline - asyncio.get_running_loop().time()) > 0:
                await conn.idle(min(heartbeat, left))
                if left > heartbeat:
                    await resp.send(b":" + spec.eol.encode())
        else:
            await conn.idle(seconds)
        if then == "drop":
            resp.drop(rst=False)
            return
        if then == "resume":
            await self.stream(conn, spec, resp.send, start=next_id, preamble=False)
        await self.end_stream(conn, resp, spec)

    async def route_silent(self, conn: Connection, req: Request, resp: Response) -> None:
        await conn.idle(req.params.integer("ms", 5000, lo=0) / 1000.0)
        resp.drop(rst=False)

    async def route_status(self, conn: Connection, req: Request, resp: Response) -> None:
        code_text = req.path[len("/status/"):]
        if not (code_text.isdigit() and 200 <= int(code_text) <= 999):
            raise BadRequest(400, "status must be 200-999")
        status = int(code_text)
        p = req.params
        headers: list[tuple[str, str]] = []
        if p.has("retry_after"):
            headers.append(("Retry-After", p.text("retry_after") or ""))
        elif p.has("retry_after_in"):
            when = time.time() + p.integer("retry_after_in", 0)
            headers.append(("Retry-After", email.utils.formatdate(when, usegmt=True)))
        if p.has("header"):
            name, _, value = (p.text("header") or "").partition(":")
            headers.append((name.strip(), value.strip()))
        if p.has("body_bytes"):
            # A large error body, written lazily; -1: one that never ends.
            count = p.integer("body_bytes", 0, lo=-1)
            ctype = p.text("ctype", "text/plain; charset=utf-8")
            await resp.start(status, ([("Content-Type", ctype)] if ctype else []) + headers,
                             mode="chunked")
            block = b"e" * WRITE_BLOCK
            left = count
            while left != 0:
                n = WRITE_BLOCK if left < 0 else min(left, WRITE_BLOCK)
                await resp.send(block[:n])
                if left > 0:
                    left -= n
                else:
                    await conn.idle(0.05)
            await resp.finish()
            return
        body = p.text("body")
        payload = (body if body is not None else f"status {status}\n").encode()
        await resp.simple(status, payload, p.text("ctype", "text/plain; charset=utf-8"),
                          headers)

    async def route_204(self, conn: Connection, req: Request, resp: Response) -> None:
        await resp.start(204, [])

    async def route_ctype(self, conn: Connection, req: Request, resp: Response) -> None:
        spec = EventSpec(req, default_count=1)
        await self.start_stream(req, resp, spec, ctype=req.params.text("value", "text/plain"))
        await self.stream(conn, spec, resp.send)
        await self.end_stream(conn, resp, spec)

    async def route_redirect(self, conn: Connection, req: Request, resp: Response) -> None:
        p = req.params
        status = int(p.choice("status", ("301", "302", "303", "307", "308"), "302"))
        if p.has("location"):
            location = p.text("location") or ""
        elif p.has("to"):
            location = p.text("to") or "/"
        else:
            host = p.text("to_host", "127.0.0.1") or "127.0.0.1"
            path = p.text("to_path", "/echo") or "/echo"
            if ":" in host and not host.startswith("["):
                host = f"[{host}]"
            location = f"{self.scheme}://{host}:{self.port}{path}"
        await resp.simple(status, f"redirect to {location}\n".encode(),
                          headers=[("Location", location)])

    async def route_unterminated(self, conn: Connection, req: Request, resp: Response) -> None:
        await self.start_stream(req, resp, None)
        tail = b"\n" if req.params.flag("line_end") else b""
        await resp.send(b"data: a\n\ndata: last" + tail)
        await resp.finish()

    async def route_slow_headers(self, conn: Connection, req: Request, resp: Response) -> None:
        p = req.params
        delay = p.integer("delay_ms", 100, lo=0) / 1000.0
        unit = p.choice("unit", ("byte", "line"), "byte")
        spec = EventSpec(req, default_count=1)
        lines = [b"HTTP/1.1 200 OK", b"Content-Type: text/event-stream",
                 b"X-Pad-1: slow", b"X-Pad-2: slower", b"Connection: close", b"", b""]
        head = b"\r\n".join(lines)
        pieces = [bytes([c]) for c in head] if unit == "byte" else \
            [line + b"\r\n" for line in lines[:-1]]
        resp.started = True
        resp.mode = "close"
        resp.keep_alive = False
        for piece in pieces:
            await conn.write_raw(piece)
            await conn.idle(delay)
        await self.stream(conn, spec, resp.send)
        resp.complete = True

    async def route_big_headers(self, conn: Connection, req: Request, resp: Response) -> None:
        p = req.params
        line_bytes = p.integer("line_bytes", 1024 * 1024, lo=1)
        count = p.integer("lines", 1, lo=0)
        spec = EventSpec(req, default_count=1)
        resp.started = True
        resp.mode = "close"
        resp.keep_alive = False
        await conn.write_raw(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             b"Connection: close\r\n")
        block = b"x" * WRITE_BLOCK
        for i in range(count):
            await conn.write_raw(b"X-Big-%d: " % i)
            left = line_bytes
            while left:
                n = min(left, WRITE_BLOCK)
                await conn.write_raw(block[:n])
                left -= n
            await conn.write_raw(b"\r\n")
        await conn.write_raw(b"\r\n")
        await self.stream(conn, spec, resp.send)
        resp.complete = True

    async def route_bytewise(self, conn: Connection, req: Request, resp: Response) -> None:
        spec = EventSpec(req, default_count=3)
        delay = req.params.integer("delay_ms", 1, lo=0) / 1000.0

        async def emit(data: bytes) -> None:
            for i in range(len(data)):
                await resp.send(data[i:i + 1])
                await asyncio.sleep(delay)

        await self.start_stream(req, resp, spec)
        await self.stream(conn, spec, emit)
        await self.end_stream(conn, resp, spec, emit)

    async def route_oversize(self, conn: Connection, req: Request, resp: Response) -> None:
        p = req.params
        total = p.integer("bytes", 1024 * 1024, lo=0)
        line_bytes = p.integer("line_bytes", 0, lo=0)
        field = p.choice("field", ("data", "comment", "event", "id"), "data")
        fill = (p.text("fill", "x") or "x").encode()
        if len(fill) != 1 or fill in b"\r\n\0":
            raise BadRequest(400, "fill must be one byte, not CR, LF or NUL")
        if line_bytes and field != "data":
            raise BadRequest(400, "line_bytes needs field=data")
        prefix = {"data": b"data: ", "comment": b": ", "event": b"event: ", "id": b"id: "}[field]
        await self.start_stream(req, resp, None)
        span = line_bytes or total or 1
        written = 0
        block = fill * WRITE_BLOCK
        while True:
            line_len = min(span, total - written)
            await resp.send(prefix)
            left = line_len
            while left:
                n = min(left, WRITE_BLOCK)
                await resp.send(block[:n])
                left -= n
            await resp.send(b"\n")
            written += line_len
            if written >= total:
                break
        if field != "data":
            await resp.send(b"data: big\n")
        await resp.send(b"\n")
        if p.flag("tail", True):
            await resp.send(b"id: after\ndata: after\n\n")
        await resp.finish()

    async def route_invalid_utf8(self, conn: Connection, req: Request, resp: Response) -> None:
        delay = req.params.integer("delay_ms", 20, lo=0) / 1000.0
        await self.start_stream(req, resp, None)
        for _, pieces in INVALID_UTF8_EVENTS:
            for piece in pieces:
                await resp.send(piece)
                await asyncio.sleep(delay)
        await resp.finish()

    async def route_gzip(self, conn: Connection, req: Request, resp: Response) -> None:
        spec = EventSpec(req, default_count=3)
        use_gzip = req.params.flag("force") or _accepts_gzip(req.header("accept-encoding"))
        extra = [("Vary", "Accept-Encoding")]
        if not use_gzip:
            await self.start_stream(req, resp, spec, extra=extra)
            await self.stream(conn, spec, resp.send)
            await self.end_stream(conn, resp, spec)
            return
        extra.append(("Content-Encoding", "gzip"))
        comp = zlib.compressobj(6, zlib.DEFLATED, 31)

        async def emit(data: bytes) -> None:
            await resp.send(comp.compress(data) + comp.flush(zlib.Z_SYNC_FLUSH))

        await self.start_stream(req, resp, spec, extra=extra)
        await self.stream(conn, spec, emit)
        if spec.done:
            await emit(spec.done_event())
        if spec.end == "hang":
            await conn.idle(None)
        await resp.send(comp.flush())
        await resp.finish()

    async def route_echo(self, conn: Connection, req: Request, resp: Response) -> None:
        end = req.params.choice("end", ("close", "hang"), "close")
        body_lines = req.body.decode("utf-8", "replace").split("\n")
        blocks = [
            ["event: method", f"data: {req.method}"],
            ["event: target", f"data: {req.target}"],
            ["event: headers", "data: " + json.dumps(req.header_map(), sort_keys=True)],
            ["event: last_event_id", f"data: {req.header('last-event-id') or ''}"],
            ["event: body_length", f"data: {len(req.body)}"],
            ["event: body"] + [f"data: {line.replace(chr(13), '')}" for line in body_lines],
        ]
        if conn.tls:
            blocks.append(["event: client_cert", f"data: {conn.client_cn}"])
        extra: list[tuple[str, str]] = []
        if req.params.has("set_cookie"):
            extra.append(("Set-Cookie", req.params.text("set_cookie") or ""))
        await self.start_stream(req, resp, None, extra=extra)
        await resp.send("".join("\n".join(b) + "\n\n" for b in blocks).encode())
        if end == "hang":
            await conn.idle(None)
        await resp.finish()

    async def route_flaky(self, conn: Connection, req: Request, resp: Response) -> None:
        p = req.params
        fail = p.integer("fail", 1, lo=0)
        key = p.text("key", "") or ""
        how = p.choice("how", ("status", "drop", "rst"), "status")
        attempt = self.flaky.get(key, 0) + 1
        self.flaky[key] = attempt
        if attempt <= fail:
            if how == "status":
                status = p.integer("status", 500, lo=200, hi=999)
                headers = [("X-Flaky-Attempt", str(attempt))]
                if p.has("retry_after"):
                    headers.append(("Retry-After", p.text("retry_after") or ""))
                await resp.simple(status, f"flaky failure {attempt}/{fail}\n".encode(),
                                  headers=headers)
            else:
                resp.drop(rst=how == "rst")
            return
        spec = EventSpec(req, default_count=5)
        await self.start_stream(req, resp, spec, extra=[("X-Flaky-Attempt", str(attempt))])
        await self.stream(conn, spec, resp.send)
        await self.end_stream(conn, resp, spec)

    async def route_w1(self, conn: Connection, req: Request, resp: Response) -> None:
        p = req.params
        count = p.integer("count", 1000, lo=0)
        seed = p.integer("seed", 1)
        done = p.flag("done")
        await self.start_stream(req, resp, None)
        key = (count, seed)
        if self.w1_cache is not None and self.w1_cache[0] == key:
            batches: Iterator[bytes] = iter(self.w1_cache[1])
            keep: list[bytes] | None = None
        else:
            batches = w1_batches(count, seed)
            keep = [] if count * 100 <= W1_CACHE_LIMIT else None
        for batch in batches:
            await resp.send(batch)
            if keep is not None:
                keep.append(batch)
        if keep is not None:
            self.w1_cache = (key, keep)
        if done:
            await resp.send(b"data: [DONE]\n\n")
        await resp.finish()

    async def route_ticks(self, conn: Connection, req: Request, resp: Response) -> None:
        p = req.params
        count = p.integer("count", 100, lo=-1)
        interval = p.integer("interval_ms", 1, lo=0) / 1000.0
        await self.start_stream(req, resp, None)
        seqs = itertools.count(1) if count < 0 else range(1, count + 1)
        for seq in seqs:
            if seq > 1 and interval:
                await asyncio.sleep(interval)
            await resp.send(b"id: %d\ndata: %d\n\n" % (seq, time.monotonic_ns()))
        await resp.finish()

    async def route_requests(self, conn: Connection, req: Request, resp: Response) -> None:
        path = req.params.text("path")
        since = req.params.integer("since", 0)
        items = [r for r in self.records
                 if r["seq"] > since and (path is None or r["path"] == path)]
        await resp.simple(200, json.dumps(items).encode() + b"\n",
                          "application/json")

    async def route_reset(self, conn: Connection, req: Request, resp: Response) -> None:
        self.records.clear()
        self.flaky.clear()
        await resp.simple(200, b'{"ok": true}\n', "application/json")

    def make_tls_context(self, cert_dir: str) -> tuple[ssl.SSLContext, dict[str, str]]:
        files = generate_certificates(cert_dir, [self.args.host] + self.args.also_host)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(files["cert_file"], files["key_file"])
        ctx.set_alpn_protocols(["http/1.1"])
        # Optional, so clients without a certificate still connect, and /echo
        # can tell whether one was sent.
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(files["ca_file"])
        return ctx, files

    def bind_all(self) -> list[socket.socket]:
        hosts = [self.args.host] + self.args.also_host
        for _ in range(20):
            sockets: list[socket.socket] = []
            port = self.args.port
            try:
                for host in hosts:
                    info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
                    sock = socket.socket(info[0], socket.SOCK_STREAM)
                    sockets.append(sock)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sock.bind(info[4])
                    sock.listen(128)
                    sock.setblocking(False)
                    port = sock.getsockname()[1]
                self.port = port
                return sockets
            except OSError:
                for sock in sockets:
                    sock.close()
                if self.args.port:
                    raise
        raise OSError("could not bind one port on every address")

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(_quiet_exception_handler)
        self.stopping = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        made_dir = None
        ctx = None
        files = {"ca_file": "", "cert_file": "", "client_cert": "", "client_key": ""}
        try:
            if self.args.tls:
                cert_dir = self.args.cert_dir
                if cert_dir is None:
                    cert_dir = made_dir = tempfile.mkdtemp(prefix="sse-test-server-")
                ctx, files = self.make_tls_context(cert_dir)
            servers = [await asyncio.start_server(self.handle, sock=s, ssl=ctx,
                                                  limit=MAX_HEADER_BYTES)
                       for s in self.bind_all()]
            ready = {"port": self.port, "tls": bool(self.args.tls),
                     "ca_file": files["ca_file"], "cert_file": files["cert_file"],
                     "client_cert": files["client_cert"], "client_key": files["client_key"],
                     "scheme": self.scheme,
                     "hosts": [self.args.host] + self.args.also_host, "pid": os.getpid()}
            line = json.dumps(ready)
            if self.args.ready_file:
                tmp = self.args.ready_file + ".tmp"
                with open(tmp, "w", encoding="utf-8") as f:
                    f.write(line + "\n")
                os.replace(tmp, self.args.ready_file)
            print(line, flush=True)
            if self.args.watch_stdin:
                _watch_stdin(loop, self.stopping)
            lifetime = self.args.max_lifetime or None
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), lifetime)
            for srv in servers:
                srv.close()
            for task in list(self.tasks):
                task.cancel()
            if self.tasks:
                await asyncio.wait(list(self.tasks), timeout=2.0)
            return 0
        finally:
            if made_dir is not None:
                shutil.rmtree(made_dir, ignore_errors=True)


def _quiet_exception_handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """Peers vanishing mid-write or mid-handshake is what this server is for,
    and so is shutting down with connections (TLS handshakes too) in flight."""
    exc = context.get("exception")
    if isinstance(exc, (ConnectionError, ssl.SSLError, ClientGone, TimeoutError,
                        asyncio.CancelledError)):
        return
    loop.default_exception_handler(context)


def _watch_stdin(loop: asyncio.AbstractEventLoop, stopping: asyncio.Event) -> None:
    def wait_eof() -> None:
        # A raw read: a daemon thread blocked inside sys.stdin's buffered
        # reader would hold its lock and abort interpreter shutdown.
        with contextlib.suppress(OSError):
            while os.read(sys.stdin.fileno(), 4096):
                pass
        loop.call_soon_threadsafe(stopping.set)

    threading.Thread(target=wait_eof, name="stdin-watch", daemon=True).start()


CLIENT_CERT_CN = "ssekit test client"


def generate_certificates(directory: str, hosts: list[str]) -> dict[str, str]:
    """Creates a CA, a server certificate and a client certificate it signs;
    returns the paths as ca_file, cert_file and key_file (the server's), and
    client_cert and client_key. A separate CA (rather than one self-signed
    leaf) keeps strict verifiers happy: the trust anchor is a real CA and the
    leaves are not."""
    ca_key = os.path.join(directory, "ca.key")
    ca_file = os.path.join(directory, "ca.pem")
    key_file = os.path.join(directory, "server.key")
    csr_file = os.path.join(directory, "server.csr")
    cert_file = os.path.join(directory, "server.pem")
    client_key = os.path.join(directory, "client.key")
    client_csr = os.path.join(directory, "client.csr")
    client_cert = os.path.join(directory, "client.pem")
    config = os.path.join(directory, "openssl.cnf")
    ext_file = os.path.join(directory, "server.ext")
    client_ext = os.path.join(directory, "client.ext")
    names = ["DNS:localhost", "IP:127.0.0.1"]
    for host in hosts:
        entry = f"IP:{host}" if _is_ip(host) else f"DNS:{host}"
        if entry not in names:
            names.append(entry)
    with open(config, "w", encoding="utf-8") as f:
        f.write("[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n"
                "[ca]\nbasicConstraints = critical, CA:TRUE\n"
                "keyUsage = critical, keyCertSign, cRLSign\n"
                "subjectKeyIdentifier = hash\n")
    leaf = ("basicConstraints = critical, CA:FALSE\n"
            "keyUsage = critical, digitalSignature, keyEncipherment\n"
            "authorityKeyIdentifier = keyid\n")
    with open(ext_file, "w", encoding="utf-8") as f:
        f.write(leaf + "extendedKeyUsage = serverAuth\n"
                f"subjectAltName = {', '.join(names)}\n")
    with open(client_ext, "w", encoding="utf-8") as f:
        f.write(leaf + "extendedKeyUsage = clientAuth\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    serial = random.getrandbits(62)
    commands = [
        ["openssl", "req", "-x509", *ec, "-config", config, "-extensions", "ca",
         "-keyout", ca_key, "-out", ca_file, "-days", "3", "-subj", "/CN=ssekit test CA"],
        ["openssl", "req", "-new", *ec, "-config", config,
         "-keyout", key_file, "-out", csr_file, "-subj", "/CN=localhost"],
        ["openssl", "x509", "-req", "-in", csr_file, "-CA", ca_file, "-CAkey", ca_key,
         "-set_serial", str(serial), "-days", "2", "-extfile", ext_file, "-out", cert_file],
        ["openssl", "req", "-new", *ec, "-config", config,
         "-keyout", client_key, "-out", client_csr, "-subj", f"/CN={CLIENT_CERT_CN}"],
        ["openssl", "x509", "-req", "-in", client_csr, "-CA", ca_file, "-CAkey", ca_key,
         "-set_serial", str(serial + 1), "-days", "2", "-extfile", client_ext,
         "-out", client_cert],
    ]
    for cmd in commands:
        try:
            subprocess.run(cmd, check=True, capture_output=True)
        except FileNotFoundError:
            raise SystemExit("sse_test_server: --tls needs the openssl command") from None
        except subprocess.CalledProcessError as e:
            raise SystemExit(f"sse_test_server: {' '.join(cmd[:2])} failed:\n"
                             + e.stderr.decode(errors="replace")) from None
    return {"ca_file": ca_file, "cert_file": cert_file, "key_file": key_file,
            "client_cert": client_cert, "client_key": client_key}


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class ServerProcess:
    """Runs this server as a child process, for Python test suites.

    with ServerProcess(tls=True) as srv:
        urlopen(srv.url("/events?count=2"), context=...)  # srv.ca_file
    """

    def __init__(self, *extra_args: str, tls: bool = False,
                 also_hosts: tuple[str, ...] = (), timeout: float = 15.0) -> None:
        self.extra_args = list(extra_args)
        self.tls = tls
        self.also_hosts = also_hosts
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None
        self.info: dict = {}
        self._dir: str | None = None

    @property
    def port(self) -> int:
        return int(self.info["port"])

    @property
    def ca_file(self) -> str:
        return str(self.info.get("ca_file", ""))

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.info['scheme']}://{host}:{self.port}{path}"

    def start(self) -> dict:
        self._dir = tempfile.mkdtemp(prefix="sse-test-server-run-")
        ready = os.path.join(self._dir, "ready.json")
        cmd = [sys.executable, os.path.abspath(__file__), "--port", "0",
               "--ready-file", ready, "--watch-stdin", "--cert-dir", self._dir]
        if self.tls:
            cmd.append("--tls")
        for host in self.also_hosts:
            cmd += ["--also-host", host]
        cmd += self.extra_args
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + self.timeout
        while not os.path.exists(ready):
            if self.proc.poll() is not None:
                raise RuntimeError(f"test server exited with {self.proc.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("test server did not become ready")
            time.sleep(0.01)
        with open(ready, encoding="utf-8") as f:
            self.info = json.loads(f.readline())
        return self.info

    def stop(self) -> int | None:
        code = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            if self.proc.stdin:
                self.proc.stdin.close()
            code = self.proc.returncode
            self.proc = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        return code

    def __enter__(self) -> "ServerProcess":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Fault-injecting SSE test server "
                                 "(routes: see the module docstring).")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--also-host", action="append", default=[],
                    help="another address to listen on, same port (e.g. 127.0.0.2)")
    ap.add_argument("--tls", action="store_true", help="serve HTTPS with a generated CA")
    ap.add_argument("--cert-dir", help="where --tls writes its files "
                    "(default: a temporary directory removed at exit)")
    ap.add_argument("--ready-file", help="write the ready JSON line here once listening")
    ap.add_argument("--watch-stdin", action="store_true",
                    help="exit when standard input reaches end of file")
    ap.add_argument("--max-lifetime", type=float, default=1800.0,
                    help="exit after this many seconds (0 = never)")
    ap.add_argument("--max-body", type=int, default=DEFAULT_MAX_BODY,
                    help="largest request body accepted, in bytes")
    ap.add_argument("--no-keepalive", action="store_true")
    ap.add_argument("--verbose", "-v", action="store_true", help="log each request to stderr")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return asyncio.run(SseTestServer(args).run())


if __name__ == "__main__":
    sys.exit(main())
