"""The push parser and the encoder: bytes to events and back, no I/O."""

from __future__ import annotations

from typing import Callable, List, Optional, Union

from . import _errors, _ssekit

ServerSentEvent = _ssekit.ServerSentEvent

BytesLike = Union[bytes, bytearray, memoryview]

DEFAULT_MAX_LINE = 4 * 1024 * 1024
DEFAULT_MAX_EVENT = 16 * 1024 * 1024


class Parser:
    """A text/event-stream parser, exact to the WHATWG rules: feed it bytes
    in chunks of any size; it returns the events each chunk completed.

    >>> p = Parser()
    >>> p.feed(b"data: hello\\n\\n")
    [ServerSentEvent(event='message', data='hello', id='', retry=None)]

    Limits in bytes (0: none) bound a hostile stream's memory; exceeding one
    raises :class:`ssekit.LimitError`, and the parser must be :meth:`reset`.

    ``on_comment`` is called with the text of each comment line (a
    keep-alive) and ``on_retry`` with each valid ``retry`` value in
    milliseconds (it is also given to the next event, as ``retry``), both
    from inside :meth:`feed` as the line is parsed, that is before the call
    returns the events it completed. One that raises stops parsing: feed()
    raises its exception, and the parser starts over (as after reset). A
    callback must not feed, finish or reset its own parser (ValueError).
    """

    __slots__ = ("_p", "_on_comment", "_on_retry")

    def __init__(
        self,
        *,
        max_line: int = DEFAULT_MAX_LINE,
        max_event: int = DEFAULT_MAX_EVENT,
        on_comment: Optional[Callable[[str], object]] = None,
        on_retry: Optional[Callable[[int], object]] = None,
    ) -> None:
        self._p = _ssekit.Parser(max_line, max_event)
        # Kept here, not by the native parser, so that a callback referring
        # to this parser is a cycle the garbage collector can see.
        self._on_comment = on_comment
        self._on_retry = on_retry

    def feed(self, data: BytesLike) -> List[ServerSentEvent]:
        """Parses the next bytes of the stream; returns the events they completed."""
        events, code, message = self._p.feed(data, self._on_comment, self._on_retry)
        if code:
            self._fail(code, message, events)
        return events

    def finish(self) -> List[ServerSentEvent]:
        """Ends the stream. An event without its blank line is discarded, as
        the standard requires; returns [] (a list, for symmetry with feed)."""
        events, code, message = self._p.finish(self._on_comment, self._on_retry)
        if code:
            self._fail(code, message, events)
        return events

    def reset(self) -> None:
        """Back to a new parser's state (buffers, last event ID, errors)."""
        self._p.reset()

    @property
    def last_event_id(self) -> str:
        return self._p.last_event_id

    def _fail(self, code: int, message: str, events: List[ServerSentEvent]) -> None:
        if code in (_errors.E_LINE_TOO_LONG, _errors.E_EVENT_TOO_LARGE):
            raise _errors.LimitError(message or _ssekit.strerror(code), code=code, events=events)
        if code == _errors.E_STATE:
            raise _errors.SSEError("the parser was finished or failed: reset() it first", code=code)
        raise _errors.SSEError(message or _ssekit.strerror(code), code=code)


def encode(
    data: Optional[str] = None,
    *,
    event: Optional[str] = None,
    id: Optional[str] = None,
    retry: Optional[int] = None,
    comment: Optional[str] = None,
) -> bytes:
    """One event as text/event-stream bytes, for servers and tests.

    ``data`` may hold line breaks (each line becomes a ``data`` line);
    ``id=""`` resets the client's last event ID; ``retry`` is in
    milliseconds; ``comment`` adds a comment line first. With no data the
    block only updates the id or retry. ValueError for a type or id with a
    line break.
    """
    out = b""
    if comment is not None:
        out += _ssekit.encode_comment(comment)
    if data is None and event is None and id is None and retry is None:
        if comment is None:
            raise ValueError("encode() needs data, event, id, retry or comment")
        return out
    if retry is not None and (not isinstance(retry, int) or retry < 0):
        raise ValueError("retry must be an int >= 0 (milliseconds)")
    return out + _ssekit.encode_event(data, event or "", id, -1 if retry is None else retry)
