#!/usr/bin/env python3
"""Tests of ssecat's live mode (ssecat URL) and of its demo server.

Usage: test_ssecat_live.py PATH_TO_SSECAT REPO_ROOT [unittest arguments]

The live tests run against the fault-injecting server in tests/server.
"""
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

SSECAT = ""
ROOT = ""
TIMEOUT = 30

EXIT_USAGE = 1
EXIT_IO = 2
EXIT_STREAM = 3
EXIT_FAILED = 5

# ssekit_error codes, part of the ABI, as the verbose output shows them.
E_READ_TIMEOUT = -13

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
STATS = re.compile(r"^ssecat: stats: events=(\d+) bytes=(\d+) "
                   r"reconnects=(\d+) duration_s=(\d+\.\d{3}) "
                   r"events_per_s=(\d+\.\d)$")

ServerProcess = None  # imported from tests/server once ROOT is known


def run(args, stdin=b"", timeout=TIMEOUT):
    return subprocess.run([SSECAT] + args, input=stdin, capture_output=True,
                          timeout=timeout)


def json_items(stdout):
    return [json.loads(line) for line in stdout.decode("utf-8").splitlines()]


def events_of(items):
    return [item for item in items if "retry" not in item]


def stderr_lines(result):
    return result.stderr.decode("utf-8").splitlines()


def fetch(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return response.read()


def spawn(args):
    return subprocess.Popen([SSECAT] + args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, bufsize=0)


def reap(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None and not pipe.closed:
            pipe.close()


def read_lines(test, proc, count, timeout=10.0):
    """Reads stdout until it holds count complete lines."""
    data = b""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while data.count(b"\n") < count:
        left = deadline - time.monotonic()
        if left <= 0:
            test.fail("no %d lines within %gs, got %r" % (count, timeout, data))
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                test.fail("stdout closed early, got %r" % data)
            data += chunk
    return data


class LiveTestCase(unittest.TestCase):
    """Starts one test server for the class; each test tags its requests
    with a unique query parameter to find them in /_requests."""

    tls = False
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = ServerProcess(tls=cls.tls)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def url(self, path, host="127.0.0.1"):
        sep = "&" if "?" in path else "?"
        return self.server.url("%s%stag=%s" % (path, sep, self.id()), host)

    def requests(self, path):
        """The requests this test made to path, oldest first."""
        query = urllib.parse.urlencode({"path": path})
        log = json.loads(fetch(self.server.url("/_requests?" + query)))
        return [r for r in log if r["query"].get("tag") == self.id()]

    def assert_one_line_failure(self, result, status, url):
        self.assertEqual(result.returncode, status, result.stderr)
        lines = stderr_lines(result)
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("ssecat: %s: " % url), lines[0])
        self.assertGreater(len(lines[0]), len("ssecat: %s: " % url))
        return lines[0]


class Events(LiveTestCase):

    def test_json_ids_types_data_and_retry(self):
        url = self.url("/events?count=3&type=tick&retry=250&data=n%3D{id}")
        result = run(["--json", "--no-reconnect", url])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, b"")
        self.assertEqual(result.stdout.decode(), "".join([
            '{"retry": 250}\n',
            '{"event": "tick", "data": "n=1", "id": "1"}\n',
            '{"event": "tick", "data": "n=2", "id": "2"}\n',
            '{"event": "tick", "data": "n=3", "id": "3"}\n']))

    def test_text_output_and_multi_line_data(self):
        url = self.url("/events?count=2&lines=2&ids=0")
        result = run(["--no-reconnect", url])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.decode(),
                         "event 1\nevent 1\n\nevent 2\nevent 2\n\n")

    def test_no_reconnect_finishes_on_a_clean_end(self):
        url = self.url("/events?count=2&retry=50")
        start = time.monotonic()
        result = run(["--json", "--no-reconnect", url])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, b"")
        self.assertEqual([e["id"] for e in events_of(json_items(result.stdout))],
                         ["1", "2"])
        self.assertLess(time.monotonic() - start, 5)
        self.assertEqual(len(self.requests("/events")), 1)

    def test_clean_end_reconnects_without_no_reconnect(self):
        # Two events, then the body ends cleanly; the reconnect resumes.
        url = self.url("/stall?after=2&ms=10&count=10&retry=50")
        result = run(["--json", "--max-events", "4", url])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual([e["id"] for e in events_of(json_items(result.stdout))],
                         ["1", "2", "3", "4"])
        self.assertEqual([r["header_map"].get("last-event-id")
                          for r in self.requests("/stall")], [None, "2"])

    def test_max_events_on_an_endless_stream(self):
        url = self.url("/events?count=-1&interval_ms=20")
        start = time.monotonic()
        result = run(["--json", "--max-events", "3", url])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, b"")
        self.assertEqual([e["id"] for e in json_items(result.stdout)],
                         ["1", "2", "3"])
        self.assertLess(time.monotonic() - start, 5)

    def test_event_filter(self):
        url = self.url("/echo")
        result = run(["--json", "--no-reconnect", "--event", "method",
                      "--event=body_length", url])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json_items(result.stdout), [
            {"event": "method", "data": "GET", "id": ""},
            {"event": "body_length", "data": "0", "id": ""}])

    def test_event_filter_leaves_out_retry_fields(self):
        url = self.url("/events?count=3&type=a&retry=100")
        chosen = run(["--json", "--no-reconnect", "--event", "a", url])
        self.assertEqual(chosen.returncode, 0, chosen.stderr)
        self.assertEqual([item.get("event") for item in
                          json_items(chosen.stdout)], ["a", "a", "a"])
        other = run(["--json", "--no-reconnect", "--event", "b", url])
        self.assertEqual(other.returncode, 0, other.stderr)
        self.assertEqual(other.stdout, b"")

    def test_stats(self):
        path = "/events?count=4&data=payload-{id}"
        body = fetch(self.url(path))
        result = run(["--json", "--no-reconnect", "--stats", self.url(path)])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(len(json_items(result.stdout)), 4)
        lines = stderr_lines(result)
        self.assertEqual(len(lines), 1, result.stderr)
        match = STATS.match(lines[0])
        self.assertIsNotNone(match, lines[0])
        events, size, reconnects = (int(match.group(i)) for i in (1, 2, 3))
        self.assertEqual((events, size, reconnects), (4, len(body), 0))
        self.assertLess(float(match.group(4)), 10)

    def test_stats_count_reconnects(self):
        url = self.url("/drop?after=1&count=3&retry=50")
        result = run(["--json", "--stats", "--max-events", "3", url])
        self.assertEqual(result.returncode, 0, result.stderr)
        match = STATS.match(stderr_lines(result)[-1])
        self.assertIsNotNone(match, result.stderr)
        self.assertEqual(int(match.group(1)), 3)
        self.assertEqual(int(match.group(3)), 2)


class Request(LiveTestCase):

    def echo(self, args, stdin=b""):
        result = run(["--json", "--no-reconnect"] + args + [self.url("/echo")],
                     stdin)
        self.assertEqual(result.returncode, 0, result.stderr)
        return {e["event"]: e["data"] for e in json_items(result.stdout)}

    def test_headers(self):
        echo = self.echo(["-H", "X-Token: abc", "-H", "X-Spaced:   a b  ",
                          "--header=X-Third:3", "-HX-Fourth: 4"])
        headers = json.loads(echo["headers"])
        self.assertEqual(headers["x-token"], "abc")
        self.assertEqual(headers["x-spaced"], "a b")
        self.assertEqual(headers["x-third"], "3")
        self.assertEqual(headers["x-fourth"], "4")
        self.assertEqual(headers["accept"], "text/event-stream")
        self.assertEqual(echo["method"], "GET")

    def test_header_replaces_a_default(self):
        headers = json.loads(self.echo(
            ["-H", "Accept: text/event-stream, */*"])["headers"])
        self.assertEqual(headers["accept"], "text/event-stream, */*")

    def test_post_body_from_file(self):
        body = "line one\nline two caf\u00e9".encode("utf-8")
        with tempfile.NamedTemporaryFile(suffix=".txt") as f:
            f.write(body)
            f.flush()
            echo = self.echo(["-X", "POST", "-d", "@" + f.name, "-H",
                              "Content-Type: text/plain"])
        self.assertEqual(echo["method"], "POST")
        self.assertEqual(echo["body_length"], str(len(body)))
        self.assertEqual(echo["body"], body.decode("utf-8"))
        self.assertEqual(json.loads(echo["headers"])["content-type"],
                         "text/plain")
        recorded = self.requests("/echo")
        self.assertEqual(len(recorded), 1)
        self.assertEqual(recorded[0]["method"], "POST")
        self.assertEqual(recorded[0]["body"], body.decode("utf-8"))

    def test_data_text_implies_post(self):
        echo = self.echo(["-d", '{"q": 1}'])
        self.assertEqual(echo["method"], "POST")
        self.assertEqual(echo["body"], '{"q": 1}')

    def test_body_from_stdin(self):
        echo = self.echo(["-X", "PUT", "-d", "@-"], stdin=b"from stdin")
        self.assertEqual(echo["method"], "PUT")
        self.assertEqual(echo["body"], "from stdin")

    def test_method_without_body(self):
        echo = self.echo(["-X", "DELETE"])
        self.assertEqual(echo["method"], "DELETE")
        self.assertEqual(echo["body_length"], "0")

    def test_body_file_missing(self):
        with tempfile.TemporaryDirectory() as tmp:
            missing = os.path.join(tmp, "missing.json")
            result = run(["-d", "@" + missing, self.url("/echo")])
        self.assertEqual(result.returncode, EXIT_IO, result.stderr)
        self.assertEqual(stderr_lines(result),
                         ["ssecat: %s: No such file or directory" % missing])
        self.assertEqual(self.requests("/echo"), [])

    def test_last_event_id_is_sent_and_resumed_from(self):
        url = self.url("/events?count=50")
        result = run(["--json", "--max-events", "2", "--last-event-id", "41",
                      url])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual([e["id"] for e in json_items(result.stdout)],
                         ["42", "43"])
        recorded = self.requests("/events")
        self.assertEqual(len(recorded), 1)
        self.assertEqual(recorded[0]["header_map"].get("last-event-id"), "41")
        echo = self.echo(["--last-event-id", "abc-7"])
        self.assertEqual(echo["last_event_id"], "abc-7")


class Reconnect(LiveTestCase):

    def test_reconnect_after_drop_resumes_from_last_event_id(self):
        url = self.url("/drop?after=2&count=6&retry=50")
        result = run(["--json", "-v", "--max-events", "6", url])
        self.assertEqual(result.returncode, 0, result.stderr)
        items = json_items(result.stdout)
        events = events_of(items)
        self.assertEqual([e["id"] for e in events],
                         ["1", "2", "3", "4", "5", "6"])
        self.assertEqual([e["data"] for e in events],
                         ["event %d" % i for i in range(1, 7)])
        recorded = self.requests("/drop")
        self.assertEqual(
            [r["header_map"].get("last-event-id") for r in recorded[:3]],
            [None, "2", "4"])
        stderr = result.stderr.decode()
        self.assertIn("will_retry=1", stderr)
        self.assertRegex(stderr, r"reconnecting to \S+ \(reconnect 1\), "
                                 r"Last-Event-ID: 2")

    def test_read_timeout_reconnects(self):
        url = self.url("/stall?after=1&ms=4000&count=3&retry=50")
        start = time.monotonic()
        result = run(["--json", "-v", "--timeout", "0.4", "--max-events", "3",
                      url])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual([e["id"] for e in events_of(json_items(result.stdout))],
                         ["1", "2", "3"])
        self.assertLess(time.monotonic() - start, 4)
        timeouts = [line for line in stderr_lines(result)
                    if "(code %d" % E_READ_TIMEOUT in line]
        self.assertGreaterEqual(len(timeouts), 2, result.stderr)
        self.assertIn("will_retry=1", timeouts[0])
        self.assertEqual(
            [r["header_map"].get("last-event-id")
             for r in self.requests("/stall")][:3], [None, "1", "2"])

    def test_heartbeats_keep_a_read_timeout_from_firing(self):
        url = self.url("/stall?after=1&ms=1200&heartbeat_ms=100&then=resume"
                       "&count=2")
        result = run(["--json", "-v", "--timeout", "0.5", "--no-reconnect",
                      url])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual([e["id"] for e in json_items(result.stdout)],
                         ["1", "2"])
        self.assertNotIn("code %d" % E_READ_TIMEOUT, result.stderr.decode())

    def test_no_reconnect_fails_on_a_network_error(self):
        url = self.url("/drop?after=1&retry=50")
        result = run(["--json", "--no-reconnect", url])
        self.assert_one_line_failure(result, EXIT_FAILED, url)
        self.assertEqual([e["id"] for e in events_of(json_items(result.stdout))],
                         ["1"])
        self.assertEqual(len(self.requests("/drop")), 1)

    def test_no_reconnect_fails_on_a_read_timeout(self):
        url = self.url("/stall?after=1&ms=3000")
        result = run(["--json", "--no-reconnect", "--timeout", "0.3", url])
        self.assert_one_line_failure(result, EXIT_FAILED, url)
        self.assertEqual(len(json_items(result.stdout)), 1)

    def test_limit_with_no_reconnect(self):
        url = self.url("/oversize?bytes=100&field=event")
        result = run(["--json", "--no-reconnect", "--max-line", "50", url])
        self.assert_one_line_failure(result, EXIT_STREAM, url)
        self.assertEqual(result.stdout, b"")
        bigger = run(["--json", "--no-reconnect", "--max-line", "200", url])
        self.assertEqual(bigger.returncode, 0, bigger.stderr)
        self.assertEqual(json_items(bigger.stdout),
                         [{"event": "x" * 100, "data": "big", "id": ""},
                          {"event": "message", "data": "after",
                           "id": "after"}])


class Failures(LiveTestCase):

    def test_http_404(self):
        url = self.url("/status/404")
        result = run(["--json", url])
        line = self.assert_one_line_failure(result, EXIT_FAILED, url)
        self.assertIn("404", line)
        self.assertEqual(result.stdout, b"")
        self.assertEqual(len(self.requests("/status/404")), 1)

    def test_wrong_content_type(self):
        url = self.url("/ctype?value=text/plain")
        result = run(["--json", url])
        self.assert_one_line_failure(result, EXIT_FAILED, url)
        self.assertEqual(result.stdout, b"")

    def test_retried_status_with_no_reconnect(self):
        url = self.url("/status/503")
        result = run(["--json", "--no-reconnect", url])
        line = self.assert_one_line_failure(result, EXIT_FAILED, url)
        self.assertIn("503", line)
        self.assertEqual(len(self.requests("/status/503")), 1)

    def test_204_tells_the_client_to_stop(self):
        url = self.url("/204")
        result = run(["--json", url])
        self.assert_one_line_failure(result, EXIT_FAILED, url)

    def test_verbose_reports_the_open_response(self):
        url = self.url("/events?count=1")
        result = run(["--json", "-v", "--no-reconnect", url])
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = stderr_lines(result)
        self.assertTrue(lines[0].startswith("ssecat: connecting to "),
                        lines)
        self.assertIn(
            "ssecat: open: HTTP 200, Content-Type: text/event-stream", lines)


class Signals(LiveTestCase):

    def check_signal(self, signo):
        proc = spawn(["--json", self.url("/events?count=-1&interval_ms=50")])
        self.addCleanup(reap, proc)
        read_lines(self, proc, 2)
        start = time.monotonic()
        proc.send_signal(signo)
        self.assertEqual(proc.wait(timeout=5), 0)
        self.assertLess(time.monotonic() - start, 2)
        rest = proc.stdout.read()
        # Whatever was printed is whole lines of JSON.
        for line in rest.decode().splitlines():
            json.loads(line)
        self.assertEqual(proc.stderr.read(), b"")

    def test_sigint_ends_promptly(self):
        self.check_signal(signal.SIGINT)

    def test_sigterm_ends_promptly(self):
        self.check_signal(signal.SIGTERM)

    def test_sigint_while_waiting_to_reconnect(self):
        proc = spawn(["--json", self.url("/drop?after=1&retry=30000")])
        self.addCleanup(reap, proc)
        read_lines(self, proc, 2)  # the retry field and event 1
        time.sleep(0.3)
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(timeout=5), 0)
        self.assertLess(time.monotonic() - start, 2)


class Tls(LiveTestCase):
    tls = True

    def test_untrusted_certificate_fails(self):
        url = self.url("/events?count=2")
        result = run(["--json", url])
        self.assert_one_line_failure(result, EXIT_FAILED, url)
        self.assertEqual(result.stdout, b"")

    def test_insecure(self):
        for flag in ("--insecure", "-k"):
            with self.subTest(flag=flag):
                result = run(["--json", "--no-reconnect", flag,
                              self.url("/events?count=2")])
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertEqual(
                    [e["id"] for e in json_items(result.stdout)], ["1", "2"])

    def test_cacert(self):
        result = run(["--json", "--no-reconnect", "--cacert",
                      self.server.ca_file,
                      self.url("/events?count=2", host="localhost")])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(len(json_items(result.stdout)), 2)


class Usage(unittest.TestCase):

    def test_usage_errors(self):
        url = "http://127.0.0.1:9/"
        for args in (["-H", "no colon", url], ["-H", ": empty name", url],
                     ["-H", "Bad Name: x", url], ["-X", "GE T", url],
                     ["--timeout", "abc", url], ["--timeout", "-1", url],
                     ["--timeout", ".", url], ["--event", "", url],
                     ["ftp://example.com/"], ["example.com"],
                     ["--demo", url], ["--demo", "--input", "-"],
                     ["--input", "-", "-H", "A: b"],
                     ["--input", "-", "--no-reconnect"],
                     ["--port", "80", url], ["--demo", "--port", "65536"],
                     ["--demo", "--demo-interval", "0"],
                     ["--serve-demo", "--json"], ["--serve-demo", "-d", "x"]):
            with self.subTest(args=args):
                result = run(args)
                self.assertEqual(result.returncode, EXIT_USAGE, result.stderr)
                self.assertEqual(result.stdout, b"")
                self.assertEqual(len(stderr_lines(result)), 1, result.stderr)

    def test_help_documents_live_options(self):
        out = run(["--help"]).stdout.decode()
        for word in ("URL", "-H, --header", "-X, --request", "-d, --data",
                     "--last-event-id", "--event TYPE", "--timeout",
                     "--no-reconnect", "--insecure", "--stats", "--verbose",
                     "--demo", "--serve-demo", "--port", "--max-events 0",
                     "SIGINT"):
            self.assertIn(word, out)


def demo_counts(test, items):
    """Checks the demo's event pattern and returns the counter values."""
    events = events_of(items)
    for i, event in enumerate(events):
        test.assertEqual(event["event"], "tick" if i % 2 == 0 else "count",
                         events)
        if event["event"] == "tick":
            test.assertRegex(event["data"], ISO_UTC)
        else:
            test.assertEqual(event["id"], event["data"])
    return [int(e["data"]) for e in events if e["event"] == "count"]


class Demo(unittest.TestCase):

    def test_default_run(self):
        start = time.monotonic()
        result = run(["--demo", "--json"])
        elapsed = time.monotonic() - start
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, b"")
        self.assertLess(elapsed, 10)
        items = json_items(result.stdout)
        self.assertEqual(len(events_of(items)), 20)
        # The server closes after ten events, so the client connects twice;
        # each connection starts with the retry field.
        self.assertEqual([i for i in items if "retry" in i],
                         [{"retry": 1000}, {"retry": 1000}])
        self.assertEqual(items[0], {"retry": 1000})
        self.assertEqual(demo_counts(self, items), list(range(1, 11)))

    def test_default_run_as_text(self):
        result = run(["--demo"])
        self.assertEqual(result.returncode, 0, result.stderr)
        text = result.stdout.decode()
        self.assertTrue(text.startswith("retry: 1000 ms\n\n[tick]\n"),
                        text[:80])
        self.assertIn("\n[count] id=1\n1\n\n[tick] id=1\n", text)
        self.assertTrue(text.endswith("[count] id=10\n10\n\n"), text[-80:])
        self.assertEqual(len(re.findall(r"^\[(tick|count)\]", text,
                                        re.MULTILINE)), 20)

    def test_counter_continues_across_forced_reconnects(self):
        result = run(["--demo", "--json", "-v", "--demo-interval", "20",
                      "--max-events", "60", "--stats"])
        self.assertEqual(result.returncode, 0, result.stderr)
        items = json_items(result.stdout)
        self.assertEqual(len(events_of(items)), 60)
        self.assertEqual(demo_counts(self, items), list(range(1, 31)))
        stderr = result.stderr.decode()
        resumes = re.findall(r"demo server: GET / \(Last-Event-ID: (\d+)\)",
                             stderr)
        self.assertEqual(resumes, ["5", "10", "15", "20", "25"])
        match = STATS.match(stderr_lines(result)[-1])
        self.assertIsNotNone(match, stderr)
        self.assertEqual(int(match.group(1)), 60)
        self.assertEqual(int(match.group(3)), 5)

    def test_endless_until_sigint(self):
        proc = spawn(["--demo", "--json", "--max-events", "0",
                      "--demo-interval", "20"])
        self.addCleanup(reap, proc)
        # Three connections: three retry lines and 27 events.
        data = read_lines(self, proc, 30)
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(timeout=5), 0)
        data += proc.stdout.read()
        counts = demo_counts(self, json_items(data))
        self.assertEqual(counts, list(range(1, len(counts) + 1)))
        self.assertGreaterEqual(len(counts), 13)

    def test_event_filter_and_last_event_id(self):
        result = run(["--demo", "--json", "--event", "count",
                      "--last-event-id", "99", "--max-events", "7",
                      "--demo-interval", "10"])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual([int(e["data"]) for e in json_items(result.stdout)],
                         list(range(100, 107)))

    def test_closed_stdout_ends_quietly(self):
        proc = spawn(["--demo", "--json", "--max-events", "0",
                      "--demo-interval", "10"])
        self.addCleanup(reap, proc)
        read_lines(self, proc, 1)
        proc.stdout.close()
        self.assertEqual(proc.wait(timeout=5), 0)
        self.assertEqual(proc.stderr.read(), b"")

    @unittest.skipUnless(os.path.exists("/dev/full"), "needs /dev/full")
    def test_write_error(self):
        with open("/dev/full", "wb") as full:
            result = subprocess.run([SSECAT, "--demo", "--demo-interval", "10"],
                                    stdout=full, stderr=subprocess.PIPE,
                                    timeout=TIMEOUT)
        self.assertEqual(result.returncode, EXIT_IO)
        self.assertEqual(result.stderr.decode().splitlines(),
                         ["ssecat: stdout: No space left on device"])

    def test_demo_on_a_chosen_port(self):
        port = free_port()
        result = run(["--demo", "--port", str(port), "-v", "--max-events",
                      "1"])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("connecting to http://127.0.0.1:%d/" % port,
                      result.stderr.decode())

    def test_port_in_use(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            result = run(["--demo", "--port", str(taken.getsockname()[1])])
        self.assertEqual(result.returncode, EXIT_IO, result.stderr)
        self.assertEqual(len(stderr_lines(result)), 1, result.stderr)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeDemo(unittest.TestCase):

    def start(self, args=()):
        proc = subprocess.Popen([SSECAT, "--serve-demo"] + list(args),
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, bufsize=0)
        self.addCleanup(reap, proc)
        line = read_lines(self, proc, 1).decode()
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+)/)\n",
                             line)
        self.assertIsNotNone(match, line)
        return proc, match.group(1), int(match.group(2))

    def test_serves_until_sigterm(self):
        proc, url, _ = self.start(["--demo-interval", "10"])
        result = run(["--json", "--max-events", "4", "--last-event-id", "41",
                      url])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(demo_counts(self, json_items(result.stdout)),
                         [42, 43])
        with self.assertRaises(urllib.error.HTTPError) as missing:
            fetch(url + "nope")
        self.assertEqual(missing.exception.code, 404)
        # A raw response: the headers a browser's EventSource needs.
        sock = socket.create_connection(("127.0.0.1", int(url.split(":")[2]
                                                            .rstrip("/"))))
        with sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n"
                         b"Last-Event-ID: 7\r\n\r\n")
            head = b""
            while b"id: 8" not in head:
                chunk = sock.recv(4096)
                self.assertTrue(chunk, head)
                head += chunk
        self.assertTrue(head.startswith(b"HTTP/1.1 200 OK\r\n"), head)
        self.assertIn(b"\r\nContent-Type: text/event-stream\r\n", head)
        self.assertIn(b"\r\nCache-Control: no-cache\r\n", head)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=5), 0)
        log = proc.stderr.read().decode()
        self.assertIn("GET / (Last-Event-ID: 41)", log)
        self.assertIn("GET / (Last-Event-ID: 7)", log)

    def test_stops_with_clients_connected(self):
        proc, url, _ = self.start()
        client = spawn(["--json", "--max-events", "0", url])
        self.addCleanup(reap, client)
        read_lines(self, client, 2)
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(timeout=5), 0)
        self.assertLess(time.monotonic() - start, 2)

    def test_chosen_port(self):
        port = free_port()
        _, url, got = self.start(["--port", str(port)])
        self.assertEqual(got, port)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    SSECAT = os.path.abspath(sys.argv[1])
    ROOT = os.path.abspath(sys.argv[2])
    sys.path.insert(0, os.path.join(ROOT, "tests", "server"))
    from sse_test_server import ServerProcess  # noqa: E402
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
