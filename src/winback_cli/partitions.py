"""Group parsed order rows by customer, in memory or spilled to disk, to bound memory.

Facts are per customer, so all of a customer's rows must be reduced together,
but not all customers at once. `PartitionStore` keeps parsed slices in memory
until they (or the caller's estimate of the whole input) pass `spill_rows`;
from then on it splits every slice by a hash of the customer id into `parts`
groups, appends them to Arrow files in a temporary folder, and later hands
back one group (whole customers) at a time.
A small export never touches the disk; a hundred-million-row one needs memory
for one group and the per-customer results only. Splitting and writing run
on two threads of their own, up to two slices behind the caller, so that
reading and checking the next slices go on meanwhile, and the last two slices
are written side by side.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather

from winback_cli.errors import OutputError
from winback_cli.facts_text import fixed_width, mix_into, take_text, text_array, text_buffers

SPILL_ROWS = 3_000_000  # rows kept in memory before groups go to disk
UNKNOWN_PARTS = 16  # groups when the input's size cannot be estimated (stdin)
MAX_PARTS = 1 << 14  # group numbers fit an int16; more groups than this never pay
WRITERS = 2  # threads writing slices; two let the last slices be written side by side
# Windows cannot delete a file that is still mapped, and a frame may outlive `close`.
MAP_FILES = os.name != "nt"


class PartitionStore:
    """Parsed order slices, handed back as frames of whole customers; see the module doc."""

    def __init__(self, *, spill_rows: int | None = None, at_once: int = 1) -> None:
        self.spill_rows = spill_rows or SPILL_ROWS
        self.at_once = at_once  # groups the caller reduces at the same time
        self.expected_rows: int | None = None  # the caller's estimate for the whole input
        self.rows = 0
        self._memory: list[pd.DataFrame] = []
        self._folder: Path | None = None
        self._parts = 0
        self._pieces = 0
        self._writer: ThreadPoolExecutor | None = None
        self._writing: deque[Future] = deque()

    @property
    def spilled(self) -> bool:
        return self._folder is not None

    def add(self, frame: pd.DataFrame) -> None:
        """Keep one parsed slice."""
        self.rows += len(frame)
        if self._folder is None:
            self._memory.append(frame)
            # Spill as soon as the input is known to be large, not after holding a lot of it.
            if max(self.rows, self.expected_rows or 0) > self.spill_rows:
                self._spill()
        else:
            self._write(frame)

    def groups(self) -> Iterator[Callable[[], list[pd.DataFrame]]]:
        """A group of whole customers at a time, as a function that reads its rows.

        The rows come as the slices they were added in, in that order (spilled
        ones joined into one frame where they can be). Call the function where
        the group is reduced, so that the copy that makes its frame runs there;
        call it once: a spilled group's files are removed once read.
        """
        if self._folder is None:
            memory = self._memory
            yield lambda: memory
            return
        self._wait(0)
        for part in range(self._parts):
            files = sorted(self._folder.glob(f"part{part:04d}-*.arrow"))
            if files:
                yield partial(_read_group, files)

    def close(self) -> None:
        """Remove the spilled files; the store is empty afterwards."""
        self._memory = []
        if self._writer is not None:
            for future in self._writing:
                future.cancel()
            self._writer.shutdown(wait=True, cancel_futures=True)
            self._writer, self._writing = None, deque()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> PartitionStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _spill(self) -> None:
        expected = self.expected_rows
        self._parts = (
            min(MAX_PARTS, max(2, math.ceil(1.5 * self.at_once * expected / self.spill_rows)))
            if expected
            else UNKNOWN_PARTS * self.at_once
        )
        try:
            self._folder = Path(tempfile.mkdtemp(prefix="winback-"))
        except OSError as error:
            raise _no_room(tempfile.gettempdir(), error) from None
        held, self._memory = self._memory, []
        while held:
            self._write(held.pop(0))

    def _write(self, frame: pd.DataFrame) -> None:
        """Hand one slice to a writer thread; its pieces are numbered now, in order."""
        if self._writer is None:
            self._writer = ThreadPoolExecutor(WRITERS, thread_name_prefix="winback-spill")
        self._wait(WRITERS - 1)
        # The writer takes the slice out of this list, so that the slice is freed once
        # regrouped, while its groups are still being written; the job's arguments would
        # keep it, beside its regrouped copy, until the last group is written.
        self._writing.append(self._writer.submit(self._write_parts, [frame], self._pieces))
        self._pieces += 1

    def _wait(self, pending: int) -> None:
        """Wait until at most `pending` writes are unfinished; a failed write is raised."""
        while len(self._writing) > pending:
            try:
                self._writing.popleft().result()
            except OSError as error:  # disk full, folder gone: say where and what to do
                raise _no_room(str(self._folder), error) from None

    def _write_parts(self, handed: list[pd.DataFrame], piece: int) -> None:
        # Small integers sort stably by radix; one take puts the groups one after the
        # other, and each group's file is then a zero-copy slice of it.
        frame = handed.pop()
        part = partition_of(frame["customer_id"], self._parts).astype(np.int16)
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(self._parts + 1))
        table = pa.Table.from_pandas(frame, preserve_index=False)
        del frame
        table = pa.table([take_text(c, order) for c in table.itercolumns()], schema=table.schema)
        for k in range(self._parts):
            if bounds[k + 1] > bounds[k]:
                path = self._folder / f"part{k:04d}-{piece:06d}.arrow"
                rows = table.slice(bounds[k], bounds[k + 1] - bounds[k])
                feather.write_feather(rows, path, compression="uncompressed")


def _no_room(folder: str, error: OSError) -> OutputError:
    return OutputError(
        f"{folder}: cannot write the temporary files a large export needs ({error}). Fix: "
        "free disk space there (about 1.6 times the size of the CSV files), or set TMPDIR "
        "to a folder that has it"
    )


def _read_group(files: list[Path]) -> list[pd.DataFrame]:
    """A group's pieces, as one frame when they have one schema (the usual case); the
    group's files are removed.

    The files are mapped, not read: their pages come straight from the page
    cache, with no copy into fresh memory, and joined as Arrow chunks, the
    frame is made in one copy instead of one per piece and one more to join
    them. Memory bandwidth, not arithmetic, bounds this step on two cores.
    """
    tables = [feather.read_table(f, memory_map=MAP_FILES) for f in files]
    if all(table.schema.equals(tables[0].schema) for table in tables[1:]):
        tables = [pa.concat_tables(tables)]
    frames = [table.to_pandas() for table in tables]
    del tables
    # Read once, the files can go: removed here, on the thread that reduces the group,
    # rather than all at once by `close` while the scan waits. A mapping outlives its
    # file's name, so this is safe for frames that still point into one.
    for file in files:
        file.unlink(missing_ok=True)
    return frames


def partition_of(ids: pd.Series, parts: int) -> np.ndarray:
    """A group number in [0, parts) per customer id, the same for equal ids.

    An FNV-style hash of the length and the last 8 bytes, computed on the
    Arrow buffers: ids differ at the end (running numbers), and hashing whole
    strings with pandas costs several seconds per ten million rows.
    """
    array = text_array(ids)
    grid = fixed_width(array)
    if grid is not None:  # ids of one length (the usual case): columns of bytes, no gathers
        width = grid.shape[1]
        mixed = np.full(len(array), width, dtype=np.uint64)
        for back in range(1, 9):
            mix_into(mixed, grid[:, width - back] if back <= width else np.uint64(0))
        return (mixed % np.uint64(parts)).astype(np.int64)
    offsets, raw = text_buffers(array)
    raw = raw if len(raw) else np.zeros(1, np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    mixed = (ends - starts).astype(np.uint64)
    for back in range(1, 9):
        position = ends - back
        inside = position >= starts
        byte = raw[np.where(inside, position, 0)].astype(np.uint64)
        mix_into(mixed, np.where(inside, byte, np.uint64(0)))
    return (mixed % np.uint64(parts)).astype(np.int64)
