"""The public surface and the examples pass mypy --strict."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_mypy_strict_on_the_examples_and_the_package() -> None:
    import ssekit

    package = os.path.dirname(ssekit.__file__)
    assert os.path.exists(os.path.join(package, "py.typed"))
    assert os.path.exists(os.path.join(package, "_ssekit.pyi"))
    examples = os.path.join(ROOT, "examples", "python")
    for target in (["-p", "ssekit"], [examples]):
        r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", *target],
                           capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert r.returncode == 0, r.stdout + r.stderr
