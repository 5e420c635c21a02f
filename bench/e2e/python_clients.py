#!/usr/bin/env python3
"""The Python end-to-end client benchmark: W1 from the loopback C sender,
drained by ssekit (blocking iterator and `async for`) and by the Python SSE
clients people use today, in the same run. Each consumer touches every
event's data (sums its length) and must see every event.

    scripts/bench-python.sh            # builds the sender, then runs this
    python bench/e2e/python_clients.py --sender build-bench/bench/e2e/ssekit_w1_sender

Each contender runs in a fresh interpreter (`--contender NAME URL EVENTS`),
which prints one JSON object; this script prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

TARGET_SYNC = 1.5e6
TARGET_ASYNC = 1.0e6
TARGET_RATIO = 5.0


def drain_ssekit(url: str, expected: int) -> Tuple[int, int]:
    import ssekit

    n = units = 0
    with ssekit.connect(url, one_shot=True) as es:
        for ev in es:
            n += 1
            units += len(ev.data)
    return n, units


def drain_ssekit_async(url: str, expected: int) -> Tuple[int, int]:
    import ssekit

    async def main() -> Tuple[int, int]:
        n = units = 0
        async with ssekit.aconnect(url, one_shot=True) as es:
            async for ev in es:
                n += 1
                units += len(ev.data)
        return n, units

    return asyncio.run(main())


def drain_httpx_sse(url: str, expected: int) -> Tuple[int, int]:
    import httpx
    from httpx_sse import connect_sse

    n = units = 0
    with httpx.Client(timeout=None) as client:
        with connect_sse(client, "GET", url) as source:
            for ev in source.iter_sse():
                n += 1
                units += len(ev.data)
    return n, units


def drain_sseclient(url: str, expected: int) -> Tuple[int, int]:
    import requests
    import sseclient

    n = units = 0
    response = requests.get(url, stream=True, headers={"Accept": "text/event-stream"})
    for ev in sseclient.SSEClient(response).events():
        n += 1
        units += len(ev.data)
    return n, units


def drain_requests_sse(url: str, expected: int) -> Tuple[int, int]:
    from requests_sse import EventSource

    n = units = 0
    # It reconnects when the body ends, so it stops at the last event.
    with EventSource(url, timeout=None) as source:
        for ev in source:
            n += 1
            units += len(ev.data)
            if n == expected:
                break
    return n, units


def drain_aiohttp_sse(url: str, expected: int) -> Tuple[int, int]:
    import aiohttp
    from aiohttp_sse_client import client as sse_client

    async def main() -> Tuple[int, int]:
        n = units = 0
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with sse_client.EventSource(url, timeout=timeout) as source:
            async for ev in source:
                n += 1
                units += len(ev.data)
                if n == expected:
                    break
        return n, units

    return asyncio.run(main())


CONTENDERS: Dict[str, Tuple[str, str, Callable[[str, int], Tuple[int, int]]]] = {
    # name: (label, distribution for the version, drain)
    "ssekit": ("ssekit, blocking iterator", "ssekit", drain_ssekit),
    "ssekit-async": ("ssekit, async for", "ssekit", drain_ssekit_async),
    "httpx-sse": ("httpx-sse (httpx)", "httpx-sse", drain_httpx_sse),
    "sseclient-py": ("sseclient-py (requests)", "sseclient-py", drain_sseclient),
    "requests-sse": ("requests-sse", "requests-sse", drain_requests_sse),
    "aiohttp-sse-client": ("aiohttp-sse-client (aiohttp)", "aiohttp-sse-client", drain_aiohttp_sse),
}


def run_one(name: str, url: str, expected: int) -> None:
    drain = CONTENDERS[name][2]
    start = time.perf_counter()
    n, units = drain(url, expected)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "events": n, "data_units": units}))


def version_of(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def cpu_summary() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        model = platform.processor()
    return f"{model}, {os.cpu_count()} cores"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sender", help="the ssekit_w1_sender binary")
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1, help="warm-up runs of each contender")
    ap.add_argument("--only", default="", help="comma-separated contender names")
    ap.add_argument("--contender", nargs=3, metavar=("NAME", "URL", "EVENTS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.contender:
        name, url, events = args.contender
        run_one(name, url, int(events))
        return 0
    if not args.sender:
        ap.error("--sender is required")

    from run_client_bench import Sender  # the C benchmark's sender harness

    names = [n for n in CONTENDERS if not args.only or n in args.only.split(",")]
    sender = Sender(args.sender)
    rows: List[str] = []
    best: Dict[str, float] = {}
    ok = True
    try:
        url = f"{sender.base}/w1"
        events = int(sender.info["w1_events"])
        size = int(sender.info["w1_bytes"])
        for name in names:
            label, dist, _ = CONTENDERS[name]
            print(f"python bench: {label} ...", file=sys.stderr, flush=True)
            seconds: List[float] = []
            error = ""
            for i in range(args.warmup + args.iterations):
                proc = subprocess.run([sys.executable, __file__, "--contender", name, url, str(events)],
                                      capture_output=True, text=True, timeout=3600)
                if proc.returncode != 0:
                    error = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
                    break
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                if r["events"] != events:
                    error = f"saw {r['events']} events, expected {events}"
                    break
                if i >= args.warmup:
                    seconds.append(r["seconds"])
            if error:
                ok = False
                rows.append(f"| {label} {version_of(dist)} | failed: {error} | | | |")
                continue
            b, m = min(seconds), statistics.median(seconds)
            best[name] = events / b
            rows.append(f"| {label} {version_of(dist)} | {events / b / 1e6:,.3f} | {events / m / 1e6:,.3f} "
                        f"| {size / b / 1e6:,.0f} | {m * 1e3:,.0f} |")
    finally:
        sender.stop()

    print(f"Date: {datetime.date.today().isoformat()}  ")
    print(f"CPU: {cpu_summary()}  ")
    print(f"Python {platform.python_version()}; ssekit {version_of('ssekit')}")
    print()
    print(f"W1: {events:,} LLM-token events, {size / 1e6:.1f} MB over loopback HTTP/1.1 from one C "
          f"sender; each contender drains all of it in a fresh interpreter, {args.iterations} runs "
          f"after {args.warmup} warm-up, each event's data touched.")
    print()
    print("| contender | best M events/s | median M events/s | best MB/s | median ms/run |")
    print("|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    peers = [v for k, v in best.items() if not k.startswith("ssekit")]
    if "ssekit" in best:
        print()
        verdict = "met" if best["ssekit"] >= TARGET_SYNC else "MISSED"
        print(f"Blocking iterator >= {TARGET_SYNC / 1e6:.1f} M events/s: {verdict}.", end="")
        if peers:
            ratio = best["ssekit"] / max(peers)
            print(f" {ratio:.1f}x the fastest peer (target >= {TARGET_RATIO:.0f}x: "
                  f"{'met' if ratio >= TARGET_RATIO else 'MISSED'}).", end="")
        print()
    if "ssekit-async" in best:
        verdict = "met" if best["ssekit-async"] >= TARGET_ASYNC else "MISSED"
        print(f"async for >= {TARGET_ASYNC / 1e6:.1f} M events/s: {verdict}.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
