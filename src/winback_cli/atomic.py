"""Write files so that a reader never sees half of one, and never clobber by accident.

Every file winback writes goes through here. The data goes to a hidden temp
file in the target's own folder (so the final rename stays on one file system),
is flushed and fsync'ed, and only then replaces the target with `os.replace`,
which is atomic on POSIX and Windows. A crash, Ctrl-C or `kill -9` therefore
leaves either the old file or the complete new one, never a truncated mix; at
worst a stray `.name.*.tmp` file remains next to it. Without `force` an
existing file is never overwritten, and `check_writable` lets a command check
all of its targets before it writes the first one. A large file is sent to
disk in the background while it is written (`synced_writes`), so that the
final fsync waits for its last part only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from winback_cli.errors import OutputError

SYNC_EVERY = 32 << 20  # bytes written before they are sent to disk in the background


def write_atomic(
    path: Path, data: bytes | str, *, force: bool = False, encoding: str = "utf-8"
) -> Path:
    """Write `data` to `path` atomically; refuse to overwrite unless `force`."""
    payload = data.encode(encoding) if isinstance(data, str) else data
    with atomic_writer(path, force=force, mode="wb") as handle:
        handle.write(payload)
    return Path(path)


@contextlib.contextmanager
def atomic_writer(path: Path, *, force: bool = False, mode: str = "wb") -> Iterator[IO[Any]]:
    """Yield a file object on a temp file that becomes `path` when the block ends cleanly.

    If the block raises, the temp file is removed and `path` is left untouched.
    Text modes write UTF-8 with the newlines exactly as given.
    """
    path = Path(path)
    _raise_problems(_problems(path, force=force))
    handle = _open_temp(path, mode)
    temp = Path(handle.name)
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _match_default_permissions(temp, path)
        _publish(temp, path, force=force)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        if isinstance(exc, OSError):
            raise _as_output_error(path, exc) from exc
        raise
    _sync_directory(path.parent)


def check_writable(paths: Iterable[Path], *, force: bool) -> None:
    """Raise one OutputError listing every target that cannot be written, before writing any."""
    problems: list[str] = []
    seen: set[Path] = set()
    for path in map(Path, paths):
        resolved = path.resolve()
        if resolved in seen:
            problems.append(f"{path} is named twice; give each output its own file name")
            continue
        seen.add(resolved)
        problems.extend(_problems(path, force=force))
    _raise_problems(problems)


def _problems(path: Path, *, force: bool) -> list[str]:
    """What stands in the way of writing `path`, as sentences for a person."""
    parent = path.parent
    if path.is_dir():
        return [f"{path} is a folder, not a file; give a file name inside it"]
    if path.exists() and not force:
        return [f"{path} already exists; use --force to overwrite it"]
    if not parent.exists():
        return [
            f"cannot write {path}: the folder {parent} does not exist; "
            f"create it first (mkdir -p {parent})"
        ]
    if not parent.is_dir():
        return [f"cannot write {path}: {parent} is a file, not a folder"]
    if not os.access(parent, os.W_OK | os.X_OK):
        return [f"cannot write {path}: no permission to create files in {parent}"]
    return []


def _raise_problems(problems: list[str]) -> None:
    if len(problems) == 1:
        raise OutputError(problems[0])
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise OutputError(f"{len(problems)} output files cannot be written:\n{listed}")


@contextlib.contextmanager
def synced_writes(
    handle: IO[bytes], every: int | None = None
) -> Iterator[Callable[[bytes | memoryview], None]]:
    """A `write` for `handle` that sends every `every` bytes (`SYNC_EVERY`) to disk meanwhile.

    Use it inside `atomic_writer`: its fsync at the end then waits only for
    what was written since the last round, instead of a few tenths of a
    second for a few hundred megabytes. One round runs at a time; a failed
    one is raised in the caller, at the next write or at the end.
    """
    sync = getattr(os, "fdatasync", os.fsync)  # macOS and Windows have only fsync
    every = every or SYNC_EVERY
    unsynced = 0
    running: Future | None = None
    with ThreadPoolExecutor(1, thread_name_prefix="winback-sync") as pool:

        def write(data: bytes | memoryview) -> None:
            nonlocal unsynced, running
            handle.write(data)
            unsynced += len(data)
            if unsynced >= every and (running is None or running.done()):
                if running is not None:
                    running.result()
                handle.flush()
                running = pool.submit(sync, handle.fileno())
                unsynced = 0

        yield write
        if running is not None:  # on an error in the caller, the pool just waits for it
            running.result()


def _open_temp(path: Path, mode: str) -> IO[Any]:
    text = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
    try:
        return tempfile.NamedTemporaryFile(
            mode, delete=False, dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", **text
        )
    except OSError as exc:
        raise _as_output_error(path, exc) from exc


def _match_default_permissions(temp: Path, path: Path) -> None:
    """Give the new file the mode a plain `open()` would have, not mkstemp's private 0600."""
    if path.exists():
        mode = path.stat().st_mode & 0o7777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(temp, mode)


def _publish(temp: Path, path: Path, *, force: bool) -> None:
    """Move the finished temp file into place; without force, never replace a file."""
    if force:
        os.replace(temp, path)
        return
    try:
        # A hard link fails if the target appeared since we checked, closing the race
        # that an exists() check followed by os.replace would leave open.
        os.link(temp, path)
    except FileExistsError:
        raise OutputError(f"{path} already exists; use --force to overwrite it") from None
    except OSError:
        if path.exists():  # file system without hard links: check, then replace
            raise OutputError(f"{path} already exists; use --force to overwrite it") from None
        os.replace(temp, path)
        return
    temp.unlink()


def _sync_directory(folder: Path) -> None:
    """Make the rename itself durable; not possible (nor needed) on Windows."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _as_output_error(path: Path, exc: OSError) -> OutputError:
    if isinstance(exc, PermissionError):
        return OutputError(f"cannot write {path}: permission denied; choose another folder")
    if exc.errno == errno.ENOSPC:
        return OutputError(f"cannot write {path}: the disk is full; free space and run again")
    reason = exc.strerror or str(exc)
    return OutputError(f"cannot write {path}: {reason}")
