"""Freed memory is handed back between phases where the C library can, and ignored elsewhere."""

from __future__ import annotations

from unittest.mock import MagicMock, patch

from winback_cli import memory


def test_glibc_is_asked_to_trim_its_heap():
    libc = MagicMock()
    with patch.object(memory.ctypes, "CDLL", return_value=libc) as load:
        memory.release_free_memory()
    load.assert_called_once_with(None)
    libc.malloc_trim.assert_called_once_with(0)


def test_a_c_library_without_malloc_trim_is_no_error():
    without = MagicMock(spec=[])  # attribute lookup fails, as on macOS
    with patch.object(memory.ctypes, "CDLL", return_value=without):
        memory.release_free_memory()
    with patch.object(memory.ctypes, "CDLL", side_effect=OSError("no libc")):
        memory.release_free_memory()


def test_arrow_returns_its_unused_memory():
    pool = MagicMock()
    with patch("pyarrow.default_memory_pool", return_value=pool):
        memory.release_free_memory()
    pool.release_unused.assert_called_once_with()


def test_a_spilled_scan_hands_memory_back_before_merging_its_groups(monkeypatch):
    # The merge holds every group's facts and the merged whole at once: it must not
    # also hold the pages the groups' rows used (the 10m scan's peak was there).
    from typer.testing import CliRunner

    from winback_cli import order_facts, partitions, slices
    from winback_cli.cli import app

    from .conftest import EXAMPLES

    events = []
    merge, reduce = order_facts.merge_facts, order_facts.compute_facts
    monkeypatch.setattr(
        order_facts, "compute_facts", lambda *a, **k: events.append("reduce") or reduce(*a, **k)
    )
    monkeypatch.setattr(order_facts, "release_free_memory", lambda: events.append("release"))
    monkeypatch.setattr(
        order_facts, "merge_facts", lambda parts: events.append("merge") or merge(parts)
    )
    monkeypatch.setattr(slices, "SLICE_BYTES", 4096)
    monkeypatch.setattr(partitions, "SPILL_ROWS", 200)
    result = CliRunner().invoke(app, ["scan", str(EXAMPLES / "orders_de.csv"), "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    assert events.count("reduce") > 1  # spilled: several groups, then one merge
    assert events[-3:] == ["reduce", "release", "merge"]
