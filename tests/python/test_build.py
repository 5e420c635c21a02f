"""Building from source: a machine without libcurl's development files gets
a sentence saying what to install, not a CMake backtrace to decode."""

from __future__ import annotations

import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_a_missing_libcurl_says_what_to_install() -> None:
    with tempfile.TemporaryDirectory() as build:
        r = subprocess.run(
            ["cmake", "-S", ROOT, "-B", build, "-DCMAKE_DISABLE_FIND_PACKAGE_CURL=TRUE",
             "-DSSEKIT_BUILD_TESTS=OFF", "-DSSEKIT_BUILD_CLI=OFF"],
            capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    out = " ".join((r.stdout + r.stderr).split())
    assert "ssekit needs libcurl 7.68 or later with its development files" in out
    assert "apt install libcurl4-openssl-dev" in out
