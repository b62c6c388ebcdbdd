"""Freed memory is reused within a phase and handed back between phases where the C library
can, pages come 4 KB at a time on Linux, and all of it is ignored elsewhere; no slice of a
large export is kept once it has been handed on."""

from __future__ import annotations

import platform
from unittest.mock import MagicMock, patch

import pytest

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


def test_glibc_keeps_one_heap_for_all_threads_and_reuses_large_blocks():
    libc = MagicMock()
    libc.mallopt.return_value = 1  # glibc's "done"
    with patch.object(memory.ctypes, "CDLL", return_value=libc):
        assert memory.reuse_freed_memory() is True
    asked = dict(call.args for call in libc.mallopt.call_args_list)
    # M_ARENA_MAX, M_MMAP_THRESHOLD and M_TRIM_THRESHOLD are -8, -3 and -1 in malloc.h.
    assert asked == {-8: 1, -3: 32 * 2**20, -1: 2**30}


# glibc's mallopt says 0 when it refuses, the kernel's prctl -1.
@pytest.mark.parametrize(
    ("setting", "call", "refused"),
    [("reuse_freed_memory", "mallopt", 0), ("no_huge_pages", "prctl", -1)],
)
def test_a_c_library_without_the_call_or_refusing_it_is_no_error(setting, call, refused):
    apply = getattr(memory, setting)
    with patch.object(memory.ctypes, "CDLL", return_value=MagicMock(spec=[])):  # as on macOS
        assert apply() is False
    with patch.object(memory.ctypes, "CDLL", side_effect=OSError("no libc")):
        assert apply() is False
    refusing = MagicMock()
    getattr(refusing, call).return_value = refused
    with patch.object(memory.ctypes, "CDLL", return_value=refusing):
        assert apply() is False


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_then_serves_a_16_mb_block_from_its_heap_instead_of_mapping_it():
    import ctypes

    class MallInfo2(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in [
                "arena",
                "ordblks",
                "smblks",
                "hblks",
                "hblkhd",
                "usmblks",
                "fsmblks",
                "uordblks",
                "fordblks",
                "keepcost",
            ]
        ]

    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("glibc before 2.33 has no mallinfo2")
    libc.mallinfo2.restype = MallInfo2
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    assert memory.reuse_freed_memory() is True  # harmless to repeat in this process
    mapped = libc.mallinfo2().hblks  # blocks mapped apart, each unmapped when freed
    block = libc.malloc(16 << 20)
    try:
        assert libc.mallinfo2().hblks == mapped
    finally:
        libc.free(block)


def test_linux_is_asked_for_ordinary_pages_instead_of_huge_ones():
    libc = MagicMock()
    libc.prctl.return_value = 0
    with patch.object(memory.ctypes, "CDLL", return_value=libc):
        assert memory.no_huge_pages() is True
    option, *values = libc.prctl.call_args.args
    # PR_SET_THP_DISABLE is 41 in linux/prctl.h; its value 1 disables, the rest must be 0.
    assert (option, [value.value for value in values]) == (41, [1, 0, 0, 0])


@pytest.mark.skipif(platform.system() != "Linux", reason="transparent huge pages are Linux's")
def test_linux_then_reports_huge_pages_off_for_the_process():
    import subprocess
    import sys

    # In a child, so that this test process keeps its pages as they were. The child
    # inherits the setting (a test before may have run `cli.main` here): it clears it first.
    script = (
        "import ctypes\n"
        "from winback_cli.memory import no_huge_pages\n"
        "libc = ctypes.CDLL(None)\n"
        "libc.prctl(41, 0, 0, 0, 0)\n"  # PR_SET_THP_DISABLE off
        "before = libc.prctl(42, 0, 0, 0, 0)\n"  # PR_GET_THP_DISABLE
        "done = no_huge_pages()\n"
        "print(before, done, libc.prctl(42, 0, 0, 0, 0))\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert child.stdout.split() == ["0", "True", "1"]


def balloon(folder, features: str):
    device = folder / "virtio0"
    device.mkdir(parents=True)
    (device / "features").write_text(features + "\n", encoding="ascii")
    return folder


def test_a_balloon_reporting_free_pages_is_found(tmp_path):
    # Bit 5 is VIRTIO_BALLOON_F_REPORTING; these are the features of the benchmark's VM.
    reporting = "0110010100000000000000000000000010000000"
    assert memory.freed_pages_go_to_host(balloon(tmp_path / "a", reporting)) is True
    assert memory.freed_pages_go_to_host(balloon(tmp_path / "b", "01101000")) is False
    assert memory.freed_pages_go_to_host(balloon(tmp_path / "c", "0110")) is False
    assert memory.freed_pages_go_to_host(tmp_path / "no-balloon-here") is False
    unreadable = tmp_path / "d" / "virtio0" / "features"
    unreadable.mkdir(parents=True)  # a folder: reading it fails
    assert memory.freed_pages_go_to_host(tmp_path / "d") is False


@pytest.mark.parametrize("reporting", [True, False])
def test_the_command_line_sets_the_allocator_up_before_running_a_command(monkeypatch, reporting):
    from winback_cli import cli

    calls = []
    monkeypatch.setattr(memory, "reuse_freed_memory", lambda: calls.append("reuse") or True)
    monkeypatch.setattr(memory, "freed_pages_go_to_host", lambda: reporting)
    monkeypatch.setattr(memory, "no_huge_pages", lambda: calls.append("pages") or True)
    monkeypatch.setattr(cli, "app", lambda: calls.append("run"))
    cli.main()
    assert calls == (["reuse", "pages", "run"] if reporting else ["reuse", "run"])


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


# A slice of a large export is a hundred megabytes or more. Once it has been handed on,
# nothing on the way may keep it: the 100m scan's peak was slices kept that way.


def test_a_spilled_slice_is_freed_before_its_groups_are_written(monkeypatch):
    import weakref

    import pyarrow.feather as feather

    from winback_cli.partitions import PartitionStore

    from .test_partitions import orders

    alive = []
    write = feather.write_feather

    def watched(table, path, **kwargs):
        alive.append(handed() is not None)
        write(table, path, **kwargs)

    monkeypatch.setattr(feather, "write_feather", watched)
    frame = orders(500, 80)
    handed = weakref.ref(frame)
    with PartitionStore(spill_rows=10) as store:
        store.expected_rows = 1000
        store.add(frame)
        del frame
        groups = [read() for read in store.groups()]
    assert len(alive) > 1 and not any(alive)  # each group's file, written after the free
    assert sum(len(piece) for group in groups for piece in group) == 500


def test_reading_keeps_no_slice_it_has_handed_on(monkeypatch):
    import weakref

    from winback_cli import slices
    from winback_cli.load import LoadLog, iter_orders
    from winback_cli.rules import load_rules

    from .conftest import EXAMPLES

    monkeypatch.setattr(slices, "SLICE_BYTES", 8192)
    monkeypatch.setattr(slices, "HEAD_BYTES", 64)
    rules, _ = load_rules(EXAMPLES / "rules.yaml")
    reading = iter_orders([str(EXAMPLES / "orders_de.csv")], rules, LoadLog())
    handed = []
    for frame in reading:
        handed.append(weakref.ref(frame))
        del frame  # what the scan does once a slice is stored
        assert handed[-1]() is None  # so the reader, waiting for the next, holds none
    assert len(handed) > 2


def test_the_scan_keeps_no_slice_while_it_waits_for_the_next(monkeypatch):
    import weakref

    from winback_cli import order_facts
    from winback_cli.load import LoadLog
    from winback_cli.rules import load_rules
    from winback_cli.scan import ScanOptions

    from .test_partitions import orders

    handed, kept = [], []

    def reading(*_args, **_kwargs):
        for seed in range(3):
            kept.append(sum(ref() is not None for ref in handed))
            yield remembered(orders(100, 10, seed))

    def remembered(frame):
        handed.append(weakref.ref(frame))
        return frame

    class Store:  # writes at once, like a spilling store whose writer is done
        expected_rows = None

        def add(self, frame):
            pass

    monkeypatch.setattr(order_facts, "iter_orders", reading)
    rules, _ = load_rules(None)
    span = order_facts._read_orders(
        ScanOptions(orders=(), rules=rules, rules_source=""), LoadLog(), Store()
    )
    assert span.rows == 300
    assert kept == [0, 0, 0]
