"""The benchmark runs end to end on small data (figures are read by people, not asserted)."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def test_bench_scan_smoke():
    done = subprocess.run(
        [sys.executable, "bench/bench_scan.py", "--smoke", "--no-duckdb"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "rows/s" in done.stdout
