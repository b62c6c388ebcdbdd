"""A progress bar on stderr while order files are read: bytes, rows and rate.

Shown only on a terminal and only once reading has taken more than a moment,
so small exports, pipes and CI logs stay clean. The library reports progress
through a plain callable `(bytes, rows)`; this class is that callable for the
command line.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

DELAY_SECONDS = 0.5


class ReadProgress:
    """Callable `(bytes, rows)` that draws a transient Rich bar on a terminal console."""

    def __init__(
        self, console: Console, total_bytes: int | None, *, delay: float = DELAY_SECONDS
    ) -> None:
        self.console = console
        self.total = total_bytes
        self.delay = delay
        self.bytes = 0
        self.rows = 0
        self._started = time.monotonic()
        self._bar: Progress | None = None
        self._task = None

    def __call__(self, consumed: int, rows: int) -> None:
        self.bytes += consumed
        self.rows += rows
        if not self.console.is_terminal:
            return
        elapsed = time.monotonic() - self._started
        if self._bar is None and elapsed >= self.delay:
            self._start()
        if self._bar is not None:
            rate = self.rows / elapsed if elapsed > 0 else 0.0
            done = self.total is not None and self.bytes >= self.total
            self._bar.update(
                self._task,
                completed=self.bytes,
                rows=f"{self.rows:,} rows, {rate:,.0f} rows/s",
                description="Read; computing" if done else "Reading orders",
            )

    def _start(self) -> None:
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[rows]}"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task("Reading orders", total=self.total, rows="")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> ReadProgress:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
