"""The exceptions ssekit raises, all under :class:`SSEError`."""

from __future__ import annotations

from typing import Any, Iterator, List, Mapping, Optional, Tuple, Union

__all__ = [
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
    "Headers",
]

# The C API's error codes (ssekit.h, append-only).
E_INVALID = -1
E_NOMEM = -2
E_LINE_TOO_LONG = -3
E_EVENT_TOO_LARGE = -4
E_CALLBACK = -5
E_STATE = -6
E_INTERNAL = -8
E_HTTP_STATUS = -9
E_CONTENT_TYPE = -10
E_NETWORK = -11
E_CONNECT_TIMEOUT = -12
E_READ_TIMEOUT = -13
E_TLS = -14
E_TOO_MANY_REDIRECTS = -15
E_STREAM_ENDED = -16
E_RETRIES_EXHAUSTED = -17
E_CLOSED = -18
E_HOOK = -19
E_REQUEST = -20
E_REDIRECT = -21
E_RESPONSE_TOO_LARGE = -22
E_EVENT_TIMEOUT = -23


class Headers(Mapping[str, str]):
    """Response headers: a read-only mapping with case-insensitive names.

    ``headers["content-type"]`` gives the first value of a name;
    :meth:`get_list` every value, and :meth:`raw` the pairs as received.
    """

    __slots__ = ("_items", "_index")

    def __init__(self, items: "Union[List[Tuple[str, str]], Mapping[str, str], None]" = None) -> None:
        pairs = list(items.items()) if isinstance(items, Mapping) else list(items or [])
        self._items: List[Tuple[str, str]] = pairs
        self._index: dict[str, str] = {}
        for name, value in pairs:
            self._index.setdefault(name.lower(), value)

    def __getitem__(self, name: str) -> str:
        return self._index[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def get_list(self, name: str) -> List[str]:
        """Every value of ``name``, in arrival order."""
        key = name.lower()
        return [v for n, v in self._items if n.lower() == key]

    def raw(self) -> List[Tuple[str, str]]:
        """The (name, value) pairs as the server sent them."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class SSEError(Exception):
    """Base of every ssekit error.

    ``code`` is the C API's error code (negative), ``status_code`` the HTTP
    status of the response that failed (0 when there was none), and
    ``will_retry`` whether the stream reconnects after it (errors that reach
    an ``on_error`` handler may; an error raised from an iterator ended the
    stream).
    """

    def __init__(
        self,
        message: str,
        *,
        code: int = 0,
        status_code: int = 0,
        will_retry: bool = False,
        retry_after: Optional[float] = None,
        headers: Optional[Headers] = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status_code = status_code
        self.will_retry = will_retry
        #: Seconds until the reconnection, when ``will_retry``.
        self.retry_after = retry_after
        #: The failing response's headers (HTTP status and content type errors).
        self.headers = headers if headers is not None else Headers()
        #: The first bytes of the failing response's body.
        self.body = body

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.body.decode("utf-8", "replace")


class HTTPStatusError(SSEError):
    """The server answered with a status other than 200 (``status_code``);
    ``headers`` and ``body`` (its first KiBs) say why."""


class ContentTypeError(SSEError):
    """The response is not ``text/event-stream``."""

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class TransportError(SSEError):
    """The network failed."""


class ConnectError(TransportError):
    """A connection could not be made: DNS, refused, unreachable."""


class ConnectTimeout(ConnectError):
    """Connecting took longer than ``connect_timeout``."""


class ReadError(TransportError):
    """An open connection broke or ended."""


class ReadTimeout(TransportError):
    """Nothing (``read_timeout``) or no event (``event_timeout``) arrived in time."""


class TLSError(TransportError):
    """TLS failed: handshake, certificate verification, client certificate."""


class RedirectError(SSEError):
    """A redirect was refused (https to http, another scheme) or there were too many."""


class LimitError(SSEError):
    """A line, an event or the response headers exceeded their limit."""

    def __init__(self, message: str, *, code: int = 0, events: Optional[List[Any]] = None,
                 **kwargs: Any) -> None:
        super().__init__(message, code=code, **kwargs)
        #: For :class:`ssekit.Parser`: the events parsed before the limit was hit.
        self.events: List[Any] = list(events) if events else []


class RetriesExhausted(SSEError):
    """``max_attempts`` or ``max_retry_time`` was reached; ``__cause__`` is the last failure."""


class HeadersError(SSEError):
    """The ``headers`` function raised (its exception is ``__cause__``) or returned bad headers."""


class RequestError(SSEError):
    """The request could not be made (bad URL, unsupported option)."""


_BY_CODE = {
    E_HTTP_STATUS: HTTPStatusError,
    E_CONTENT_TYPE: ContentTypeError,
    E_CONNECT_TIMEOUT: ConnectTimeout,
    E_READ_TIMEOUT: ReadTimeout,
    E_EVENT_TIMEOUT: ReadTimeout,
    E_TLS: TLSError,
    E_TOO_MANY_REDIRECTS: RedirectError,
    E_REDIRECT: RedirectError,
    E_LINE_TOO_LONG: LimitError,
    E_EVENT_TOO_LARGE: LimitError,
    E_RESPONSE_TOO_LARGE: LimitError,
    E_RETRIES_EXHAUSTED: RetriesExhausted,
    E_HOOK: HeadersError,
    E_REQUEST: RequestError,
    E_INVALID: RequestError,
    E_STREAM_ENDED: ReadError,
}


def from_item(item: Tuple[Any, ...], opened: bool) -> SSEError:
    """The exception for a queue ERROR item; ``opened``: whether the attempt
    it ends had opened (a broken stream is a ReadError, not a ConnectError)."""
    _, code, status, message, will_retry, retry_ms, headers, body = item
    cls = _BY_CODE.get(code)
    if cls is None:
        cls = (ReadError if opened else ConnectError) if code == E_NETWORK else SSEError
    if body and code in (E_HTTP_STATUS, E_CONTENT_TYPE):
        # The server's own words are usually the best explanation.
        text = body[:200].decode("utf-8", "replace").strip()
        if text:
            message = f"{message}: {text}" + ("..." if len(body) > 200 else "")
    return cls(
        message,
        code=code,
        status_code=status,
        will_retry=will_retry,
        retry_after=retry_ms / 1000.0 if will_retry else None,
        headers=Headers(headers),
        body=body,
    )


def from_code(code: int, message: str) -> SSEError:
    cls = _BY_CODE.get(code, SSEError)
    return cls(message, code=code)
