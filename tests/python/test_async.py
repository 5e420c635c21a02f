"""ssekit.aconnect(): asyncio without blocking the event loop or a thread per stream."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, List

import pytest

import ssekit

FAST = dict(retry=0.02, min_retry=0.01, max_retry=0.2)


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))


async def first_ids(es: Any, n: int) -> List[str]:
    """The ids of the first n events of es."""
    ids: List[str] = []
    async for ev in es:
        ids.append(ev.id)
        if len(ids) == n:
            break
    return ids


def test_async_for_yields_the_events(server: Any) -> None:
    async def main() -> List[str]:
        async with ssekit.aconnect(server.url("/events?count=4&type=t"), one_shot=True) as es:
            assert es.ready_state == ssekit.ReadyState.OPEN
            return [f"{e.event}:{e.id}" async for e in es]

    assert run(main()) == ["t:1", "t:2", "t:3", "t:4"]


def test_the_event_loop_runs_while_a_stream_waits(server: Any) -> None:
    async def main() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        t = asyncio.ensure_future(ticker())
        async with ssekit.aconnect(server.url("/stall?after=1&ms=400&then=resume&count=2")) as es:
            ids = await first_ids(es, 2)
        t.cancel()
        assert ids == ["1", "2"]
        return ticks

    # 400 ms of silence at 5 ms a tick: a blocked loop would tick once.
    assert run(main()) >= 5


def test_many_streams_share_the_loop_without_threads(server: Any) -> None:
    async def one(i: int) -> int:
        async with ssekit.aconnect(server.url(f"/events?count=5&interval_ms=2&id_start={i}"), one_shot=True) as es:
            return len([e async for e in es])

    async def main() -> List[int]:
        before = threading.active_count()
        counts = await asyncio.gather(*(one(i) for i in range(50)))
        assert threading.active_count() <= before + 1  # ssekit's loop thread, once
        return counts

    assert run(main()) == [5] * 50


def test_a_failing_first_attempt_raises_in_async_with(server: Any) -> None:
    async def main() -> None:
        async with ssekit.aconnect(server.url("/status/403?body=denied")):
            pytest.fail("must not open")

    with pytest.raises(ssekit.HTTPStatusError) as err:
        run(main())
    assert err.value.status_code == 403 and err.value.body == b"denied"


def test_an_async_headers_function_is_awaited_before_every_attempt(server: Any, key: str) -> None:
    calls = 0

    async def headers() -> dict:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)  # a token refresh
        return {"Authorization": f"Bearer t{calls}"}

    async def main() -> List[str]:
        async with ssekit.aconnect(server.url(f"/drop?after=1&count=3&key={key}"), headers=headers, **FAST) as es:
            return await first_ids(es, 3)

    assert run(main()) == ["1", "2", "3"]
    auth = [r["header_map"]["authorization"] for r in server.requests(key)]
    assert auth[:3] == ["Bearer t1", "Bearer t2", "Bearer t3"]


def test_an_async_headers_function_that_raises_fails_the_stream(server: Any) -> None:
    async def headers() -> dict:
        raise PermissionError("token service down")

    async def main() -> None:
        async with ssekit.aconnect(server.url("/events"), headers=headers):
            pass

    with pytest.raises(ssekit.HeadersError) as err:
        run(main())
    assert isinstance(err.value.__cause__, PermissionError)


def test_an_async_headers_function_returning_a_bad_header_says_so(server: Any) -> None:
    async def headers() -> dict:
        return {"Bad Name": "x"}

    async def main() -> None:
        async with ssekit.aconnect(server.url("/events"), headers=headers):
            pass

    with pytest.raises(ssekit.HeadersError) as err:
        run(main())
    assert isinstance(err.value.__cause__, ValueError)
    assert "Bad Name" in str(err.value)


def test_a_headers_answer_after_the_connect_timeout_does_not_answer_the_next_attempt(
    server: Any, key: str
) -> None:
    calls = 0

    # Call 2 answers at 1.5 s, after its 1 s timeout, while call 3 (made
    # after the reconnect's delay, at about 1.02 s) is pending until about
    # 1.7 s: the request it leads to must carry call 3's answer.
    async def headers() -> dict:
        nonlocal calls
        calls += 1
        call = calls
        await asyncio.sleep({2: 1.5, 3: 0.7}.get(call, 0))
        return {"X-Call": str(call)}

    async def main() -> List[str]:
        async with ssekit.aconnect(
            server.url(f"/drop?after=1&count=3&key={key}"), headers=headers, connect_timeout=1.0, **FAST
        ) as es:
            return await first_ids(es, 3)

    # One event per connection: calls 1, 3 and 4 connected; 2 timed out.
    assert run(main()) == ["1", "2", "3"]
    assert calls == 4
    sent = [r["header_map"]["x-call"] for r in server.requests(key)]
    assert sent == ["1", "3", "4"]


def test_a_first_headers_answer_that_never_comes_is_a_connect_timeout(server: Any) -> None:
    async def headers() -> dict:
        await asyncio.Event().wait()
        return {}

    async def main() -> None:
        async with ssekit.aconnect(server.url("/events"), headers=headers, connect_timeout=0.2):
            pass

    with pytest.raises(ssekit.ConnectTimeout, match="headers hook did not answer"):
        run(main())


def test_aclose_ends_iteration_and_another_task_can_close(server: Any) -> None:
    async def main() -> List[str]:
        es = ssekit.aconnect(server.url("/stall?after=1&ms=10000"))
        await es.open()
        asyncio.get_running_loop().call_later(0.1, es.close)
        ids = [e.id async for e in es]
        assert es.ready_state == ssekit.ReadyState.CLOSED
        assert es.last_event_id == "1"
        return ids

    assert run(main()) == ["1"]


def test_async_handlers_run_in_the_event_loop_thread(server: Any) -> None:
    async def main() -> set:
        threads = set()
        es = ssekit.aconnect(server.url("/events?count=3"), one_shot=True)
        es.on("message", lambda ev: threads.add(threading.get_ident()))
        es.on_open(lambda r: threads.add(threading.get_ident()))
        await es.open()
        await es.run()
        return threads

    assert run(main()) == {threading.get_ident()}


def test_cancelling_a_waiting_task_leaves_the_loop_clean(server: Any) -> None:
    async def main() -> None:
        es = ssekit.aconnect(server.url("/stall?after=0&ms=10000"))
        await es.open()

        async def consume() -> None:
            async for _ in es:
                pass

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await es.aclose()

    run(main())
