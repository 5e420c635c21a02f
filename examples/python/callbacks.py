"""EventSource-style handlers, run by a thread of their own.

    python examples/python/callbacks.py URL
"""

from __future__ import annotations

import sys
import time

import ssekit


def main(url: str) -> None:
    es = ssekit.connect(url, retry_first=True)

    @es.on("message")
    def on_message(ev: ssekit.ServerSentEvent) -> None:
        print(f"#{ev.id}: {ev.data}")

    es.on_open(lambda r: print("open", r.status_code))
    es.on_error(lambda e: print("error", e, "retrying" if e.will_retry else "giving up"))
    thread = es.run_in_thread()
    time.sleep(5)
    es.close()
    thread.join()
    print(es.metrics)


if __name__ == "__main__":
    main(sys.argv[1])
