"""Atomic writes: a target is either the old file or the whole new one, and never clobbered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from winback_cli import atomic
from winback_cli.atomic import atomic_writer, check_writable, write_atomic
from winback_cli.errors import OutputError

SRC = Path(__file__).resolve().parents[1] / "src"
posix_only = pytest.mark.skipif(os.name != "posix", reason="needs SIGKILL and POSIX modes")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_writes_bytes_and_text_and_returns_the_path(tmp_path: Path) -> None:
    assert write_atomic(tmp_path / "a.bin", b"\x00\x01") == tmp_path / "a.bin"
    write_atomic(tmp_path / "Müller 📈.csv", "Ørsted;1\r\n")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "Müller 📈.csv").read_bytes() == "Ørsted;1\r\n".encode()
    assert leftovers(tmp_path) == []


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    target.write_text("old")
    with pytest.raises(OutputError, match=r"report.csv already exists; use --force to overwrite"):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_force_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    target.write_text("old")
    write_atomic(target, "new", force=True)
    assert target.read_text() == "new"


def test_missing_folder_is_named_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"folder .*out does not exist; create it first"):
        write_atomic(tmp_path / "out" / "report.csv", "x")


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a folder, not a file"):
        write_atomic(tmp_path, "x", force=True)


@pytest.mark.parametrize("existed", [True, False])
def test_an_error_while_writing_leaves_the_target_untouched(tmp_path: Path, existed: bool) -> None:
    target = tmp_path / "letters.xlsx"
    if existed:
        target.write_text("old")
    with pytest.raises(RuntimeError), atomic_writer(target, force=True) as handle:
        handle.write(b"half of it")
        raise RuntimeError("renderer failed")
    assert target.read_text() == "old" if existed else not target.exists()
    assert leftovers(tmp_path) == []


def test_text_mode_writes_utf8_and_keeps_newlines(tmp_path: Path) -> None:
    with atomic_writer(tmp_path / "a.csv", mode="w") as handle:
        handle.write("Müller;1\r\nØrsted;2\r\n")
    assert (tmp_path / "a.csv").read_bytes() == "Müller;1\r\nØrsted;2\r\n".encode()


def test_permission_error_names_the_file(tmp_path: Path, monkeypatch) -> None:
    def refuse(*args: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    with pytest.raises(OutputError, match=r"cannot write .*locked.csv: permission denied"):
        write_atomic(tmp_path / "locked.csv", "x", force=True)
    assert leftovers(tmp_path) == []


def test_file_that_appears_during_the_write_is_not_clobbered(tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    with pytest.raises(OutputError, match="already exists"), atomic_writer(target) as handle:
        handle.write(b"ours")
        target.write_text("someone else's")
    assert target.read_text() == "someone else's"
    assert leftovers(tmp_path) == []


@posix_only
def test_new_files_get_ordinary_permissions_not_private_temp_ones(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.csv", "x")
    finally:
        os.umask(umask)
    assert (tmp_path / "a.csv").stat().st_mode & 0o777 == 0o644


def test_check_writable_lists_every_problem_at_once(tmp_path: Path) -> None:
    (tmp_path / "old.csv").write_text("x")
    targets = [
        tmp_path / "old.csv",
        tmp_path / "missing" / "a.json",
        tmp_path / "new.xlsx",
        tmp_path / "new.xlsx",
    ]
    with pytest.raises(OutputError) as error:
        check_writable(targets, force=False)
    message = str(error.value)
    assert message.startswith("3 output files cannot be written:")
    assert "old.csv already exists; use --force" in message
    assert "folder" in message and "missing does not exist" in message
    assert "new.xlsx is named twice" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv"]


def test_check_writable_accepts_existing_files_with_force(tmp_path: Path) -> None:
    (tmp_path / "old.csv").write_text("x")
    check_writable([tmp_path / "old.csv", tmp_path / "new.csv"], force=True)


def test_large_files_go_to_disk_in_rounds_while_they_are_written(tmp_path, monkeypatch):
    synced = []
    sync = getattr(os, "fdatasync", os.fsync)
    monkeypatch.setattr(os, sync.__name__, lambda fd: synced.append(os.fstat(fd).st_size))
    target = tmp_path / "big.csv"
    with atomic_writer(target) as handle, atomic.synced_writes(handle, every=10) as write:
        for _ in range(5):
            write(b"0123456789")
            time.sleep(0.01)  # let a round finish before the next write
    assert target.read_bytes() == b"0123456789" * 5
    # The first round starts at once; each saw whole writes (the buffer was flushed first).
    assert synced[0] == 10 and synced == sorted(synced)
    assert all(size % 10 == 0 for size in synced)


def test_a_failed_round_fails_the_write_and_leaves_no_file(tmp_path, monkeypatch):
    from winback_cli.outputs import write_text_output

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, getattr(os, "fdatasync", os.fsync).__name__, broken)
    monkeypatch.setattr(atomic, "SYNC_EVERY", 4)
    target = tmp_path / "out.csv"
    with pytest.raises(OutputError, match=r"out\.csv"):
        write_text_output(target, iter([b"a,b\n", b"1,2\n", b"3,4\n"]), None, force=False)
    assert not target.exists() and leftovers(tmp_path) == []


# --- a process killed in the middle of a write ----------------------------------------

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from winback_cli.atomic import atomic_writer, write_atomic

    target, how = Path(sys.argv[1]), sys.argv[2]
    if how == "slow":
        with atomic_writer(target, force=True) as handle:
            handle.write(b"new" * 1000)
            handle.flush()
            print("writing", flush=True)
            while True:  # never finishes: killed here
                handle.write(b"new" * 1000)
                time.sleep(0.01)
    else:
        payload = b"n" * 100_000_000
        print("writing", flush=True)
        write_atomic(target, payload, force=True)
        print("done", flush=True)
    """
)


def start_child(target: Path, how: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(target), how],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "writing\n"
    return child


def kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)


@posix_only
@pytest.mark.slow
def test_killed_while_writing_leaves_the_old_file_intact(tmp_path: Path) -> None:
    target = tmp_path / "customers.csv"
    target.write_bytes(b"old content\n")
    kill(start_child(target, "slow"))
    assert target.read_bytes() == b"old content\n"


@posix_only
@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.05, 0.2, 0.5])
@pytest.mark.parametrize("existed", [True, False])
def test_killed_at_any_moment_leaves_old_or_complete_file(
    tmp_path: Path, delay: float, existed: bool
) -> None:
    target = tmp_path / "customers.csv"
    if existed:
        target.write_bytes(b"old content\n")
    child = start_child(target, "big")
    time.sleep(delay)
    kill(child)
    if not target.exists():
        assert not existed
        return
    size = target.stat().st_size
    assert size in (len(b"old content\n"), 100_000_000), f"truncated file of {size} bytes"
    if size == 100_000_000:
        with target.open("rb") as handle:
            assert handle.read(1_000_000) == b"n" * 1_000_000
    else:
        assert target.read_bytes() == b"old content\n"
