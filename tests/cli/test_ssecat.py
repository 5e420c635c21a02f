#!/usr/bin/env python3
"""Tests of the ssecat command-line tool.

Usage: test_ssecat.py PATH_TO_SSECAT REPO_ROOT [unittest arguments]
"""
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time
import unittest

SSECAT = ""
ROOT = ""
TIMEOUT = 30

EXIT_USAGE = 1
EXIT_IO = 2
EXIT_STREAM = 3


def json_string(text):
    """The JSON string ssecat must write: only what JSON forbids raw (plus
    DEL) escaped, everything else as raw UTF-8."""
    named = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f",
             "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    out = []
    for ch in text:
        if ch in named:
            out.append(named[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def json_line(item):
    if "retry" in item:
        return '{"retry": %d}\n' % item["retry"]
    return '{"event": %s, "data": %s, "id": %s}\n' % (
        json_string(item["event"]), json_string(item["data"]),
        json_string(item["id"]))


def text_record(item):
    """The text-mode block documented in ssecat --help."""
    if "retry" in item:
        return "retry: %d ms\n\n" % item["retry"]
    head = ""
    if item["event"] != "message" or item["id"]:
        head = "[%s]" % item["event"]
        if item["id"]:
            head += " id=%s" % item["id"]
        head += "\n"
    return head + item["data"] + "\n\n"


def run(args, stdin=b"", **kwargs):
    return subprocess.run([SSECAT] + args, input=stdin, capture_output=True,
                          timeout=TIMEOUT, **kwargs)


def sample_path():
    return os.path.join(ROOT, "examples", "sample.sse")


def case_input(case):
    if "input_hex" in case:
        return bytes.fromhex(case["input_hex"])
    return case["input"].encode("utf-8")


def case_args(case):
    args = ["--json", "--input", "-"]
    options = case.get("options") or {}
    if options.get("max_line") is not None:
        args += ["--max-line", str(options["max_line"])]
    if options.get("max_event") is not None:
        args += ["--max-event", str(options["max_event"])]
    return args


# Cases in the format of tests/cases/parser.json, for what the tool itself
# adds: option mapping, errors after output, and streams spanning reads.
INLINE_CASES = [
    {"name": "one event", "input": "data: hi\n\n",
     "expect": [{"event": "message", "data": "hi", "id": ""}]},
    {"name": "named multi-line event with id",
     "input": "event: update\nid: 7\ndata: a\ndata:\ndata: b\n\n",
     "expect": [{"event": "update", "data": "a\n\nb", "id": "7"}]},
    {"name": "id persists, retry in stream order",
     "input": "id: 1\ndata: x\n\nretry: 2500\ndata: y\n\n: ka\n\n",
     "expect": [{"event": "message", "data": "x", "id": "1"},
                {"retry": 2500},
                {"event": "message", "data": "y", "id": "1"},
                {"comment": "ka"}]},
    {"name": "unterminated event is dropped", "input": "data: a\n\ndata: b",
     "expect": [{"event": "message", "data": "a", "id": ""}]},
    {"name": "line limit after an event",
     "input": "data: ok\n\nevent: 0123456789abcdef\n\n",
     "options": {"max_line": 16},
     "expect": [{"event": "message", "data": "ok", "id": ""},
                {"error": "line_too_long"}]},
    {"name": "event limit after an event",
     "input": "data: ok\n\ndata: 12345\ndata: 12345\n\n",
     "options": {"max_line": 0, "max_event": 8},
     "expect": [{"event": "message", "data": "ok", "id": ""},
                {"error": "event_too_large"}]},
    {"name": "zero limits mean none",
     "input": "data: " + "x" * 100 + "\n\n",
     "options": {"max_line": 0, "max_event": 0},
     "expect": [{"event": "message", "data": "x" * 100, "id": ""}]},
]


class ParserCases(unittest.TestCase):
    """Every parser case, replayed through ssecat --json on stdin."""

    def check_case(self, case):
        expect = case["expect"]
        errors = [i for i, item in enumerate(expect) if "error" in item]
        self.assertLessEqual(len(errors), 1, "malformed case")
        if errors:
            self.assertEqual(errors[0], len(expect) - 1,
                             "an error must be the last expectation")
        printed = [item for item in expect
                   if "error" not in item and "comment" not in item]
        result = run(case_args(case), case_input(case))
        self.assertEqual(result.stdout.decode("utf-8"),
                         "".join(json_line(item) for item in printed),
                         "exit status %d, stderr %r"
                         % (result.returncode, result.stderr))
        if errors:
            self.assertEqual(result.returncode, EXIT_STREAM)
            lines = result.stderr.decode().splitlines()
            self.assertEqual(len(lines), 1, result.stderr)
            self.assertTrue(lines[0].startswith("ssecat: stdin: "), lines[0])
        else:
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stderr, b"")

    def test_inline_cases(self):
        for case in INLINE_CASES:
            with self.subTest(case=case["name"]):
                self.check_case(case)

    def test_shared_parser_cases(self):
        path = os.path.join(ROOT, "tests", "cases", "parser.json")
        with open(path, encoding="utf-8") as f:
            cases = json.load(f)["cases"]
        self.assertGreater(len(cases), 0)
        for case in cases:
            with self.subTest(case=case["name"]):
                self.check_case(case)


class Incremental(unittest.TestCase):
    """Events must come out while the input is still open."""

    def spawn(self, args):
        proc = subprocess.Popen([SSECAT] + args, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, bufsize=0)
        self.addCleanup(self.reap, proc)
        return proc

    @staticmethod
    def reap(proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()

    def read_until(self, proc, terminator, timeout=10.0):
        """Reads stdout until it ends with terminator; fails on timeout."""
        data = b""
        deadline = time.monotonic() + timeout
        fd = proc.stdout.fileno()
        while not data.endswith(terminator):
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail("no output within %gs, got %r" % (timeout, data))
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    self.fail("stdout closed early, got %r" % data)
                data += chunk
        return data

    def test_json_events_while_stdin_open(self):
        proc = self.spawn(["--json", "--input", "-"])
        proc.stdin.write(b"id: 1\ndata: hello\n\n")
        self.assertEqual(self.read_until(proc, b"\n"),
                         b'{"event": "message", "data": "hello", "id": "1"}\n')
        proc.stdin.write(b"retry: 10\nevent: e\ndata: world\n\n")
        self.assertEqual(
            self.read_until(proc, b'"id": "1"}\n'),
            b'{"retry": 10}\n{"event": "e", "data": "world", "id": "1"}\n')
        proc.stdin.close()
        self.assertEqual(proc.wait(timeout=TIMEOUT), 0)

    def test_cr_line_endings_dispatch_at_once(self):
        proc = self.spawn(["--json", "--input", "-"])
        proc.stdin.write(b"data: cr\r\r")
        self.assertEqual(self.read_until(proc, b"\n"),
                         b'{"event": "message", "data": "cr", "id": ""}\n')

    def test_text_events_while_stdin_open(self):
        proc = self.spawn(["--input", "-"])
        proc.stdin.write(b"event: tick\ndata: 1\n\n")
        self.assertEqual(self.read_until(proc, b"\n\n"), b"[tick]\n1\n\n")
        proc.stdin.close()
        self.assertEqual(proc.wait(timeout=TIMEOUT), 0)

    def test_max_events_exits_without_end_of_input(self):
        proc = self.spawn(["--json", "--max-events", "2", "--input", "-"])
        proc.stdin.write(b"data: a\n\ndata: b\n\ndata: c\n\n")
        self.assertEqual(proc.wait(timeout=TIMEOUT), 0)
        self.assertEqual(proc.stdout.read(),
                         b'{"event": "message", "data": "a", "id": ""}\n'
                         b'{"event": "message", "data": "b", "id": ""}\n')

    def test_closed_stdout_ends_quietly(self):
        with tempfile.TemporaryFile() as big:
            big.write(b"data: 0123456789012345678901234567890123456789\n\n"
                      * 100000)
            big.seek(0)
            proc = subprocess.Popen([SSECAT, "--json", "--input", "-"],
                                    stdin=big, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, bufsize=0)
            self.addCleanup(self.reap, proc)
            self.read_until(proc, b"\n")
            proc.stdout.close()
            self.assertEqual(proc.wait(timeout=TIMEOUT), 0)
            self.assertEqual(proc.stderr.read(), b"")


class JsonEscaping(unittest.TestCase):

    def test_exact_format(self):
        result = run(["--json", "--input", "-"], b"data: x\n\n")
        self.assertEqual(result.stdout,
                         b'{"event": "message", "data": "x", "id": ""}\n')

    def test_control_characters_quotes_backslash_non_ascii(self):
        stream = (b'event: q"b\\s\x01\n'
                  b"id: t\tab\x7f\n"
                  b'data: \x00nul \x08\x0c\x1b\x1f "q" \\ caf\xc3\xa9 '
                  b"\xe6\x97\xa5 \xf0\x9f\x98\x80\n"
                  b"data: line2\n\n")
        result = run(["--json", "--input", "-"], stream)
        self.assertEqual(result.returncode, 0, result.stderr)
        line = result.stdout
        self.assertEqual(
            line,
            b'{"event": "q\\"b\\\\s\\u0001", '
            b'"data": "\\u0000nul \\b\\f\\u001b\\u001f \\"q\\" \\\\ '
            b'caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80\\nline2", '
            b'"id": "t\\tab\\u007f"}\n')
        self.assertEqual(json.loads(line), {
            "event": 'q"b\\s\x01',
            "data": '\x00nul \b\f\x1b\x1f "q" \\ café 日 😀\nline2',
            "id": "t\tab\x7f"})

    def test_invalid_utf8_becomes_replacement_character(self):
        result = run(["--json", "--input", "-"], b"data: a\xffb\n\n")
        self.assertEqual(
            result.stdout,
            b'{"event": "message", "data": "a\xef\xbf\xbdb", "id": ""}\n')


class Errors(unittest.TestCase):

    def assert_one_line_error(self, result, status, prefix="ssecat: "):
        self.assertEqual(result.returncode, status, result.stderr)
        self.assertEqual(result.stdout, b"")
        lines = result.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith(prefix), lines[0])
        self.assertTrue(result.stderr.endswith(b"\n"))

    def test_missing_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            missing = os.path.join(tmp, "missing.sse")
            result = run(["--input", missing])
        self.assert_one_line_error(result, EXIT_IO,
                                   "ssecat: %s: " % missing)

    def test_directory_as_input(self):
        with tempfile.TemporaryDirectory() as tmp:
            result = run(["--input", tmp])
        self.assert_one_line_error(result, EXIT_IO, "ssecat: %s: " % tmp)

    def test_usage_errors(self):
        for args in (["--bogus"], ["-x"], [], ["--json"], ["--input"],
                     ["--max-line", "abc", "--input", "-"],
                     ["--max-line=-1", "--input", "-"],
                     ["--max-event", "", "--input", "-"],
                     ["--max-events", "99999999999999999999999",
                      "--input", "-"],
                     ["--json=yes", "--input", "-"],
                     ["--input", "-", "one", "two"]):
            with self.subTest(args=args):
                self.assert_one_line_error(run(args), EXIT_USAGE)

    def test_default_line_limit_and_zero_disables_it(self):
        # An event-type line: a data line is bounded by the event limit.
        stream = b"event: " + b"x" * (4 << 20) + b"\ndata: d\n\n"
        limited = run(["--json", "--input", "-"], stream)
        self.assert_one_line_error(limited, EXIT_STREAM, "ssecat: stdin: ")
        unlimited = run(["--json", "--max-line", "0", "--input", "-"], stream)
        self.assertEqual(unlimited.returncode, 0, unlimited.stderr)
        self.assertEqual(json.loads(unlimited.stdout)["event"], "x" * (4 << 20))

    @unittest.skipUnless(os.path.exists("/dev/full"), "needs /dev/full")
    def test_write_error(self):
        with open("/dev/full", "wb") as full:
            result = subprocess.run([SSECAT, "--input", sample_path()],
                                    stdout=full, stderr=subprocess.PIPE,
                                    timeout=TIMEOUT)
        self.assertEqual(result.returncode, EXIT_IO)
        self.assertEqual(result.stderr.decode().splitlines(),
                         ["ssecat: stdout: No space left on device"])


class Files(unittest.TestCase):

    def sample_items(self):
        result = run(["--json", "--input", sample_path()])
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.decode("utf-8").splitlines(keepends=True)
        items = [json.loads(line) for line in lines]
        for line, item in zip(lines, items):
            self.assertEqual(line, json_line(item))
        return items

    def test_sample_json(self):
        items = self.sample_items()
        events = [item for item in items if "retry" not in item]
        self.assertEqual(len(events), 30)
        self.assertEqual(items[0], {"retry": 3000})
        self.assertEqual(events[0]["event"], "response.created")
        self.assertEqual([e["id"] for e in events],
                         [str(i) for i in range(1, 30)] + ["29"])
        self.assertEqual(events[-1]["data"], "[DONE]")
        done = [e for e in events if e["event"] == "response.output_text.done"]
        self.assertEqual(len(done), 1)
        self.assertIn("\n\nSteam over the café,\n", done[0]["data"])

    def test_sample_text(self):
        items = self.sample_items()
        result = run(["--input", sample_path()])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, b"")
        text = result.stdout.decode("utf-8")
        self.assertEqual(text, "".join(text_record(item) for item in items))
        self.assertTrue(text.startswith(
            "retry: 3000 ms\n\n[response.created] id=1\n{"), text[:80])
        self.assertEqual(len(re.findall(r"^\[[^\]\n]+\] id=\d+$", text,
                                        re.MULTILINE)), 30)

    def test_text_headers(self):
        result = run(["--input", "-"],
                     b"data: plain\n\nevent: named\ndata: a\ndata: b\n\n"
                     b"id: 3\ndata: with id\n\nretry: 5\n\n")
        self.assertEqual(result.stdout,
                         b"plain\n\n[named]\na\nb\n\n"
                         b"[message] id=3\nwith id\n\nretry: 5 ms\n\n")

    def test_stream_spanning_many_reads(self):
        big = "y" * 300000
        stream = ("data: first\n\nid: 9\ndata: %s\n\n\r\ndata: last\r\n\r\n"
                  % big).encode()
        with tempfile.NamedTemporaryFile(suffix=".sse") as f:
            f.write(stream)
            f.flush()
            result = run(["--json", "--input", f.name])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.decode(), "".join(json_line(i) for i in [
            {"event": "message", "data": "first", "id": ""},
            {"event": "message", "data": big, "id": "9"},
            {"event": "message", "data": "last", "id": "9"}]))

    def test_max_events(self):
        full = run(["--json", "--input", sample_path()]).stdout.splitlines(
            keepends=True)
        three = run(["--json", "--max-events", "3", "--input", sample_path()])
        self.assertEqual(three.returncode, 0, three.stderr)
        self.assertEqual(three.stdout, b"".join(full[:4]))  # retry + 3 events
        for n in ("0", "1000"):
            with self.subTest(max_events=n):
                all_events = run(["--json", "--max-events=" + n, "--input",
                                  sample_path()])
                self.assertEqual(all_events.returncode, 0)
                self.assertEqual(all_events.stdout, b"".join(full))
        text = run(["--max-events", "1", "--input", sample_path()])
        self.assertEqual(text.stdout.decode(),
                         "retry: 3000 ms\n\n[response.created] id=1\n"
                         + json.loads(full[1])["data"] + "\n\n")


class Info(unittest.TestCase):

    def test_help(self):
        for flag in ("--help", "-h"):
            with self.subTest(flag=flag):
                result = run([flag])
                self.assertEqual(result.returncode, 0)
                self.assertEqual(result.stderr, b"")
                out = result.stdout.decode()
                for word in ("--input", "--json", "--max-line", "--max-event ",
                             "--max-events", "--version", "Exit status"):
                    self.assertIn(word, out)

    def test_version(self):
        result = run(["--version"])
        self.assertEqual(result.returncode, 0)
        self.assertRegex(result.stdout.decode(), r"^ssecat \d+\.\d+\.\d+\n$")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    SSECAT = os.path.abspath(sys.argv[1])
    ROOT = os.path.abspath(sys.argv[2])
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
