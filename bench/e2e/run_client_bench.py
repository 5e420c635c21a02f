#!/usr/bin/env python3
"""Runs the end-to-end client benchmarks and prints one markdown table per
section: throughput (ssekit, curl, npm eventsource, fetch +
eventsource-parser on the W1 workload), latency (ssekit on 1 ms ticks) and
scale (many idle streams on one ssekit loop).

usage: run_client_bench.py --build BUILD_DIR [--iterations N] [--warmup N]
         [--latency-events N] [--latency-interval-us U] [--scale N,N,...]
         [--idle-seconds S] [--open-timeout S] [--sections LIST] [--out DIR]

Exits non-zero if a contender failed or delivered the wrong events; the
tables are printed either way.
"""

import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)

# Targets set for a 2-core machine.
TARGET_EVENTS_PER_S = 20e6
TARGET_P99_US = 150.0
TARGET_RSS_PER_STREAM_KIB = 32.0


class Failed(Exception):
    pass


def cpu_summary():
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def package_version(name):
    path = os.path.join(BENCH, "node_modules", name, "package.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)["version"]
    except (OSError, KeyError, ValueError):
        return "missing"


def run_json(argv, timeout):
    """Runs a contender that prints one JSON object; raises Failed."""
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        raise Failed(f"{os.path.basename(argv[0])} timed out after {timeout} s") from e
    if proc.stderr.strip():
        sys.stderr.write(proc.stderr)
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 and lines and lines[-1].startswith("{"):
        # A contender that measured its own failure says what went wrong.
        result = json.loads(lines[-1])
        if "error" in result:
            return result
    if proc.returncode != 0 or not lines:
        last = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        raise Failed(last[0])
    return json.loads(lines[-1])


class Sender:
    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="ssekit-e2e-")
        ready = os.path.join(self.dir, "ready.json")
        # The sender exits when our end of its stdin closes, even if we die.
        self.proc = subprocess.Popen(
            [binary, "--ready-file", ready, "--watch-stdin", "--max-lifetime", "7200"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not os.path.exists(ready):
            if self.proc.poll() is not None:
                raise Failed(f"the sender exited with {self.proc.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise Failed("the sender did not start")
            time.sleep(0.05)
        with open(ready, encoding="utf-8") as f:
            self.info = json.load(f)
        self.base = f"http://127.0.0.1:{self.info['port']}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)


def curl_runs(url, expect_bytes, iterations, warmup):
    runs = []
    for i in range(warmup + iterations):
        # Exactly `curl -sN URL > /dev/null`; -w reports curl's own timing
        # (request to last byte) on stderr.
        proc = subprocess.run(
            ["curl", "-sN", "-w", "%{stderr}%{time_total} %{size_download} %{http_code}\n", url],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=600,
            check=False)
        fields = proc.stderr.split()
        if proc.returncode != 0 or len(fields) != 3 or fields[2] != "200":
            raise Failed(f"curl failed: exit {proc.returncode}: {proc.stderr.strip()}")
        if int(fields[1]) != expect_bytes:
            raise Failed(f"curl read {fields[1]} bytes, expected {expect_bytes}")
        if i >= warmup:
            runs.append({"seconds": float(fields[0])})
    return {"contender": "curl", "runs": runs}


def fmt(value, digits=2):
    return f"{value:,.{digits}f}"


def throughput_section(args, sender, client, versions, results):
    info = sender.info
    url = f"{sender.base}/w1"
    events, data_bytes, size = info["w1_events"], info["w1_data_bytes"], info["w1_bytes"]
    common = [str(events), str(data_bytes), str(args.iterations), str(args.warmup)]
    node = ["node", "--expose-gc", os.path.join(HERE, "node_client.mjs")]
    contenders = [
        ("ssekit (C API, callbacks)", lambda: run_json([client, "throughput", url] + common, 600)),
        ("ssekit (C API, queue drained by another thread)",
         lambda: run_json([client, "queue", url] + common, 600)),
        ("curl -sN > /dev/null (no parsing)",
         lambda: curl_runs(url, size, args.iterations, args.warmup)),
        (f"eventsource {versions['eventsource']} (Node)",
         lambda: run_json(node + ["eventsource", url] + common, 1800)),
        (f"fetch + eventsource-parser {versions['eventsource-parser']} (Node)",
         lambda: run_json(node + ["fetch", url] + common, 1800)),
    ]
    rows = []
    ok = True
    for label, run in contenders:
        print(f"throughput: {label} ...", file=sys.stderr, flush=True)
        try:
            result = run()
        except Failed as e:
            ok = False
            rows.append(f"| {label} | failed: {e} | | | | |")
            results["throughput"].append({"contender": label, "error": str(e)})
            continue
        seconds = [r["seconds"] for r in result["runs"]]
        best, median = min(seconds), statistics.median(seconds)
        result["label"] = label
        results["throughput"].append(result)
        rows.append(f"| {label} | {fmt(events / best / 1e6)} | {fmt(events / median / 1e6)} | "
                    f"{fmt(size / best / 1e6, 0)} | {fmt(size / median / 1e6, 0)} | "
                    f"{fmt(median * 1e3, 1)} |")
        if label.startswith("ssekit (C API, callbacks)"):
            cpu = statistics.median(r["cpu_seconds"] for r in result["runs"])
            target = "met" if events / best >= TARGET_EVENTS_PER_S else "MISSED"
            results["ssekit_cpu_seconds"] = cpu
            results["ssekit_target"] = target
            results["ssekit_best_s"] = best
        elif label.startswith("ssekit (C API, queue"):
            results["queue_best_s"] = best

    out = [
        "### Throughput: draining W1",
        "",
        f"W1: {events:,} LLM-token events, {size / 1e6:.1f} MB (the parser benchmark's bytes), "
        f"sent close-delimited over loopback HTTP/1.1 by one sender; each contender drains it "
        f"{args.iterations} times after {args.warmup} warm-up run(s), from request to last event. "
        "MB = 10^6 bytes.",
        "",
        "| contender | best M events/s | median M events/s | best MB/s | median MB/s "
        "| median ms/run |",
        "|---|---:|---:|---:|---:|---:|",
    ] + rows
    if "ssekit_cpu_seconds" in results:
        out += ["", f"ssekit target >= {TARGET_EVENTS_PER_S / 1e6:.0f} M events/s: "
                f"{results['ssekit_target']}; ssekit used {results['ssekit_cpu_seconds'] * 1e3:.0f} ms "
                "of CPU per run (median, all threads)."]
    if "ssekit_best_s" in results and "queue_best_s" in results:
        ratio = results["ssekit_best_s"] / results["queue_best_s"]
        out += ["", f"queue path / callback path (best runs): {ratio * 100:.0f} % "
                f"(target >= 80 %: {'met' if ratio >= 0.8 else 'MISSED'})."]
    return out, ok


def latency_section(args, sender, client, results):
    n = args.latency_events
    url = f"{sender.base}/ticks?interval_us={args.latency_interval_us}&count={n}"
    out = [
        "### Latency: one event at a time",
        "",
        f"{n:,} events, one every {args.latency_interval_us} us, each written on its own with "
        "TCP_NODELAY and carrying the sender's CLOCK_MONOTONIC time, which the client subtracts "
        "from its own clock on receipt (ssekit: first thing in the event callback). The raw "
        "socket row is the machine's floor: a blocking recv() in a plain C loop. Microseconds.",
        "",
        f"| client | events | p50 | p90 | p99 | p99.9 | max | p99 <= {TARGET_P99_US:.0f} us |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    ok = True
    results["latency"] = []
    timeout = 60 + n * args.latency_interval_us / 1e6 * 2
    for label, mode in (("raw socket (floor)", "latency-raw"), ("ssekit (C API)", "latency")):
        print(f"latency: {label} ...", file=sys.stderr, flush=True)
        try:
            r = run_json([client, mode, url, str(n)], timeout)
        except Failed as e:
            ok = False
            results["latency"].append({"client": label, "error": str(e)})
            out.append(f"| {label} | failed: {e} | | | | | | |")
            continue
        results["latency"].append(r)
        met = ("met" if r["p99_us"] <= TARGET_P99_US else "MISSED") if mode == "latency" else ""
        out.append(f"| {label} | {r['events']:,} | {fmt(r['p50_us'], 1)} | {fmt(r['p90_us'], 1)} | "
                   f"{fmt(r['p99_us'], 1)} | {fmt(r['p999_us'], 1)} | {fmt(r['max_us'], 1)} | {met} |")
    return out, ok


def scale_section(args, sender, client, results):
    url = f"{sender.base}/idle"
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    out = [
        "### Scale: idle streams on one loop",
        "",
        f"N streams on one ssekit_loop to a sender that sends one event and then nothing. "
        f"RSS per stream = (VmRSS with all open and their first event delivered - VmRSS before) / N. "
        f"Idle CPU over {args.idle_seconds} s from 1 s after the last open, all threads, as a "
        "share of one core; wake-ups are context switches. Close all: every stream closed with "
        "ssekit_stream_free, one after the other. "
        f"Open file limit (hard): {hard}.",
        "",
        "| streams | time to open all (s) | RSS per stream (KiB) | RSS with all open (MiB) "
        f"| idle CPU | wake-ups/s | close all (s) | RSS <= {TARGET_RSS_PER_STREAM_KIB:.0f} KiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    ok = True
    for n in args.scale:
        print(f"scale: {n} streams ...", file=sys.stderr, flush=True)
        if hard != resource.RLIM_INFINITY and hard < n + 256:
            out.append(f"| {n:,} | skipped: `ulimit -Hn` is {hard} | | | | | | |")
            continue
        try:
            r = run_json([client, "scale", url, str(n), str(args.idle_seconds),
                          str(args.open_timeout)],
                         args.open_timeout + args.idle_seconds + 300)
        except Failed as e:
            ok = False
            results["scale"].append({"streams": n, "error": str(e)})
            out.append(f"| {n:,} | failed: {e} | | | | | | |")
            continue
        results["scale"].append(r)
        if r.get("error"):
            ok = False
            out.append(f"| {n:,} | {r['error']} | | | | | | |")
            continue
        per = r["rss_per_stream_kib"]
        cpu = r["idle_cpu_seconds"] / r["idle_seconds"] * 100
        wakeups = r["idle_context_switches"] / r["idle_seconds"]
        met = "met" if per <= TARGET_RSS_PER_STREAM_KIB else "MISSED"
        out.append(f"| {n:,} | {fmt(r['open_seconds'], 2)} | {fmt(per, 1)} | "
                   f"{fmt(r['rss_open_kib'] / 1024, 1)} | {fmt(cpu, 2)} % | {fmt(wakeups, 1)} | "
                   f"{fmt(r['close_seconds'], 2)} | {met} |")
    return out, ok


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", required=True, help="the CMake build directory")
    p.add_argument("--iterations", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--latency-events", type=int, default=5000)
    p.add_argument("--latency-interval-us", type=int, default=1000)
    p.add_argument("--scale", default="1000,10000",
                   help="comma-separated stream counts")
    p.add_argument("--idle-seconds", type=int, default=5)
    p.add_argument("--open-timeout", type=int, default=120,
                   help="seconds allowed for all streams to open")
    p.add_argument("--sections", default="throughput,latency,scale")
    p.add_argument("--out", help="directory for client-bench.md and client-bench.json")
    args = p.parse_args(argv)
    args.scale = [int(n) for n in args.scale.split(",") if n]
    sections = set(args.sections.split(","))

    e2e = os.path.join(args.build, "bench", "e2e")
    client = os.path.join(e2e, "ssekit_client_bench")
    sender_bin = os.path.join(e2e, "ssekit_w1_sender")
    versions = run_json([client, "version"], 30)
    curl_cli = subprocess.run(["curl", "--version"], stdout=subprocess.PIPE, text=True,
                              check=True).stdout.splitlines()[0]
    node = subprocess.run(["node", "--version"], stdout=subprocess.PIPE, text=True,
                          check=True).stdout.strip()
    versions["eventsource"] = package_version("eventsource")
    versions["eventsource-parser"] = package_version("eventsource-parser")

    header = [
        f"Date: {datetime.date.today().isoformat()}  ",
        f"CPU: {cpu_summary()}  ",
        f"ssekit {versions['ssekit']} on libcurl {versions['libcurl']}  ",
        f"Peers: {' '.join(curl_cli.split()[:2])} ({', '.join(curl_cli.split()[3:5])}); Node {node} with "
        f"eventsource {versions['eventsource']} and eventsource-parser "
        f"{versions['eventsource-parser']}",
    ]
    results = {"versions": versions, "curl": curl_cli, "node": node,
               "throughput": [], "scale": []}
    blocks = [header]
    ok = True
    sender = Sender(sender_bin)
    try:
        results["sender"] = sender.info
        if "throughput" in sections:
            block, good = throughput_section(args, sender, client, versions, results)
            blocks.append(block)
            ok &= good
        if "latency" in sections:
            block, good = latency_section(args, sender, client, results)
            blocks.append(block)
            ok &= good
        if "scale" in sections:
            block, good = scale_section(args, sender, client, results)
            blocks.append(block)
            ok &= good
    finally:
        sender.stop()

    report = "\n\n".join("\n".join(b) for b in blocks) + "\n"
    print()
    print(report, end="")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "client-bench.md"), "w", encoding="utf-8") as f:
            f.write(report)
        with open(os.path.join(args.out, "client-bench.json"), "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
