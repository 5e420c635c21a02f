"""An SSE server built on sse-starlette and uvicorn, for interoperability tests.

Runs in the virtualenv that scripts/install-deps.sh creates (the packages are
pinned in requirements.txt next to this file):

    .venv/bin/python tests/interop/starlette_server.py --ready-file ready.json \\
        [--port 0] [--host 127.0.0.1] [--watch-stdin] [--max-lifetime 1800]

Once listening it writes `{"port": N, "server": "starlette", "pid": P}` to the
ready file atomically. The routes, shared with better_sse_server.mjs, are
described in README.md. sse-starlette ends every line with CRLF.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import threading

import uvicorn
from sse_starlette import EventSourceResponse, JSONServerSentEvent, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


def event_for(i: int) -> tuple[str, str]:
    """The type and data of the event with id i, the same in every server."""
    if i % 3 == 1:
        return "tick", f"tick {i}"
    if i % 3 == 2:
        return "multi", f"first line of {i}\nsecond line\n\nfourth line after an empty one"
    return "unicode", f"h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \U0001f680 {i}"


def int_param(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, default))
    except ValueError:
        return default


def retry_param(request: Request) -> int | None:
    retry = int_param(request, "retry", -1)
    return retry if retry >= 0 else None


def resume_point(request: Request) -> tuple[int, str | None]:
    """The id after the client's last event ID (header first, then the
    `lastEventId` query parameter), and the raw value seen."""
    seen = request.headers.get("last-event-id")
    if seen is None:
        seen = request.query_params.get("lastEventId")
    try:
        return max(int(seen or "0"), 0) + 1, seen
    except ValueError:
        return 1, seen


def stream_headers(seen: str | None) -> dict[str, str]:
    return {"X-Last-Event-ID-Seen": seen} if seen is not None else {}


async def numbered_events(first: int, last: int | None, retry: int | None, interval_ms: int):
    i = first
    while last is None or i <= last:
        etype, data = event_for(i)
        yield {"id": str(i), "event": etype, "data": data,
               "retry": retry if i == first else None}
        i += 1
        if interval_ms > 0:
            await asyncio.sleep(interval_ms / 1000)


async def stream(request: Request) -> Response:
    count = int_param(request, "count", 5)
    first, seen = resume_point(request)
    last = None if count < 0 else count
    return EventSourceResponse(
        numbered_events(first, last, retry_param(request),
                        int_param(request, "interval_ms", 0)),
        headers=stream_headers(seen))


async def close_after(request: Request) -> Response:
    n = max(int_param(request, "n", 2), 1)
    total = int_param(request, "total", 0)
    first, seen = resume_point(request)
    if total > 0 and first > total:
        # 204 is how a server tells an EventSource client to stop reconnecting.
        return Response(status_code=204, headers=stream_headers(seen))
    last = first + n - 1 if total <= 0 else min(first + n - 1, total)
    return EventSourceResponse(
        numbered_events(first, last, retry_param(request), 0),
        headers=stream_headers(seen))


async def ping(request: Request) -> Response:
    count = int_param(request, "count", 3)
    gap_ms = int_param(request, "gap_ms", 300)
    ping_ms = max(int_param(request, "ping_ms", 100), 1)

    async def events():
        for i in range(1, count + 1):
            await asyncio.sleep(gap_ms / 1000)
            yield ServerSentEvent(f"tick {i}", id=str(i), event="tick")

    return EventSourceResponse(events(), ping=ping_ms / 1000)


async def post(request: Request) -> Response:
    if request.method != "POST":
        return PlainTextResponse("POST a JSON body\n", status_code=405,
                                 headers={"Allow": "POST"})
    try:
        body = json.loads(await request.body())
        prompt = body["prompt"]
        delay_ms = int(body.get("delay_ms", 0))
        if not isinstance(prompt, str):
            raise TypeError("prompt must be a string")
    except (ValueError, TypeError, KeyError) as exc:
        return PlainTextResponse(f"bad request body: {exc}\n", status_code=400)
    words = prompt.split(" ")
    tokens = [w + " " for w in words[:-1]] + words[-1:]

    async def events():
        for index, token in enumerate(tokens):
            if delay_ms > 0:
                await asyncio.sleep(delay_ms / 1000)
            yield JSONServerSentEvent({"index": index, "token": token})
        yield ServerSentEvent("[DONE]")

    return EventSourceResponse(events())


async def health(request: Request) -> Response:
    return PlainTextResponse("ok\n")


app = Starlette(routes=[
    Route("/stream", stream),
    Route("/close-after", close_after),
    Route("/ping", ping),
    Route("/post", post, methods=["GET", "POST"]),
    Route("/health", health),
])


class TestServer(uvicorn.Server):
    """Stops at once on a signal: open event streams never end by themselves,
    and a test harness should not wait out a graceful drain."""

    def handle_exit(self, sig, frame) -> None:
        super().handle_exit(sig, frame)
        self.force_exit = True


def write_ready(path: str, port: int) -> None:
    line = json.dumps({"port": port, "server": "starlette", "pid": os.getpid()})
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(line + "\n")
    os.replace(tmp, path)
    print(line, flush=True)


async def serve(args: argparse.Namespace) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, loop="asyncio", http="h11", lifespan="off",
                            log_level="warning", access_log=False)
    server = TestServer(config)

    def stop() -> None:
        server.should_exit = True
        server.force_exit = True

    if args.watch_stdin:
        # A harness that dies closes the pipe, so the server never outlives it.
        def watch() -> None:
            while sys.stdin.buffer.read(4096):
                pass
            stop()
        threading.Thread(target=watch, daemon=True).start()
    if args.max_lifetime > 0:
        asyncio.get_running_loop().call_later(args.max_lifetime, stop)

    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            await task
            raise SystemExit("uvicorn stopped before it was listening")
        await asyncio.sleep(0.01)
    if args.ready_file:
        write_ready(args.ready_file, port)
    await task


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--ready-file", help="write the ready JSON line here once listening")
    ap.add_argument("--watch-stdin", action="store_true",
                    help="stop when standard input reaches its end")
    ap.add_argument("--max-lifetime", type=float, default=1800,
                    help="stop after this many seconds (0 = never)")
    asyncio.run(serve(ap.parse_args()))


if __name__ == "__main__":
    main()
