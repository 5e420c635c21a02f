"""python -m ssekit URL: prints a stream's events, as the ssecat tool does.

Same options, output formats and exit statuses as ssecat (see
``ssecat --help``), for a live URL or a captured stream (--input).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO, Any, Dict, List, Optional, Sequence, Tuple

from . import (
    ContentTypeError,
    HTTPStatusError,
    LimitError,
    Parser,
    ServerSentEvent,
    SSEError,
    TLSError,
    connect,
)

OK, USAGE, IO_ERROR, STREAM, INTERNAL, FAILED = 0, 1, 2, 3, 4, 5


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m ssekit",
        description="Prints the events of a Server-Sent Events stream, each as soon as it is "
        "complete, reconnecting with Last-Event-ID as EventSource does.",
    )
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("url", nargs="?", help="stream from URL (http or https)")
    src.add_argument("--input", metavar="PATH", help="parse a captured stream from PATH ('-': stdin)")
    ap.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'",
                    help="add a request header (repeatable)")
    ap.add_argument("-X", "--request", metavar="METHOD", help="request method (default GET, POST with -d)")
    ap.add_argument("-d", "--data", metavar="DATA",
                    help="request body, sent again on every reconnect; @FILE reads a file, @- stdin")
    ap.add_argument("--last-event-id", metavar="ID", help="start from ID (sent as Last-Event-ID)")
    ap.add_argument("--timeout", type=float, metavar="SECONDS",
                    help="reconnect when nothing, not even a comment, arrives for SECONDS")
    ap.add_argument("--no-reconnect", action="store_true",
                    help="never reconnect: the end of the response finishes, any error fails")
    ap.add_argument("-k", "--insecure", action="store_true", help="do not verify the TLS certificate")
    ap.add_argument("--cacert", metavar="FILE", help="trust the CA certificates in FILE")
    ap.add_argument("--json", action="store_true", help="print JSON Lines instead of text")
    ap.add_argument("--max-events", type=int, default=0, metavar="N", help="stop after N events (0: no limit)")
    ap.add_argument("--event", action="append", default=[], metavar="TYPE",
                    help="print only events of type TYPE (repeatable)")
    ap.add_argument("--stats", action="store_true", help="print counters to standard error at the end")
    ap.add_argument("-v", "--verbose", action="store_true", help="report connections and errors on stderr")
    ap.add_argument("--max-line", type=int, default=4194304, metavar="N", help="longest line accepted")
    ap.add_argument("--max-event", type=int, default=16777216, metavar="N", help="largest event data accepted")
    return ap


class _Printer:
    def __init__(self, out: IO[str], as_json: bool, types: List[str], max_events: int) -> None:
        self.out, self.as_json, self.types, self.max_events = out, as_json, set(types), max_events
        self.count = 0

    def event(self, ev: ServerSentEvent) -> bool:
        """Prints ev (if wanted); False once --max-events were printed."""
        if self.types and ev.event not in self.types:
            return True
        if ev.retry is not None and not self.types:
            self.out.write(json.dumps({"retry": ev.retry}) + "\n" if self.as_json else f"retry: {ev.retry} ms\n\n")
        if self.as_json:
            self.out.write(json.dumps({"event": ev.event, "data": ev.data, "id": ev.id}, ensure_ascii=False) + "\n")
        else:
            if ev.event != "message" or ev.id:
                self.out.write(f"[{ev.event}]" + (f" id={ev.id}" if ev.id else "") + "\n")
            self.out.write(ev.data + "\n\n")
        self.out.flush()
        self.count += 1
        return not (self.max_events and self.count >= self.max_events)


def _fail(what: str, detail: str, status: int) -> int:
    print(f"ssekit: {what}: {detail}", file=sys.stderr)
    return status


def _run_input(args: argparse.Namespace, printer: _Printer) -> int:
    try:
        f = sys.stdin.buffer if args.input == "-" else open(args.input, "rb")
    except OSError as e:
        return _fail(args.input, e.strerror or str(e), IO_ERROR)
    p = Parser(max_line=args.max_line, max_event=args.max_event)
    with f:
        try:
            while True:
                chunk = f.read1(65536) if hasattr(f, "read1") else f.read(65536)
                if not chunk:
                    break
                for ev in p.feed(chunk):
                    if not printer.event(ev):
                        return OK
            p.finish()
        except LimitError as e:
            for ev in e.events:
                printer.event(ev)
            return _fail(args.input, str(e), STREAM)
    return OK


def _run_url(args: argparse.Namespace, printer: _Printer) -> int:
    headers: List[Tuple[str, str]] = []
    for h in args.header:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            return _fail("--header", f"'{h}' is not 'NAME: VALUE'", USAGE)
        headers.append((name.strip(), value.strip()))
    opts: Dict[str, Any] = {"headers": headers, "max_line": args.max_line, "max_event": args.max_event,
                            "retry_first": not args.no_reconnect}
    if args.data is not None:
        if args.data.startswith("@"):
            src = args.data[1:]
            try:
                opts["body"] = sys.stdin.buffer.read() if src == "-" else open(src, "rb").read()
            except OSError as e:
                return _fail(src, e.strerror or str(e), IO_ERROR)
        else:
            opts["body"] = args.data.encode()
    if args.request:
        opts["method"] = args.request
    if args.last_event_id is not None:
        opts["last_event_id"] = args.last_event_id
    if args.timeout is not None:
        opts["read_timeout"] = args.timeout
    if args.no_reconnect:
        opts["one_shot"] = True
    if args.insecure:
        opts["verify"] = False
    elif args.cacert:
        opts["verify"] = args.cacert
    try:
        es = connect(args.url, **opts)
    except (TypeError, ValueError) as e:
        return _fail(args.url, str(e), USAGE)
    if args.verbose:
        es.on_open(lambda r: print(f"ssekit: open: HTTP {r.status_code}, Content-Type: "
                                   f"{r.headers.get('content-type', '')}", file=sys.stderr))
        es.on_error(lambda e: print(f"ssekit: error: {e} (code {e.code}"
                                    + (f", HTTP {e.status_code}" if e.status_code else "")
                                    + (f"); will_retry=1, retry_ms={int((e.retry_after or 0) * 1000)}"
                                       if e.will_retry else "); will_retry=0"), file=sys.stderr))
    status = OK
    try:
        with es:
            for ev in es:
                if not printer.event(ev):
                    break
    except (HTTPStatusError, ContentTypeError, TLSError) as e:
        status = _fail(args.url, str(e) if not e.status_code or str(e.status_code) in str(e)
                       else f"{e} (HTTP {e.status_code})", FAILED)
    except LimitError as e:
        status = _fail(args.url, str(e), STREAM)
    except SSEError as e:
        status = _fail(args.url, str(e), FAILED)
    except KeyboardInterrupt:
        status = OK
    finally:
        es.close()
        if args.stats:
            m = es.metrics
            print(f"ssekit: stats: events={m.events} bytes={m.bytes} reconnects={m.reconnects}",
                  file=sys.stderr)
    return status


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    printer = _Printer(sys.stdout, args.json, args.event, args.max_events)
    try:
        return _run_input(args, printer) if args.input else _run_url(args, printer)
    except BrokenPipeError:
        return OK


if __name__ == "__main__":
    sys.exit(main())
