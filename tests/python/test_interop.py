"""ssekit.connect() against servers built on deployed libraries:
sse-starlette on uvicorn, and better-sse on node:http (tests/interop)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Iterator, List

import pytest

import ssekit
from launch import InteropServer


def expected(i: int) -> tuple:
    if i % 3 == 1:
        return "tick", f"tick {i}"
    if i % 3 == 2:
        return "multi", f"first line of {i}\nsecond line\n\nfourth line after an empty one"
    return "unicode", f"h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \U0001f680 {i}"


@pytest.fixture(scope="module", params=["starlette", "better-sse"])
def interop(request: Any) -> Iterator[InteropServer]:
    with InteropServer(request.param) as srv:
        yield srv


def test_numbered_events_arrive_exactly(interop: InteropServer) -> None:
    with ssekit.connect(interop.url("/stream?count=6"), one_shot=True) as es:
        got = [(e.event, e.data, e.id) for e in es]
    assert got == [(*expected(i), str(i)) for i in range(1, 7)]


def test_reconnects_resume_after_the_last_event_id(interop: InteropServer) -> None:
    url = interop.url("/close-after?n=2&total=7&retry=10")
    errors: List[ssekit.SSEError] = []
    es = ssekit.connect(url, min_retry=0.01)
    es.on_error(errors.append)
    with pytest.raises(ssekit.HTTPStatusError) as err:
        with es:
            ids = []
            for ev in es:
                ids.append(ev.id)
    # 7 events over four connections, then 204: the server's "stop".
    assert ids == [str(i) for i in range(1, 8)]
    assert err.value.status_code == 204
    assert es.metrics.connections == 4
    # Each of the four ends reconnected; the 204 after the last one did not.
    assert [e.will_retry for e in errors] == [True] * 4 + [False]
    assert all(isinstance(e, ssekit.ReadError) for e in errors[:4])


def test_keep_alive_comments_reach_on_comment(interop: InteropServer) -> None:
    es = ssekit.connect(interop.url("/ping?count=3&gap_ms=120&ping_ms=30"), one_shot=True)
    comments: List[str] = []
    es.on_comment(comments.append)
    with es:
        assert [e.data for e in es] == ["tick 1", "tick 2", "tick 3"]
    assert comments, "the library's keep-alives"


def test_an_llm_style_post_stream_ends_at_done(interop: InteropServer) -> None:
    prompt = "Ünïcode tokens stream one by one"

    async def main() -> str:
        async with ssekit.aconnect(interop.url("/post"), json={"prompt": prompt}, done="[DONE]") as es:
            return "".join([ev.json()["token"] async for ev in es])

    assert asyncio.run(asyncio.wait_for(main(), 20)) == prompt
