"""Turns connect()'s keyword arguments into calls on the native stream.

Only options the caller gave are set, so every default is the core's.
Durations are seconds (floats); the core takes milliseconds.
"""

from __future__ import annotations

import json as _json
from typing import Any, Callable, Iterable, List, Mapping, Optional, Tuple, Union

from . import _ssekit

HeadersArg = Union[Mapping[str, str], Iterable[Tuple[str, str]], Callable[[], Any], None]

_DEFAULT_QUEUE_EVENTS = 4096
_DEFAULT_QUEUE_BYTES = 4 * 1024 * 1024

# keyword -> (setter, C name)
_DURATIONS = {
    "retry": "initial_delay",
    "min_retry": "min_delay",
    "max_retry": "max_delay",
    "reset_after": "reset_after",
    "max_retry_after": "max_retry_after",
    "max_retry_time": "max_retry_time",
    "connect_timeout": "connect_timeout",
    "read_timeout": "read_timeout",
    "event_timeout": "event_timeout",
}
_COUNTS = {
    "max_attempts": "max_attempts",
    "max_redirects": "max_redirects",
    "max_line": "max_line",
    "max_event": "max_event",
}
_FLAGS = {
    "strict": "strict",
    "dispatch_unterminated": "dispatch_unterminated",
    "dedupe": "dedupe",
    "redirect_headers": "redirect_headers",
    "insecure_redirects": "insecure_redirects",
}
_STRINGS = {
    "last_event_id": "last_event_id",
    "last_event_id_param": "last_event_id_param",
    "done": "done_sentinel",
    "proxy": "proxy",
    "cookie_file": "cookie_file",
}

KNOWN = (
    set(_DURATIONS) | set(_COUNTS) | set(_FLAGS) | set(_STRINGS)
    | {"method", "headers", "body", "json", "verify", "cert", "one_shot", "retry_first",
       "error_body_size", "error_body_timeout", "queue_events", "queue_bytes"}
)


def _ms(name: str, seconds: float) -> int:
    if seconds is None or seconds < 0 or seconds != seconds:
        raise ValueError(f"{name} must be a number of seconds >= 0, not {seconds!r}")
    # Huge values mean "forever"; the core clamps them.
    return int(min(seconds, 1e15) * 1000.0)


def _count(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, not {value!r}")
    return value


def header_pairs(h: Any) -> List[Tuple[str, str]]:
    """A mapping or an iterable of pairs as a list of (name, value) strs."""
    items = h.items() if isinstance(h, Mapping) else h
    out = []
    for name, value in items:
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError(f"header names and values must be str, not {name!r}: {value!r}")
        out.append((name, value))
    return out


def make_stream(url: str, opts: Mapping[str, Any]) -> Tuple[_ssekit.Stream, Optional[Callable[[], Any]]]:
    """A configured, unstarted native stream, and the headers function (if
    ``headers`` was callable) for the caller to install as the hook."""
    unknown = set(opts) - KNOWN
    if unknown:
        raise TypeError(f"connect() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    if not (url.startswith("http://") or url.startswith("https://")):
        raise ValueError(f"url must be an http:// or https:// URL, not {url!r}")

    s = _ssekit.Stream(
        url,
        _count("queue_events", opts.get("queue_events", _DEFAULT_QUEUE_EVENTS)),
        _count("queue_bytes", opts.get("queue_bytes", _DEFAULT_QUEUE_BYTES)),
    )
    body = opts.get("body")
    if opts.get("json") is not None:
        if body is not None:
            raise TypeError("give body or json, not both")
        body = _json.dumps(opts["json"], separators=(",", ":")).encode()
    if isinstance(body, str):
        body = body.encode()
    if body is not None and not isinstance(body, (bytes, bytearray, memoryview)):
        raise TypeError("body must be bytes or str")
    method = opts.get("method") or ("POST" if body is not None else "GET")
    s.set_str("method", method)
    if body is not None:
        s.set_body(bytes(body))

    headers_fn: Optional[Callable[[], Any]] = None
    headers = opts.get("headers")
    static: List[Tuple[str, str]] = []
    if callable(headers):
        headers_fn = headers
    elif headers is not None:
        static = header_pairs(headers)
    if opts.get("json") is not None and not any(n.lower() == "content-type" for n, _ in static):
        static.append(("Content-Type", "application/json"))
    for name, value in static:
        try:
            s.add_header(name, value)
        except ValueError:
            raise ValueError(f"invalid header {name!r}: {value!r}") from None

    for key, cname in _DURATIONS.items():
        if opts.get(key) is not None:
            s.set_u64(cname, _ms(key, opts[key]))
    for key, cname in _COUNTS.items():
        if opts.get(key) is not None:
            s.set_u64(cname, _count(key, opts[key]))
    for key, cname in _FLAGS.items():
        if opts.get(key) is not None:
            s.set_flag(cname, bool(opts[key]))
    for key, cname in _STRINGS.items():
        if opts.get(key) is not None:
            s.set_str(cname, str(opts[key]))
    if opts.get("one_shot"):
        # One answer to one request: its end finishes the stream, and a
        # failure is raised instead of sending the request again.
        s.set_u64("on_end", 1)
        s.set_flag("reconnect", False)
    # The consumer sees an error after the loop moved on: the reconnect
    # waits for its ack (after the on_error handlers), so a close() there
    # is never followed by another request.
    s.set_flag("ack_errors", True)
    # connect() reports a failing first attempt at once unless asked not to.
    s.set_flag("fail_first", not opts.get("retry_first", False))
    verify = opts.get("verify", True)
    if verify is False:
        s.set_flag("insecure", True)
    elif isinstance(verify, str):
        s.set_str("ca_path" if _is_dir(verify) else "ca_file", verify)
    elif verify is not True:
        raise TypeError("verify must be True, False or a CA file or directory path")
    cert = opts.get("cert")
    if cert is not None:
        if isinstance(cert, str):
            s.set_client_cert(cert, None)
        else:
            s.set_client_cert(cert[0], cert[1])
    if opts.get("error_body_size") is not None or opts.get("error_body_timeout") is not None:
        s.set_error_body(
            _count("error_body_size", opts.get("error_body_size", 65536)),
            _ms("error_body_timeout", opts.get("error_body_timeout", 5.0)),
        )
    return s, headers_fn


def _is_dir(path: str) -> bool:
    import os

    return os.path.isdir(path)
