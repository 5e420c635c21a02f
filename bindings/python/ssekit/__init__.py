"""ssekit: a fast, reconnecting Server-Sent Events client.

Blocking::

    with ssekit.connect("https://example.com/events") as es:
        for ev in es:
            print(ev.event, ev.data)

asyncio::

    async with ssekit.aconnect(url, headers={"Authorization": "Bearer ..."}) as es:
        async for ev in es:
            ...

The events come from ssekit's C++ core (the same one the C, C++ and Node
APIs use): WHATWG-exact parsing, Last-Event-ID reconnects with backoff,
bounded memory against any server.
"""

from __future__ import annotations

import atexit as _atexit
import os as _os
from typing import Any

from . import _ssekit
from ._errors import (
    ConnectError,
    ConnectTimeout,
    ContentTypeError,
    Headers,
    HeadersError,
    HTTPStatusError,
    LimitError,
    ReadError,
    ReadTimeout,
    RedirectError,
    RequestError,
    RetriesExhausted,
    SSEError,
    TLSError,
    TransportError,
)
from ._parser import Parser, encode
from ._source import AsyncEventSource, EventSource, Metrics, ReadyState, Response

ServerSentEvent = _ssekit.ServerSentEvent

__version__ = "0.2.0"
#: The version of the C++ core inside this module.
core_version: str = _ssekit.version

__all__ = [
    "connect",
    "aconnect",
    "EventSource",
    "AsyncEventSource",
    "ServerSentEvent",
    "Parser",
    "encode",
    "ReadyState",
    "Response",
    "Metrics",
    "Headers",
    "SSEError",
    "HTTPStatusError",
    "ContentTypeError",
    "TransportError",
    "ConnectError",
    "ConnectTimeout",
    "ReadError",
    "ReadTimeout",
    "TLSError",
    "RedirectError",
    "LimitError",
    "RetriesExhausted",
    "HeadersError",
    "RequestError",
]


def connect(url: str, **options: Any) -> EventSource:
    """An :class:`EventSource` for ``url``, not yet connected: use it as a
    context manager (which waits for the first connection) or iterate it.

    Request: ``method`` ("GET", or "POST" with a body), ``headers`` (a
    mapping, pairs, or a function returning them, called on ssekit's loop
    thread before every connection attempt), ``body`` (bytes or str, sent
    again on every reconnect), ``json`` (an object sent as JSON, with its
    Content-Type), ``last_event_id``, ``last_event_id_param`` (also send it
    as this query parameter).

    Reconnecting (durations in seconds): ``retry`` (initial delay, 3.0),
    ``min_retry`` (floor under every delay, 0.25), ``max_retry`` (30.0),
    ``reset_after`` (60.0), ``max_retry_after`` (cap on Retry-After, 600.0),
    ``max_attempts`` (failures in a row; None: unlimited), ``max_retry_time``,
    ``strict`` (every status but 200 ends the stream, as browsers do),
    ``retry_first`` (False: a failing first attempt raises from ``open()``
    or the first iteration; True: it retries like later ones).

    Timeouts: ``connect_timeout`` (30.0), ``read_timeout`` (nothing at all
    arrived; None: wait forever), ``event_timeout`` (no event arrived,
    though pings may have).

    One-shot streams (LLM answers): ``one_shot=True`` (the end of the body
    finishes the iteration, and a failure is raised instead of sending the
    request again), ``done="[DONE]"`` (an event with this data ends it),
    ``dispatch_unterminated``.

    Safety: ``max_line`` and ``max_event`` (bytes), ``max_redirects``,
    ``redirect_headers`` (forward non-credential headers to other origins),
    ``insecure_redirects`` (allow https to http), ``verify`` (True, False,
    or a CA file or directory), ``cert`` (a path or (cert, key)),
    ``proxy``, ``cookie_file``, ``dedupe``, ``error_body_size`` (bytes of an
    error response kept for :class:`HTTPStatusError`, 65536) and
    ``error_body_timeout`` (5.0), ``queue_events`` and ``queue_bytes``
    (how much is buffered before the network is paused).
    """
    return EventSource(url, **options)


def aconnect(url: str, **options: Any) -> AsyncEventSource:
    """The asyncio form of :func:`connect`: ``async with aconnect(url) as es:
    async for ev in es: ...``. Same options; ``headers`` may also be an
    async function, awaited in the event loop before each attempt: one that
    has not answered within ``connect_timeout`` fails that attempt
    (ConnectTimeout), and the next attempt calls it again (a late answer
    from the earlier call is ignored)."""
    return AsyncEventSource(url, **options)


# Streams still open when the interpreter exits are released first, and
# ssekit's loop thread stops entering Python.
_atexit.register(_ssekit._release_all)
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_ssekit._after_fork)
