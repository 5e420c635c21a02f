"""ssekit.connect() against the fault-injecting server: what a user of the
blocking API relies on."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any, List

import pytest

import ssekit

FAST = dict(retry=0.02, min_retry=0.01, max_retry=0.2)


def refused_url() -> str:
    # A bound socket that never listens: connecting is refused, and no other
    # process can take the port while it is held.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    refused_url.held = s  # type: ignore[attr-defined]
    return f"http://127.0.0.1:{s.getsockname()[1]}/events"


def test_events_ids_response_and_metrics(server: Any, key: str) -> None:
    with ssekit.connect(server.url(f"/events?count=3&type=tick&key={key}"), one_shot=True) as es:
        assert es.ready_state == ssekit.ReadyState.OPEN
        assert es.response is not None
        assert es.response.status_code == 200
        assert es.response.headers["content-type"].startswith("text/event-stream")
        events = list(es)
    assert [(e.event, e.data, e.id) for e in events] == [
        ("tick", "event 1", "1"), ("tick", "event 2", "2"), ("tick", "event 3", "3")]
    assert es.last_event_id == "3"
    assert es.ready_state == ssekit.ReadyState.CLOSED
    m = es.metrics
    assert (m.events, m.connections, m.last_status) == (3, 1, 200)
    assert m.bytes > 0


def test_a_dropped_connection_resumes_with_last_event_id(server: Any, key: str) -> None:
    url = server.url(f"/drop?after=2&count=6&key={key}")
    errors: List[ssekit.SSEError] = []
    got = []
    with ssekit.connect(url, **FAST) as es:
        es.on_error(errors.append)
        for ev in es:
            got.append(ev.id)
            if len(got) == 6:
                break
    assert got == ["1", "2", "3", "4", "5", "6"], "no partial event, no event twice"
    reqs = server.requests(key)
    assert len(reqs) >= 3
    assert "last-event-id" not in reqs[0]["header_map"]
    assert reqs[1]["header_map"]["last-event-id"] == "2"
    assert reqs[2]["header_map"]["last-event-id"] == "4"
    assert errors and all(e.will_retry for e in errors)
    assert isinstance(errors[0], ssekit.ReadError)


def test_last_event_id_option_is_sent_on_the_first_request(server: Any, key: str) -> None:
    with ssekit.connect(server.url(f"/events?count=5&key={key}"), last_event_id="3", one_shot=True) as es:
        assert [e.id for e in es] == ["4", "5"]
    assert server.requests(key)[0]["header_map"]["last-event-id"] == "3"


@pytest.mark.parametrize("status", [401, 404, 500, 503])
def test_a_failing_first_attempt_raises_with_status_headers_and_body(server: Any, key: str, status: int) -> None:
    url = server.url(f"/status/{status}?body=go+away&header=X-Why:quota&key={key}")
    with pytest.raises(ssekit.HTTPStatusError) as err:
        with ssekit.connect(url, **FAST):
            pytest.fail("must not open")
    e = err.value
    assert e.status_code == status
    assert e.body == b"go away"
    assert e.text == "go away"
    assert e.headers["x-why"] == "quota"
    assert str(status) in str(e)
    assert str(e).endswith(": go away"), "the message quotes the server"
    assert not e.will_retry
    assert len(server.requests(key)) == 1, "raised at once, not retried"


def test_204_means_stop(server: Any) -> None:
    with pytest.raises(ssekit.HTTPStatusError) as err:
        ssekit.connect(server.url("/204"), retry_first=True, **FAST).open()
    assert err.value.status_code == 204


def test_retry_first_retries_a_failing_first_attempt(server: Any, key: str) -> None:
    errors: List[ssekit.SSEError] = []
    es = ssekit.connect(server.url(f"/flaky?fail=2&status=503&count=2&done=1&key={key}"),
                        retry_first=True, done="[DONE]", **FAST)
    es.on_error(errors.append)
    with es:
        assert [e.data for e in es] == ["event 1", "event 2"]
    assert [(type(e), e.status_code, e.will_retry) for e in errors] == [
        (ssekit.HTTPStatusError, 503, True)] * 2
    assert all(e.retry_after is not None and e.retry_after >= 0.01 for e in errors)


def test_a_wrong_content_type_is_a_content_type_error(server: Any) -> None:
    with pytest.raises(ssekit.ContentTypeError) as err:
        with ssekit.connect(server.url("/ctype?value=text/plain")):
            pass
    assert err.value.content_type == "text/plain"
    assert err.value.status_code == 200


def test_a_refused_connection_is_a_connect_error() -> None:
    with pytest.raises(ssekit.ConnectError) as err:
        with ssekit.connect(refused_url()):
            pass
    assert isinstance(err.value, ssekit.TransportError)
    assert not isinstance(err.value, ssekit.ConnectTimeout)


def test_a_stalled_stream_times_out_and_reconnects(server: Any, key: str) -> None:
    errors: List[ssekit.SSEError] = []
    url = server.url(f"/stall?after=1&ms=3000&key={key}")
    with ssekit.connect(url, read_timeout=0.2, **FAST) as es:
        es.on_error(errors.append)
        ids = []
        for ev in es:
            ids.append(ev.id)
            if len(ids) == 2:
                break
    assert isinstance(errors[0], ssekit.ReadTimeout)
    assert errors[0].will_retry
    assert ids == ["1", "2"]


def test_an_event_timeout_catches_a_stream_that_only_pings(server: Any, key: str) -> None:
    errors: List[ssekit.SSEError] = []
    url = server.url(f"/stall?after=0&ms=3000&heartbeat_ms=20&key={key}")
    es = ssekit.connect(url, event_timeout=0.2, max_attempts=1, **FAST)
    es.on_error(errors.append)
    with pytest.raises(ssekit.RetriesExhausted):
        with es:
            for _ in es:
                pass
    assert all(isinstance(e, (ssekit.ReadTimeout, ssekit.RetriesExhausted)) for e in errors)
    assert isinstance(errors[0], ssekit.ReadTimeout)


def test_post_json_with_a_done_sentinel(server: Any, key: str) -> None:
    url = server.url(f"/events?count=3&done=1&ids=0&end=hang&key={key}")
    with ssekit.connect(url, json={"prompt": "hi"}, done="[DONE]") as es:
        assert [e.data for e in es] == ["event 1", "event 2", "event 3"]
    assert es.ready_state == ssekit.ReadyState.CLOSED
    req = server.requests(key)[0]
    assert req["method"] == "POST"
    assert json.loads(req["body"]) == {"prompt": "hi"}
    assert req["header_map"]["content-type"] == "application/json"


def test_headers_function_is_called_before_every_attempt(server: Any, key: str) -> None:
    calls = []

    def headers() -> dict:
        calls.append(threading.current_thread().name)
        return {"Authorization": f"Bearer token-{len(calls)}"}

    with ssekit.connect(server.url(f"/drop?after=1&count=3&key={key}"), headers=headers, **FAST) as es:
        ids = [ev.id for _, ev in zip(range(3), es)]
    assert ids == ["1", "2", "3"]
    auth = [r["header_map"]["authorization"] for r in server.requests(key)]
    assert auth[:3] == ["Bearer token-1", "Bearer token-2", "Bearer token-3"]
    assert threading.current_thread().name not in calls, "runs on ssekit's loop thread"


def test_a_headers_function_that_raises_fails_the_stream(server: Any) -> None:
    def headers() -> dict:
        raise LookupError("no token")

    with pytest.raises(ssekit.HeadersError) as err:
        with ssekit.connect(server.url("/events"), headers=headers):
            pass
    assert isinstance(err.value.__cause__, LookupError)
    assert "no token" in str(err.value)


def test_headers_can_change_while_the_stream_runs(server: Any, key: str) -> None:
    with ssekit.connect(server.url(f"/drop?after=1&count=2&key={key}"), headers={"X-A": "1"}, **FAST) as es:
        it = iter(es)
        assert next(it).id == "1"
        es.set_header("X-A", "2")
        es.set_header("X-B", "new")
        assert next(it).id == "2"
    first, second = server.requests(key)[:2]
    assert first["header_map"]["x-a"] == "1" and "x-b" not in first["header_map"]
    assert second["header_map"]["x-a"] == "2" and second["header_map"]["x-b"] == "new"


def test_credentials_do_not_follow_a_redirect_to_another_host(server: Any, key: str) -> None:
    target = f"/events?count=1%26key={key}"
    url = server.url(f"/redirect?status=302&to_host=127.0.0.2&to_path={target}&key={key}")
    with ssekit.connect(url, headers={"Authorization": "Bearer S", "X-Api-Key": "K"}, one_shot=True) as es:
        assert [e.data for e in es] == ["event 1"]
    first, hop = server.requests(key)[:2]
    assert first["header_map"]["authorization"] == "Bearer S"
    assert hop["server"].startswith("127.0.0.2:")
    assert "authorization" not in hop["header_map"]
    assert "x-api-key" not in hop["header_map"]


def test_close_from_another_thread_ends_a_blocked_iteration(server: Any) -> None:
    es = ssekit.connect(server.url("/stall?after=1&ms=10000"))
    es.open()
    threading.Timer(0.2, es.close).start()
    start = time.monotonic()
    assert [e.id for e in es] == ["1"]
    assert time.monotonic() - start < 5
    assert es.ready_state == ssekit.ReadyState.CLOSED


def test_close_from_a_handler_stops_delivery(server: Any) -> None:
    es = ssekit.connect(server.url("/events?count=-1&interval_ms=1"))
    seen = []

    @es.on("message")
    def on_message(ev: ssekit.ServerSentEvent) -> None:
        seen.append(ev.id)
        if len(seen) == 3:
            es.close()

    with es:
        es.run()
    assert seen == ["1", "2", "3"]


def test_handlers_for_types_open_errors_and_comments(server: Any, key: str) -> None:
    es = ssekit.connect(server.url(f"/drop?after=2&count=4&type=tick&comment_every=1&key={key}"), **FAST)
    ticks, opens, errors, comments = [], [], [], []
    es.on("tick", lambda ev: ticks.append(ev.id))
    es.on("other", lambda ev: pytest.fail("wrong type"))
    es.on_open(lambda r: opens.append(r.status_code))
    es.on_error(errors.append)
    es.on_comment(comments.append)
    with es:
        for ev in es:
            if ev.id == "4":
                break
    assert ticks == ["1", "2", "3", "4"]
    assert opens == [200, 200]
    assert len(errors) == 1 and errors[0].will_retry
    assert comments and all(c == "keep-alive" for c in comments)


def test_run_in_thread_calls_handlers_on_that_thread(server: Any) -> None:
    es = ssekit.connect(server.url("/events?count=3"), one_shot=True)
    threads = set()
    done = threading.Event()
    es.on("message", lambda ev: threads.add(threading.current_thread().name))
    t = es.run_in_thread(name="consumer")
    t.join(5)
    assert not t.is_alive()
    assert threads == {"consumer"}
    assert es.metrics.events == 3
    done.set()


def test_restart_reconnects_with_the_last_event_id(server: Any, key: str) -> None:
    with ssekit.connect(server.url(f"/events?count=-1&interval_ms=5&key={key}")) as es:
        it = iter(es)
        assert next(it).id == "1"
        es.restart()
        ids = [next(it).id for _ in range(5)]
    reqs = server.requests(key)
    assert len(reqs) >= 2
    resumed = reqs[1]["header_map"]["last-event-id"]
    assert int(resumed) >= 1
    assert sorted(set(ids)) == sorted(ids), "no event twice"


def test_tls_needs_the_servers_ca(tls_server: Any) -> None:
    with ssekit.connect(tls_server.url("/events?count=2"), verify=tls_server.ca_file, one_shot=True) as es:
        assert [e.id for e in es] == ["1", "2"]
    with pytest.raises(ssekit.TLSError):
        with ssekit.connect(tls_server.url("/events?count=2")):
            pass


def test_an_oversize_event_is_a_limit_error_that_reconnects(server: Any) -> None:
    errors: List[ssekit.SSEError] = []
    es = ssekit.connect(server.url("/oversize?bytes=100000"), max_event=1000, **FAST)

    @es.on_error
    def on_error(e: ssekit.SSEError) -> None:
        errors.append(e)
        es.close()

    with es:
        assert list(es) == [], "the oversize event is never delivered"
    assert isinstance(errors[0], ssekit.LimitError)
    assert errors[0].will_retry
    assert "1000" in str(errors[0]) or "large" in str(errors[0])


def test_one_shot_never_sends_the_request_again(server: Any, key: str) -> None:
    url = server.url(f"/drop?after=2&key={key}")
    got = []
    with pytest.raises(ssekit.ReadError) as err:
        with ssekit.connect(url, json={"q": 1}, one_shot=True, **FAST) as es:
            for ev in es:
                got.append(ev.id)
    assert got == ["1", "2"]
    assert not err.value.will_retry
    time.sleep(0.1)
    assert len(server.requests(key)) == 1


def test_open_timeout_counts_from_the_call(server: Any) -> None:
    es = ssekit.connect(server.url("/status/503"), retry_first=True, retry=0.05, min_retry=0.05)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        es.open(timeout=0.5)
    assert time.monotonic() - start < 5, "retries do not restart the clock"
    es.close()


def test_retries_exhausted_carries_the_last_failure(server: Any, key: str) -> None:
    es = ssekit.connect(server.url(f"/status/503?key={key}"), retry_first=True, max_attempts=2, **FAST)
    with pytest.raises(ssekit.RetriesExhausted) as err:
        es.open()
    assert isinstance(err.value.__cause__, ssekit.HTTPStatusError)
    assert err.value.__cause__.status_code == 503


def test_options_are_checked() -> None:
    with pytest.raises(TypeError):
        ssekit.connect("http://127.0.0.1:1/", no_such_option=1)
    with pytest.raises(ValueError):
        ssekit.connect("ftp://example.com/")
    with pytest.raises(ValueError):
        ssekit.connect("http://127.0.0.1:1/", retry=-1)
    with pytest.raises(ValueError):
        ssekit.connect("http://127.0.0.1:1/", headers={"Bad Name": "x"})
    with pytest.raises(TypeError):
        ssekit.connect("http://127.0.0.1:1/", body=b"x", json={})


def test_pause_stops_reading_until_resume(server: Any) -> None:
    with ssekit.connect(server.url("/events?count=-1&interval_ms=2")) as es:
        it = iter(es)
        next(it)
        es.pause()
        # The pause takes effect once the loop has taken it (at most one
        # read later): wait until the count stops moving.
        settled = -1
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and es.metrics.events != settled:
            settled = es.metrics.events
            time.sleep(0.2)
        time.sleep(0.3)
        assert es.metrics.events == settled, "nothing is read while paused"
        es.resume()
        deadline = time.monotonic() + 5
        while es.metrics.events <= settled and time.monotonic() < deadline:
            next(it)
        assert es.metrics.events > settled


def test_close_in_on_error_is_never_followed_by_another_request(server: Any, key: str) -> None:
    es = ssekit.connect(server.url(f"/drop?after=1&key={key}"), retry=0.0, min_retry=0.0)
    errors: List[ssekit.SSEError] = []

    @es.on_error
    def on_error(e: ssekit.SSEError) -> None:
        errors.append(e)
        time.sleep(0.3)  # a slow handler: the reconnect delay (0) passes meanwhile
        es.close()

    with es:
        assert [e.id for e in es] == ["1"]
    time.sleep(0.2)
    assert len(errors) == 1 and errors[0].will_retry
    assert len(server.requests(key)) == 1
