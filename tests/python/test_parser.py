"""ssekit.Parser against the shared parser cases (tests/cases/parser.json),
fed whole, at every split point and one byte at a time; and encode()."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Tuple

import pytest

import ssekit

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
with open(os.path.join(ROOT, "tests", "cases", "parser.json"), encoding="utf-8") as f:
    CASES = json.load(f)["cases"]


def case_input(case: Dict[str, Any]) -> bytes:
    if "input_hex" in case:
        return bytes.fromhex(case["input_hex"])
    return case["input"].encode("utf-8")


Result = Tuple[List[Tuple[str, str, str, Any]], List[str], List[int], str]


def expected(case: Dict[str, Any]) -> Result:
    """What the case expects: the events as (event, data, id, retry), the
    comments (on_comment) and retry values (on_retry) in order, and the
    error it ends with (""). A `retry` entry also belongs to the next event."""
    events = []
    comments = []
    retries = []
    retry = None
    error = ""
    for e in case["expect"]:
        if "retry" in e:
            retry = e["retry"]
            retries.append(e["retry"])
        elif "comment" in e:
            comments.append(e["comment"])
        elif "error" in e:
            error = e["error"]
        elif "event" in e:
            events.append((e["event"], e["data"], e["id"], retry))
            retry = None
    return events, comments, retries, error


ERRORS = {"line_too_long": -3, "event_too_large": -4}


def run(case: Dict[str, Any], chunks: List[bytes]) -> Result:
    opts = case.get("options") or {}
    comments: List[str] = []
    retries: List[int] = []
    p = ssekit.Parser(
        max_line=opts.get("max_line", 4 << 20),
        max_event=opts.get("max_event", 16 << 20),
        on_comment=comments.append,
        on_retry=retries.append,
    )
    got: List[Any] = []
    error = ""
    try:
        for c in chunks:
            got += p.feed(c)
        got += p.finish()
    except ssekit.LimitError as e:
        got += e.events
        error = {v: k for k, v in ERRORS.items()}[e.code]
    return [(g.event, g.data, g.id, g.retry) for g in got], comments, retries, error


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case_whole_split_and_bytewise(case: Dict[str, Any]) -> None:
    data = case_input(case)
    want = expected(case)
    assert run(case, [data]) == want, "fed whole"
    for i in range(1, len(data)):
        assert run(case, [data[:i], data[i:]]) == want, f"split at {i}"
    assert run(case, [data[i:i + 1] for i in range(len(data))]) == want, "one byte at a time"


def test_every_case_is_checked() -> None:
    assert len(CASES) > 200
    assert sum(1 for c in CASES if expected(c)[0]) > 130
    assert sum(1 for c in CASES if expected(c)[1]) > 20
    assert sum(1 for c in CASES if expected(c)[2]) > 10


def test_comments_and_retries_reach_their_callbacks_as_they_are_parsed() -> None:
    seen: List[Any] = []
    p = ssekit.Parser(on_comment=lambda t: seen.append(("comment", t)), on_retry=lambda ms: seen.append(("retry", ms)))
    # A retry alone, with no event to carry it, still reaches on_retry.
    assert p.feed(b": keep-alive\nretry: 250\n\n:\n") == []
    assert seen == [("comment", "keep-alive"), ("retry", 250), ("comment", "")]
    # ... and the next event carries it too.
    assert p.feed(b"data: x\n\n") == [ssekit.ServerSentEvent("message", "x", "", 250)]


def test_a_callback_that_raises_stops_feed_and_the_parser_starts_over() -> None:
    def boom(text: str) -> None:
        raise KeyError(text)

    p = ssekit.Parser(on_comment=boom)
    with pytest.raises(KeyError, match="ping"):
        p.feed(b"id: 1\ndata: a\n\n: ping\ndata: lost\n\n")
    assert p.last_event_id == ""
    assert [e.data for e in p.feed(b"data: b\n\n")] == ["b"]

    def bad_retry(ms: int) -> None:
        raise ValueError(ms)

    q = ssekit.Parser(on_retry=bad_retry)
    with pytest.raises(ValueError):
        q.feed(b"retry: 250\n")
    # Over, as after reset(): the failed retry is not given to the next event.
    assert q.feed(b"data: c\n\n") == [ssekit.ServerSentEvent("message", "c", "", None)]


def test_a_callback_cannot_reenter_its_parser() -> None:
    box: List[Any] = []

    def feed_again(text: str) -> None:
        box[0].feed(b"data: inner\n\n")

    p = ssekit.Parser(on_comment=feed_again)
    box.append(p)
    with pytest.raises(ValueError, match="callback"):
        p.feed(b": x\n")
    box[0] = None

    def reset_it(text: str) -> None:
        q.reset()

    q = ssekit.Parser(on_comment=reset_it)
    with pytest.raises(ValueError, match="callback"):
        q.feed(b": x\n")
    assert [e.data for e in q.feed(b"data: ok\n\n")] == ["ok"]


def test_a_parser_in_a_cycle_through_its_callback_is_collected() -> None:
    import gc
    import weakref

    class Holder:
        def __init__(self) -> None:
            self.parser = ssekit.Parser(on_comment=self.on_comment)

        def on_comment(self, text: str) -> None:
            pass

    h = Holder()
    ref = weakref.ref(h)
    del h
    gc.collect()
    assert ref() is None


def test_events_are_immutable_values() -> None:
    ev = ssekit.Parser().feed(b"event: x\nid: 7\nretry: 10\ndata: {\"a\": 1}\n\n")[0]
    assert ev == ssekit.ServerSentEvent(event="x", data='{"a": 1}', id="7", retry=10)
    assert hash(ev) == hash(ssekit.ServerSentEvent("x", '{"a": 1}', "7", 10))
    assert ev.json() == {"a": 1}
    assert repr(ev) == "ServerSentEvent(event='x', data='{\"a\": 1}', id='7', retry=10)"
    with pytest.raises(AttributeError):
        ev.data = "y"  # type: ignore[misc]
    match ev:
        case ssekit.ServerSentEvent(event="x", data=d):
            assert d == '{"a": 1}'
        case _:
            pytest.fail("no match")
    import pickle

    assert pickle.loads(pickle.dumps(ev)) == ev
    assert ssekit.ServerSentEvent() == ssekit.ServerSentEvent("message", "", "", None)
    with pytest.raises(TypeError):
        ssekit.ServerSentEvent(data=1)  # type: ignore[arg-type]


def test_a_limit_stops_the_parser_until_reset() -> None:
    p = ssekit.Parser(max_line=8)
    with pytest.raises(ssekit.LimitError) as err:
        p.feed(b"data: ok\n\nevent: far too long\n")
    assert [e.data for e in err.value.events] == ["ok"]
    assert "line" in str(err.value)
    with pytest.raises(ssekit.SSEError):
        p.feed(b"data: more\n\n")
    p.reset()
    assert [e.data for e in p.feed(b"data: more\n\n")] == ["more"]


def test_feed_takes_any_bytes_like_object() -> None:
    p = ssekit.Parser()
    assert p.feed(bytearray(b"data: a\n\n"))[0].data == "a"
    assert p.feed(memoryview(b"data: b\n\n"))[0].data == "b"
    with pytest.raises(TypeError):
        p.feed("data: c\n\n")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        p.feed(memoryview(b"d?a?t?a?:? ?x?\n?\n?")[::2])  # strided: not its bytes in a row
    assert p.feed(memoryview(b"xxdata: d\n\n")[2:])[0].data == "d"
    assert p.last_event_id == ""


def test_encode_round_trips_through_the_parser() -> None:
    raw = ssekit.encode("line 1\nline 2", event="update", id="42", retry=1500, comment="hi")
    assert raw == b": hi\nevent: update\nid: 42\nretry: 1500\ndata: line 1\ndata: line 2\n\n"
    assert ssekit.Parser().feed(raw) == [ssekit.ServerSentEvent("update", "line 1\nline 2", "42", 1500)]
    assert ssekit.encode("x") == b"data: x\n\n"
    assert ssekit.encode(comment="keep-alive") == b": keep-alive\n"
    with pytest.raises(ValueError):
        ssekit.encode("x", id="a\nb")
    with pytest.raises(ValueError):
        ssekit.encode()
