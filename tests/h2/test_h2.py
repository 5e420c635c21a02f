"""Several streams on one loop to an HTTP/2 server share one connection.

nghttpx (a real h2 server) terminates TLS with ALPN h2 in front of the
test server; its access log records the protocol and the client port of
every request, so one port for all requests proves one connection.
Usage: test_h2.py H2_CLIENTS_BINARY
"""
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "server"))
import sse_test_server  # noqa: E402

CLIENTS = None
STREAMS = 6
EVENTS = 5


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, deadline):
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port}")


class Http2Multiplexing(unittest.TestCase):
    def test_streams_of_one_loop_share_one_h2_connection(self):
        with tempfile.TemporaryDirectory() as tmp, sse_test_server.ServerProcess() as backend:
            key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                 "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1",
                 "-addext", "subjectAltName=IP:127.0.0.1"],
                check=True, capture_output=True)
            log = os.path.join(tmp, "access.log")
            port = free_port()
            proxy = subprocess.Popen(
                ["nghttpx", f"--frontend=127.0.0.1,{port}",
                 f"--backend=127.0.0.1,{backend.port}", "--workers=1", "--no-ocsp",
                 f"--accesslog-file={log}",
                 "--accesslog-format=$alpn $remote_port $status $request",
                 "--errorlog-file=/dev/null", key, cert],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_port(port, time.monotonic() + 10)
                url = f"https://127.0.0.1:{port}/events?count={EVENTS}&interval_ms=100"
                run = subprocess.run([CLIENTS, url, str(STREAMS), str(EVENTS), cert],
                                     capture_output=True, text=True, timeout=60)
                self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
                deadline = time.monotonic() + 5
                lines = []
                while time.monotonic() < deadline:
                    with open(log) as f:
                        lines = [l.split() for l in f if "/events" in l]
                    if len(lines) >= STREAMS:
                        break
                    time.sleep(0.05)
            finally:
                proxy.terminate()
                proxy.wait(timeout=10)
            self.assertEqual(len(lines), STREAMS, lines)
            self.assertEqual({l[0] for l in lines}, {"h2"}, lines)
            self.assertEqual(len({l[1] for l in lines}), 1,
                             f"requests came from several connections: {lines}")
            self.assertEqual({l[2] for l in lines}, {"200"}, lines)


if __name__ == "__main__":
    CLIENTS = sys.argv.pop(1)
    unittest.main()
