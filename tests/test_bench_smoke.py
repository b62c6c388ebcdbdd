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
    # The versions the figures depend on are printed with them (DuckDB's speed varies).
    assert "pyarrow " in done.stderr and "duckdb " in done.stderr


def test_the_benchmarks_doctests_hold(monkeypatch):
    import doctest
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_scan", ROOT / "bench" / "bench_scan.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_scan", module)  # its dataclasses look it up
    spec.loader.exec_module(module)
    result = doctest.testmod(module)
    assert result.attempted >= 2 and result.failed == 0
    assert module.versions(("pytest",)).startswith("pytest ")
