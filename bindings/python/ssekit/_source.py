"""EventSource (blocking) and AsyncEventSource (asyncio) over one native stream.

Threads: ssekit's loop thread reads the network and queues what it parsed;
these classes take from that queue in the thread that iterates (or calls
``run``), so every handler runs in that thread. The loop thread enters
Python only to call a ``headers`` function before a connection attempt.
"""

from __future__ import annotations

import asyncio
import enum
import threading
import time
import weakref
from typing import (
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Dict,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Tuple,
    TypeVar,
    overload,
)

from . import _errors, _options, _ssekit
from ._errors import Headers, SSEError

ServerSentEvent = _ssekit.ServerSentEvent
_Handler = TypeVar("_Handler", bound=Callable[[ServerSentEvent], Any])


class ReadyState(enum.IntEnum):
    """As EventSource.readyState."""

    CONNECTING = 0
    OPEN = 1
    CLOSED = 2


class Response(NamedTuple):
    """The status and headers of the connection that is open."""

    status_code: int
    headers: Headers


class Metrics(NamedTuple):
    """Counters of one stream, over all its connections."""

    events: int
    bytes: int
    reconnects: int
    connections: int
    last_status: int
    idle: float  # seconds since the last byte
    deduped: int


_M_BYTES, _M_EVENTS, _M_RECONNECTS, _M_LAST_STATUS, _M_IDLE, _M_CONNECTIONS, _M_DEDUPED = range(7)


def _hook(ref: "weakref.ReferenceType[_Base]", fn: Callable[[], Any]) -> Callable[[], Any]:
    # A weak reference: the native stream holds the hook, and a strong one
    # would keep the source alive through a cycle the GC cannot see.
    def call() -> Any:
        source = ref()
        if source is None:
            raise SSEError("the event source is gone")
        return source._headers_now(fn)

    return call


class _Base:
    """What the blocking and asyncio sources share: options, state, handlers."""

    def __init__(self, url: str, **options: Any) -> None:
        self._stream, headers_fn = _options.make_stream(url, options)
        self._url = url
        self._listeners: Dict[str, List[Callable[[Any], Any]]] = {}
        self._on_open: List[Callable[[Response], Any]] = []
        self._on_error: List[Callable[[SSEError], Any]] = []
        self._on_comment: List[Callable[[str], Any]] = []
        self._response: Optional[Response] = None
        self._opened_attempt = False
        self._started = False
        self._state = ReadyState.CONNECTING
        self._closed = False  # close() was called, or the stream ended
        self._final: Optional[SSEError] = None
        self._deferred_names: List[str] = []
        # What an async headers function raised, for the HOOK error it causes.
        self._hook_failure: Optional[BaseException] = None
        self._last_retried: Optional[SSEError] = None
        if headers_fn is not None:
            self._stream.set_headers_hook(_hook(weakref.ref(self), headers_fn))

    # -- state ------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._url

    @property
    def ready_state(self) -> ReadyState:
        """CONNECTING, OPEN or CLOSED, in step with what was consumed: as
        in a browser, it changes when the consumer reaches the open, the
        error or the end, not when the network does."""
        return self._state

    @property
    def last_event_id(self) -> str:
        """The last event ID: sent as Last-Event-ID when reconnecting."""
        return self._stream.last_event_id()

    @property
    def response(self) -> Optional[Response]:
        """Status and headers of the current connection (None before it opened)."""
        return self._response

    @property
    def metrics(self) -> Metrics:
        m = self._stream.metric
        return Metrics(
            events=m(_M_EVENTS),
            bytes=m(_M_BYTES),
            reconnects=m(_M_RECONNECTS),
            connections=m(_M_CONNECTIONS),
            last_status=m(_M_LAST_STATUS),
            idle=m(_M_IDLE) / 1000.0,
            deduped=m(_M_DEDUPED),
        )

    def pause(self) -> None:
        """Stops reading from the network (after the read being parsed)
        until :meth:`resume`; the server is slowed by TCP flow control. The
        read timeouts do not run meanwhile."""
        self._stream.pause()

    def resume(self) -> None:
        """Reads from the network again after :meth:`pause`."""
        self._stream.resume()

    def set_header(self, name: str, value: Optional[str]) -> None:
        """Sets (None: removes) a request header from the next connection on."""
        self._stream.set_header(name, value)

    # -- handlers ---------------------------------------------------------

    @overload
    def on(self, event: str) -> Callable[[_Handler], _Handler]: ...
    @overload
    def on(self, event: str, fn: _Handler) -> _Handler: ...

    def on(self, event: str, fn: Optional[_Handler] = None) -> Any:
        """Calls ``fn(ev)`` for each event of type ``event`` (``"message"``
        for events without one), in the thread that consumes the stream.
        Returns ``fn``; without it, a decorator: ``@es.on("update")``."""
        if fn is None:
            return lambda f: self.on(event, f)
        self._listeners.setdefault(event, []).append(fn)
        return fn

    def off(self, event: str, fn: Callable[[Any], Any]) -> None:
        """Removes a handler that :meth:`on` added."""
        fns = self._listeners.get(event, [])
        if fn in fns:
            fns.remove(fn)
        if not fns:
            self._listeners.pop(event, None)

    def on_open(self, fn: Callable[[Response], Any]) -> Callable[[Response], Any]:
        """Calls ``fn(response)`` each time a connection opens."""
        self._on_open.append(fn)
        return fn

    def on_error(self, fn: Callable[[SSEError], Any]) -> Callable[[SSEError], Any]:
        """Calls ``fn(error)`` for every error: with ``error.will_retry`` the
        stream reconnects after ``error.retry_after`` seconds; otherwise it
        ends (and the iterator then raises the same error)."""
        self._on_error.append(fn)
        return fn

    def on_comment(self, fn: Callable[[str], Any]) -> Callable[[str], Any]:
        """Calls ``fn(text)`` for each comment line (keep-alives)."""
        self._on_comment.append(fn)
        return fn

    # -- internals --------------------------------------------------------

    def _headers_now(self, fn: Callable[[], Any]) -> Any:
        """On the loop thread, before a connection attempt."""
        result = fn()
        if hasattr(result, "__await__"):
            return self._defer_headers(result)
        return _options.header_pairs(result)

    def _defer_headers(self, awaitable: Any) -> Any:
        close = getattr(awaitable, "close", None)
        if close is not None:
            close()  # a coroutine that will not run: no "never awaited" warning
        raise TypeError("an async headers function needs ssekit.aconnect()")

    def _resume_headers(self, pairs: Optional[List[Tuple[str, str]]]) -> None:
        try:
            if pairs is not None:
                names = {n.lower() for n, _ in pairs}
                for old in self._deferred_names:
                    if old.lower() not in names:
                        self._stream.set_header(old, None)
                self._deferred_names = [n for n, _ in pairs]
            self._stream.resume_headers(pairs)
        except ValueError as e:  # the attempt failed; its HOOK error says why
            self._hook_failure = e
            self._stream.resume_headers(None)

    def _handle(self, control: Tuple[Any, ...]) -> bool:
        """Applies one non-event item; True when the stream is over."""
        kind = control[0]
        if kind == "open":
            self._response = Response(control[1], Headers(control[2]))
            self._opened_attempt = True
            self._state = ReadyState.OPEN
            for on_open in list(self._on_open):
                on_open(self._response)
        elif kind == "comment":
            for on_comment in list(self._on_comment):
                on_comment(control[1])
        elif kind == "error":
            err = _errors.from_item(control, self._opened_attempt)
            self._opened_attempt = False
            self._response = None
            if err.code == _errors.E_HOOK:
                cause = self._hook_failure or self._stream.hook_error()
                self._hook_failure = None
                if cause is not None:
                    err.__cause__ = cause
                    err.message = err.args[0] + f": {cause!r}"
                    err.args = (err.message,)
            if err.will_retry:
                self._state = ReadyState.CONNECTING
                self._last_retried = err
            else:
                if err.code == _errors.E_RETRIES_EXHAUSTED and self._last_retried is not None:
                    err.__cause__ = self._last_retried
                self._final = err
                self._state = ReadyState.CLOSED
            try:
                for on_error in list(self._on_error):
                    on_error(err)
            finally:
                if err.will_retry and not self._closed:
                    self._stream.ack_error()
        elif kind == "closed":
            self._closed = True
            self._state = ReadyState.CLOSED
            self._response = None
            code = control[1]
            if code not in (0, _errors.E_CLOSED) and self._final is None:
                self._final = _errors.from_code(code, _ssekit.strerror(code))
            return True
        return False

    def _fire(self, ev: Any) -> None:
        """Calls the handlers of ev's type."""
        fns = self._listeners.get(ev.event)
        if fns:
            for fn in list(fns):
                fn(ev)

    def _raise_final(self) -> None:
        err, self._final = self._final, None
        if err is not None:
            raise err

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._url!r} {self.ready_state.name}>"


class EventSource(_Base):
    """A reconnecting stream of :class:`ServerSentEvent`, read by blocking
    iteration or by handlers. Make it with :func:`ssekit.connect`.

    ``with connect(url) as es:`` waits for the first connection (raising
    if it fails, unless ``retry_first=True``); ``for ev in es`` yields the
    events, reconnecting as configured, and raises the error that ends the
    stream. Handlers (:meth:`on`, :meth:`on_open`, :meth:`on_error`,
    :meth:`on_comment`) run in the thread that iterates or calls :meth:`run`.
    """

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self._pending: List[Any] = []
        self._lock = threading.Lock()

    def open(self, timeout: Optional[float] = None) -> "EventSource":
        """Starts the stream and waits until its first connection opens.
        Raises the error that ended it if it could not (by default the
        first failure: see ``retry_first``), or TimeoutError after
        ``timeout`` seconds."""
        self._start()
        if self._response is not None:
            return self
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
            events, control = self._stream.take(left)
            if events:  # cannot precede "open"; kept for the iterator anyway
                self._pending.extend(events)
            if control is None:
                if not events:
                    raise TimeoutError(f"no connection to {self._url} within {timeout} s")
                continue
            if self._handle(control):
                self._raise_final()
                raise SSEError("the stream was closed before it opened", code=_errors.E_CLOSED)
            if control[0] == "open":
                return self

    def _start(self) -> None:
        if not self._started:
            if self._closed:
                raise SSEError("the stream is closed", code=_errors.E_CLOSED)
            self._started = True
            self._stream.start()

    def __enter__(self) -> "EventSource":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Any]:
        return self.iter_sse()

    def iter_sse(self) -> Iterator[Any]:
        """The events, as they arrive (httpx-sse's name)."""
        self._start()
        take = self._stream.take
        while True:
            if self._pending:
                events, self._pending = self._pending, []
                control = None
            elif self._closed:
                self._raise_final()
                return
            else:
                events, control = take(-1.0)
                if self._closed:  # close() from another thread while waiting
                    self._raise_final()
                    return
            if events:
                if self._listeners:
                    for ev in events:
                        self._fire(ev)
                        yield ev
                        if self._closed:
                            return
                else:
                    yield from events
            if control is not None and self._handle(control):
                self._raise_final()
                return

    def run(self) -> None:
        """Calls the handlers until the stream ends or :meth:`close` is
        called (from a handler or another thread). Raises the error that
        ended the stream, after the ``on_error`` handlers saw it."""
        for ev in self.iter_sse():
            pass

    def run_in_thread(self, name: Optional[str] = None) -> threading.Thread:
        """Runs :meth:`run` in a new daemon thread, which calls the handlers;
        the error that ends the stream goes to ``on_error`` only."""

        def main() -> None:
            try:
                self.run()
            except SSEError:
                pass

        t = threading.Thread(target=main, name=name or f"ssekit {self._url}", daemon=True)
        self._start()
        t.start()
        return t

    def close(self) -> None:
        """Stops the stream for good; the iterator then ends. Any thread,
        also from inside a handler. Waits (without the GIL) for ssekit's
        loop to let go of the stream, briefly."""
        self._closed = True
        self._state = ReadyState.CLOSED
        self._pending = []
        self._stream.close()

    def restart(self) -> None:
        """Drops the connection and reconnects at once, with the last event ID."""
        if self._started and not self._closed:
            self._stream.restart()


class AsyncEventSource(_Base):
    """The asyncio form of :class:`EventSource`: ``async with`` and
    ``async for``, made by :func:`ssekit.aconnect`. It never blocks the event
    loop and uses no thread of its own: the loop watches the stream's queue
    descriptor. Handlers run in the event loop's thread. ``headers`` may be
    an async function."""

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._waiter: Optional["asyncio.Future[None]"] = None
        self._pending: List[Any] = []
        self._tasks: "set[asyncio.Future[None]]" = set()
        self._headers_call = 0

    async def open(self) -> "AsyncEventSource":
        """As :meth:`EventSource.open` (use ``asyncio.wait_for`` for a timeout)."""
        self._start()
        while self._response is None:
            events, control = await self._next()
            self._pending.extend(events)
            if control is not None and self._handle(control):
                self._raise_final()
                raise SSEError("the stream was closed before it opened", code=_errors.E_CLOSED)
        return self

    def _start(self) -> None:
        if not self._started:
            if self._closed:
                raise SSEError("the stream is closed", code=_errors.E_CLOSED)
            self._loop = asyncio.get_running_loop()
            self._started = True
            self._stream.start()

    async def _next(self) -> Tuple[List[Any], Optional[Tuple[Any, ...]]]:
        take = self._stream.take
        while True:
            events, control = take(0.0)
            if events or control is not None:
                return events, control
            if self._closed:
                return [], ("closed", _errors.E_CLOSED)
            await self._readable()

    def _readable(self) -> "asyncio.Future[None]":
        loop = self._loop
        assert loop is not None
        fut = loop.create_future()
        fd = self._stream.fd()
        if fd < 0:  # a stream inherited through fork(): it has no queue here
            fut.set_exception(SSEError("this stream belongs to the parent process"))
            return fut
        self._waiter = fut

        def ready() -> None:
            loop.remove_reader(fd)
            self._waiter = None
            if not fut.done():
                fut.set_result(None)

        loop.add_reader(fd, ready)
        fut.add_done_callback(lambda f: f.cancelled() and loop.remove_reader(fd))
        return fut

    async def __aenter__(self) -> "AsyncEventSource":
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self.aiter_sse()

    async def aiter_sse(self) -> AsyncIterator[Any]:
        """The events, as they arrive (httpx-sse's name)."""
        self._start()
        while True:
            if self._pending:
                events, self._pending = self._pending, []
                control = None
            elif self._closed:
                self._raise_final()
                return
            else:
                events, control = await self._next()
                if self._closed and (control is None or control[0] != "closed"):
                    return
            for ev in events:
                if self._listeners:
                    self._fire(ev)
                yield ev
                if self._closed:
                    return
            if control is not None and self._handle(control):
                self._raise_final()
                return

    async def run(self) -> None:
        """Calls the handlers until the stream ends; see EventSource.run."""
        async for _ in self.aiter_sse():
            pass

    async def aclose(self) -> None:
        """Stops the stream for good, without waiting for ssekit's loop."""
        self.close()

    def close(self) -> None:
        """As :meth:`aclose`, from synchronous code (or another thread)."""
        if self._closed:
            return
        self._closed = True
        self._state = ReadyState.CLOSED
        self._pending = []
        waiter = self._waiter
        loop = self._loop
        if waiter is not None and loop is not None:
            fd = self._stream.fd()

            def wake() -> None:
                if fd >= 0:
                    loop.remove_reader(fd)
                if not waiter.done():
                    waiter.set_result(None)

            loop.call_soon_threadsafe(wake)
        self._stream.release()

    def restart(self) -> None:
        if self._started and not self._closed:
            self._stream.restart()

    # An async headers function: the hook (on ssekit's loop thread) defers,
    # and the event loop awaits the function and resumes the stream.
    def _defer_headers(self, awaitable: Any) -> Any:
        loop = self._loop
        if loop is None or loop.is_closed():
            return super()._defer_headers(awaitable)
        loop.call_soon_threadsafe(self._await_headers, awaitable)
        return _ssekit.DEFER

    def _await_headers(self, awaitable: Awaitable[Any]) -> None:
        if self._closed:
            close = getattr(awaitable, "close", None)
            if close is not None:
                close()  # nobody to answer: do not start it
            return
        # Only the latest call answers: one still running was given up on
        # (it outlasted the connect timeout, or the stream restarted), and
        # its late answer must not be taken for the new attempt's. It is
        # left to finish, not cancelled: it may await work shared with
        # others (a token refresh), which a cancel would reach too.
        self._headers_call += 1
        call = self._headers_call

        async def resolve() -> None:
            try:
                pairs = _options.header_pairs(await awaitable)
            except BaseException as e:  # reported with the stream's HOOK error
                if call != self._headers_call:
                    if not isinstance(e, Exception):
                        raise
                    return
                self._hook_failure = e
                if not self._closed:
                    self._stream.resume_headers(None)
                if not isinstance(e, Exception):
                    raise
                return
            if not self._closed and call == self._headers_call:
                self._resume_headers(pairs)

        task = asyncio.ensure_future(resolve())
        self._tasks.add(task)  # a task nobody references may be collected
        task.add_done_callback(self._tasks.discard)
