"""Load order and customer exports into typed, canonical DataFrames.

This is the only module that knows about files, encodings, delimiters,
decimal commas and header names. Downstream code sees `Orders` and
`Customers`: canonical column names, parsed dates and numbers, identifiers
as stripped strings. A row that cannot be used is never dropped silently:
it goes to the rejects frame with its file, spreadsheet row, column, value
and reason, and `rows_read == rows_used + rows_rejected` always holds.
"""

from __future__ import annotations

import datetime as dt
import glob
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from winback_cli.columns import (
    ORDER_OPTIONAL,
    ORDER_REQUIRED,
    ColumnMap,
    map_columns,
)
from winback_cli.duplicates import drop_duplicates, duplicates_note
from winback_cli.errors import AmbiguousDateError, UsageError
from winback_cli.order_rows import Decided, parse_slice, refuse_other_currencies
from winback_cli.parallel import OrderedPool
from winback_cli.rejects import RejectLog
from winback_cli.rules import Rules
from winback_cli.slices import Progress, iter_table, prefetch
from winback_cli.tables import FILE, ROW, RawTable, require_header


@dataclass(frozen=True)
class Orders:
    """Usable order rows (canonical columns) and what was left out."""

    frame: pd.DataFrame
    rejects: pd.DataFrame
    rows_read: int
    files: tuple[str, ...]
    profiles: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())
    rows_used: int | None = None  # when `frame` does not hold the rows (a streamed scan)

    @property
    def used(self) -> int:
        return len(self.frame) if self.rows_used is None else self.rows_used

    @property
    def has_cost(self) -> bool:
        return "cost" in self.frame.columns

    @property
    def has_category(self) -> bool:
        return "category" in self.frame.columns


def expand_paths(paths: Sequence[str]) -> list[str]:
    """Expand globs (for shells that do not) and keep `-` for stdin."""
    result: list[str] = []
    for path in paths:
        if path != "-" and glob.has_magic(path):
            matches = sorted(glob.glob(path))
            if not matches:
                raise UsageError(f"{path}: no file matches this pattern")
            result.extend(matches)
        elif path != "-" and Path(path).is_dir():
            # A folder of monthly exports: its Parquet and CSV files, in name order.
            files = sorted(
                str(f)
                for f in Path(path).iterdir()
                if f.suffix.lower() in (".parquet", ".csv", ".txt", ".tsv") and f.is_file()
            )
            if not files:
                raise UsageError(f"{path}: the folder holds no .parquet or .csv files")
            result.extend(files)
        else:
            result.append(path)
    if result.count("-") > 1:
        raise UsageError("'-' (standard input) can be given only once")
    return result


def input_bytes(paths: Sequence[str]) -> int | None:
    """Total size of the files to read, or None when it cannot be known (stdin)."""
    files = expand_paths(paths)
    if "-" in files:
        return None
    try:
        return sum(Path(f).stat().st_size for f in files)
    except OSError:
        return None  # reading them will say what is wrong


@dataclass
class LoadLog:
    """What reading the order files found besides usable rows; filled while reading."""

    rejects: RejectLog = field(default_factory=RejectLog)
    warnings: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    rows_read: int = 0


def iter_orders(
    paths: Sequence[str],
    rules: Rules,
    log: LoadLog,
    *,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> Iterator[pd.DataFrame]:
    """Parsed order rows, a slice of a file at a time; rejects and notes go to `log`.

    Exact duplicate rows are not removed here: they can lie in different slices.
    """
    today = today or dt.date.today()
    for path in expand_paths(paths):
        yield from _file_orders(path, rules, log, today, progress)


def _file_orders(
    path: str, rules: Rules, log: LoadLog, today: dt.date, progress: Progress | None
) -> Iterator[pd.DataFrame]:
    """One file's checked slices in file order. The first slice decides how the file
    reads; after it, slices are checked on two threads while the next is read."""
    decided, held, jobs = Decided(), None, []

    def check(frame: pd.DataFrame, raw: RawTable) -> None:
        before = decided.snapshot()
        jobs.append((frame, raw, before))
        pool.submit(parse_slice, frame, raw, rules, today, before)

    def take(future: Future) -> pd.DataFrame:
        frame, raw, before = jobs.pop(0)
        return _checked(future, frame, raw, before, rules, today, decided, log)

    def finish(futures: Iterator[Future]) -> Iterator[pd.DataFrame]:
        # `map` keeps no reference to a slice it has handed on. A loop variable here would
        # keep it until the caller asks for the next one, after it has been spilled.
        yield from map(take, futures)

    with OrderedPool() as pool:
        for raw in prefetch(iter_table(path, progress=progress)):
            if decided.mapping is None:
                decided.mapping = _map_orders(raw, rules)
                log.files.append(raw.source)
                log.profiles.append(decided.mapping.profile)
            log.rejects.add_frame(raw.rejects)
            log.warnings.extend(raw.warnings)
            log.rows_read += raw.rows_read
            frame = _canonical(raw, decided.mapping)
            if decided.mapping.profile == "shopify":
                frame, held = _hold_last_order(frame, held)
            if len(frame):
                check(frame, raw)
            # Until a slice has decided the decimal separator, nothing runs ahead.
            yield from finish(pool.ready() if decided.decimal else pool.rest())
        if held is not None and len(held):
            check(held, raw)
        yield from finish(pool.rest())
    if decided.mapping is not None:
        refuse_other_currencies(log.files[-1], decided.currencies, rules)


def _checked(
    future: Future,
    frame: pd.DataFrame,
    raw: RawTable,
    before: Decided,
    rules: Rules,
    today: dt.date,
    decided: Decided,
    log: LoadLog,
) -> pd.DataFrame:
    """A slice's checked rows, taken in file order; redone if it ran on an outdated state."""
    try:
        checked = future.result()
    except AmbiguousDateError:
        if before.day_first == decided.day_first:
            raise
        checked = None  # an earlier slice has since told the order of slashed dates
    if checked is None or not decided.take(checked.before, checked.after):
        checked = parse_slice(frame, raw, rules, today, decided.snapshot())
        decided.take(checked.before, checked.after)
    log.rejects.extend(checked.rejects)
    return checked.frame


def _map_orders(raw: RawTable, rules: Rules) -> ColumnMap:
    require_header(raw)
    return map_columns(
        raw.headers,
        source=raw.source,
        wanted=ORDER_REQUIRED + ORDER_OPTIONAL,
        required=ORDER_REQUIRED,
        mapping=rules.columns,
        profile=rules.profile,
    )


def _canonical(raw: RawTable, mapping: ColumnMap) -> pd.DataFrame:
    """The mapped columns under canonical names, plus row and file."""
    frame = raw.frame.reindex(columns=[*mapping.found.values(), ROW], fill_value="")
    frame = frame.rename(columns=mapping.rename())
    frame[FILE] = pd.Categorical.from_codes(np.zeros(len(frame), np.int8), [raw.source])
    return frame


def _hold_last_order(
    frame: pd.DataFrame, held: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Shopify lines of one order may straddle two slices: keep the last order for the next."""
    if held is not None and len(held):
        frame = pd.concat([held, frame], ignore_index=True)
    if "order_id" not in frame.columns or frame.empty:
        return frame, None
    ids = frame["order_id"].to_numpy()
    tail = len(ids)
    while tail > 0 and ids[tail - 1] == ids[-1]:
        tail -= 1
    return frame.iloc[:tail], frame.iloc[tail:].reset_index(drop=True)


def load_orders(
    paths: Sequence[str],
    rules: Rules,
    *,
    today: dt.date | None = None,
    progress: Progress | None = None,
) -> Orders:
    """Read, map, parse and check order files into one frame; see the module docstring."""
    log = LoadLog()
    frames = list(iter_orders(paths, rules, log, today=today, progress=progress))
    orders = combine(frames)
    orders, duplicates = drop_duplicates(orders, log.rejects)
    if duplicates:
        log.warnings.append(duplicates_note(duplicates))
    return Orders(
        frame=orders.reset_index(drop=True),
        rejects=log.rejects.frame(),
        rows_read=log.rows_read,
        files=tuple(log.files),
        profiles=tuple(log.profiles),
        warnings=tuple(log.warnings),
    )


def combine(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Parsed slices (of one or several files) as one frame with every column."""
    if not frames:
        return pd.DataFrame(columns=[*ORDER_REQUIRED, ROW, FILE])
    columns = sorted({c for f in frames for c in f.columns}, key=_column_order)
    if len(frames) == 1:
        orders = frames[0].reset_index(drop=True)
    else:
        orders = pd.concat([f.reindex(columns=columns) for f in frames], ignore_index=True)
    for column in ("order_id", "category", "status"):
        if column in orders.columns:
            orders[column] = orders[column].fillna("").astype("str")
    return orders


def _column_order(name: str) -> int:
    canonical = (*ORDER_REQUIRED, *ORDER_OPTIONAL, ROW, FILE)
    return canonical.index(name) if name in canonical else len(canonical)
