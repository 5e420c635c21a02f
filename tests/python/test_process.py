"""Ctrl-C, garbage collection, interpreter exit, fork and leaks: each in a
fresh interpreter, so what is measured is the process's own."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import time
import weakref
from typing import Any

import ssekit


def python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                          capture_output=True, text=True, timeout=timeout)


def test_ctrl_c_interrupts_a_blocking_iteration(server: Any) -> None:
    # Python installs its Ctrl-C handler only if SIGINT was not ignored when
    # it started (as it is for a job a non-interactive shell puts in the
    # background): the child installs it, so the launcher does not matter.
    code = """
        import signal, sys, time, ssekit
        signal.signal(signal.SIGINT, signal.default_int_handler)
        es = ssekit.connect(sys.argv[1])
        es.open()
        print("ready", flush=True)
        try:
            for ev in es:
                pass
        except KeyboardInterrupt:
            print("interrupted %.3f" % time.monotonic(), flush=True)
            sys.exit(3)
    """
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), server.url("/stall?after=0&ms=20000")],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        out, _ = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise AssertionError("Ctrl-C did not interrupt the iteration within 10 s") from None
    assert p.returncode == 3
    line = out.split()
    assert line[0] == "interrupted"
    # Slices of 50 ms: well under a second even on a loaded machine.
    latency = float(line[1]) - sent
    print(f"Ctrl-C handled after {latency * 1000:.1f} ms")
    assert latency < 1.0


def test_an_open_source_that_is_collected_closes_without_hanging(server: Any) -> None:
    es = ssekit.connect(server.url("/events?count=-1&interval_ms=5"))
    es.open()
    it = iter(es)
    next(it)
    ref = weakref.ref(es)
    del es, it
    start = time.monotonic()
    gc.collect()
    assert ref() is None
    assert time.monotonic() - start < 2


def test_collected_sources_give_their_connections_back(server: Any) -> None:
    code = """
        import gc, os, sys, ssekit
        def fds(): return len(os.listdir("/proc/self/fd"))
        url = sys.argv[1]
        warm = ssekit.connect(url); warm.open(); del warm; gc.collect()
        before = fds()
        sources = [ssekit.connect(url) for _ in range(100)]
        for s in sources: s.open()
        during = fds()
        del sources, s
        gc.collect()
        import time
        deadline = time.monotonic() + 5
        while fds() > before + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        print(before, during, fds())
    """
    r = python(code, server.url("/events?count=-1&interval_ms=50"))
    assert r.returncode == 0, r.stderr
    before, during, after = map(int, r.stdout.split())
    assert during >= before + 100, "one socket per open stream"
    assert after <= before + 2, "released streams close their sockets"


def test_the_interpreter_exits_cleanly_with_streams_open(server: Any) -> None:
    code = """
        import sys, threading, ssekit
        url = sys.argv[1]
        a = ssekit.connect(url); a.open()
        b = ssekit.connect(url, headers=lambda: {"X-Token": "t"}, retry=0.01, min_retry=0.01)
        b.open()
        t = threading.Thread(target=lambda: [None for _ in b], daemon=True)
        t.start()
        async def f():
            c = ssekit.aconnect(url); await c.open(); return c
        import asyncio
        keep = asyncio.run(f())
        print("exiting", flush=True)
    """
    # A headers function still running when the interpreter exits, and an
    # atexit handler (registered before ssekit's) that opens a stream.
    slow = """
        import atexit, sys, time
        def late():
            import ssekit
            with ssekit.connect(sys.argv[1].replace("/drop", "/events"), one_shot=True) as es:
                print("late", len(list(es)), flush=True)
        atexit.register(late)
        import ssekit
        def headers():
            time.sleep(2.5)
            return {}
        s = ssekit.connect(sys.argv[1], headers=headers, retry_first=True)
        s._start()
        time.sleep(0.2)
        print("exiting", flush=True)
    """
    r = python(slow, server.url("/drop?after=1&count=3"), timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["exiting", "late", "3"]
    for _ in range(3):
        r = python(code, server.url("/drop?after=1&count=-1&interval_ms=1"), timeout=30)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "exiting"
        assert "Fatal" not in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_a_forked_child_opens_its_own_streams(server: Any) -> None:
    code = """
        import multiprocessing as mp, sys, ssekit
        url = sys.argv[1]
        def child(q):
            try:
                next(iter(parent))
                q.put("inherited stream delivered")
            except RuntimeError as e:
                assert "forked" in str(e), e
            with ssekit.connect(url, one_shot=True) as es:
                q.put([e.id for e in es])
        if __name__ == "__main__":
            parent = ssekit.connect(url.replace("count=3", "count=-1&interval_ms=5"))
            parent.open()
            it = iter(parent)
            first = next(it).id
            ctx = mp.get_context("fork")
            q = ctx.Queue()
            p = ctx.Process(target=child, args=(q,))
            p.start()
            got = q.get(timeout=20)
            p.join(20)
            later = next(it).id
            print(first, ",".join(got), p.exitcode, later)
    """
    r = python(code, server.url("/events?count=3"))
    assert r.returncode == 0, r.stderr
    first, child_ids, exitcode, later = r.stdout.split()
    assert child_ids == "1,2,3"
    assert exitcode == "0"
    assert int(later) > int(first), "the parent's stream goes on"


def test_ten_thousand_open_close_cycles_leak_nothing(server: Any) -> None:
    code = """
        import gc, sys, tracemalloc, ssekit
        url = sys.argv[1]
        def rss_kib():
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        def cycles(n):
            for i in range(n):
                es = ssekit.connect(url, one_shot=True)
                if i % 10 == 0:
                    with es:           # a full open, events, close
                        for _ in es:
                            pass
                else:
                    es._start()        # start and close at once
                    es.close()
        cycles(1000)
        gc.collect()
        tracemalloc.start()
        rss0 = rss_kib()
        snap0 = tracemalloc.take_snapshot()
        cycles(10000)
        gc.collect()
        snap1 = tracemalloc.take_snapshot()
        rss1 = rss_kib()
        grown = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
        print(rss1 - rss0, grown)
    """
    r = python(code, server.url("/events?count=2"), timeout=300)
    assert r.returncode == 0, r.stderr
    rss_growth_kib, traced_growth = map(int, r.stdout.split())
    print(f"10,000 cycles: RSS +{rss_growth_kib} KiB, Python heap +{traced_growth} bytes")
    assert traced_growth < 64 * 1024
    assert rss_growth_kib < 4 * 1024
