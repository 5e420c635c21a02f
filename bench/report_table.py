#!/usr/bin/env python3
"""Prints the parser benchmark results as one markdown table.

usage: report_table.py GBENCH_JSON NODE_JSON MANIFEST_JSON
"""

import datetime
import json
import os
import sys


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def gbench_results(path):
    """Maps (contender, workload) to the benchmark's JSON entry."""
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    results = {}
    for entry in report["benchmarks"]:
        # Names look like "ssekit/w1/min_time:1.000/real_time".
        parts = entry["name"].split("/")
        if entry.get("run_type", "iteration") == "iteration" and len(parts) >= 2:
            results[(parts[0], parts[1])] = entry
    return results


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    gbench = gbench_results(argv[1])
    with open(argv[2], encoding="utf-8") as f:
        node = json.load(f)
    with open(argv[3], encoding="utf-8") as f:
        manifest = json.load(f)
    js = {r["name"]: r for r in node["results"]}

    def mb(bytes_per_second):
        return f"{bytes_per_second / 1e6:,.0f}"

    print(f"Date: {datetime.date.today().isoformat()}  ")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} cores  ")
    print(f"Peer: eventsource-parser {node['version']} on Node {node['node']}; "
          f"{manifest['chunk_size'] // 1024} KiB chunks; MB = 10^6 bytes")
    print()
    print("| workload | ssekit MB/s | ssekit M events/s | memchr floor MB/s "
          "| eventsource-parser MB/s | ssekit / eventsource-parser |")
    print("|---|---:|---:|---:|---:|---:|")
    for w in manifest["workloads"]:
        name = w["name"]
        ssekit = gbench.get(("ssekit", name))
        floor = gbench.get(("memchr_floor", name))
        peer = js.get(name)
        cells = [f"{name} {w['description']}"]
        cells.append(mb(ssekit["bytes_per_second"]) if ssekit else "n/a")
        cells.append(f"{ssekit['events'] / 1e6:.2f}" if ssekit else "n/a")
        cells.append(mb(floor["bytes_per_second"]) if floor else "n/a")
        cells.append(mb(peer["bytes_per_second"]) if peer else "n/a")
        if ssekit and peer:
            cells.append(f"{ssekit['bytes_per_second'] / peer['bytes_per_second']:.1f}x")
        else:
            cells.append("n/a")
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
