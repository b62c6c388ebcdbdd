"""The order files of a scan, reduced to per-customer facts a group of customers at a time.

`order_facts` reads the exports slice by slice (`load.iter_orders`), keeps
the parsed rows in a `PartitionStore` (in memory, or grouped by customer on
disk past a few million rows), then removes exported-twice rows and computes
the facts of one group at a time and merges them. Memory thus depends on the
slice size and the number of customers, not on the number of orders; the
result is the same as reducing all rows at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from winback_cli import parallel
from winback_cli.duplicates import drop_duplicates, duplicates_note
from winback_cli.errors import InputError
from winback_cli.facts import FactNeeds, Facts, compute_facts, day_of, default_as_of
from winback_cli.facts_merge import merge_facts
from winback_cli.load import (
    LoadLog,
    Orders,
    combine,
    input_bytes,
    iter_orders,
)
from winback_cli.memory import release_free_memory
from winback_cli.parallel import ordered_map
from winback_cli.partitions import PartitionStore
from winback_cli.rejects import RejectLog

if TYPE_CHECKING:
    from winback_cli.scan import ScanOptions


class NoUsableRowsError(InputError):
    """No order row could be used; carries the rejects so they can still be written."""

    def __init__(self, message: str, rejects: pd.DataFrame) -> None:
        super().__init__(message)
        self.rejects = rejects


def order_facts(options: ScanOptions) -> tuple[Facts, pd.Index, Orders]:
    """Read the order files slice by slice and reduce them to facts, a customer group at a time.

    The rows themselves are kept (in `Orders.frame`) only with `keep_rows`.
    """
    log = LoadLog()
    needs = FactNeeds.from_rules(options.rules)
    spill_rows = None if not options.keep_rows else 2**62
    with PartitionStore(spill_rows=spill_rows, at_once=parallel.THREADS) as store:
        span = _read_orders(options, log, store)
        release_free_memory()  # the slices read; the groups are reduced from a lower start
        if not span.rows:
            _no_usable_rows(log)
        as_of = pd.Timestamp(options.as_of) if options.as_of else span.default_as_of()
        if span.later:
            log.warnings.append(
                f"{span.later} order row(s) dated on or after the as-of date {as_of.date()} "
                "were not considered"
            )

        def reduce(read_group: Callable[[], list[pd.DataFrame]]) -> _Group:
            rejects = RejectLog()
            frame, dropped = drop_duplicates(combine(read_group()), rejects)
            facts = compute_facts(frame, as_of, needs, first_day=span.first_day)
            return _Group(facts, rejects, dropped, frame if options.keep_rows else None)

        parts, kept, duplicates = [], [], 0
        # Groups hold whole customers, so two can be reduced at once, on two threads; each
        # thread makes its own group's frame, and no job keeps the pieces it came from.
        for group in ordered_map(reduce, store.groups()):
            log.rejects.extend(group.rejects)
            duplicates += group.duplicates
            if len(group.facts[1]):
                parts.append(group.facts)
            if group.rows is not None:
                kept.append(group.rows)
    if duplicates:
        log.warnings.append(duplicates_note(duplicates))
    if not parts:
        raise InputError(f"no orders before the as-of date {as_of.date()}; choose a later --as-of")
    release_free_memory()  # the groups' rows are gone; the merge holds parts and whole at once
    facts, ids = parts[0] if len(parts) == 1 else merge_facts(parts)
    orders = Orders(
        frame=combine(kept) if options.keep_rows else combine([]),
        rejects=log.rejects.frame(),
        rows_read=log.rows_read,
        files=tuple(log.files),
        profiles=tuple(log.profiles),
        warnings=tuple(log.warnings),
        rows_used=span.rows - duplicates,
    )
    return facts, ids, orders


@dataclass(frozen=True)
class _Group:
    """One customer group reduced: its facts and ids, duplicates found, and its rows if kept."""

    facts: tuple[Facts, pd.Index]
    rejects: RejectLog
    duplicates: int
    rows: pd.DataFrame | None


@dataclass
class _Span:
    """Rows seen while reading, and their first and last day."""

    as_of: pd.Timestamp | None
    rows: int = 0
    later: int = 0  # rows on or after a given as-of date
    first_day: int | None = None
    last: pd.Timestamp | None = None

    def add(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        dates = frame["order_date"]
        self.rows += len(frame)
        first, last = day_of(dates.min()), dates.max()
        self.first_day = first if self.first_day is None else min(self.first_day, first)
        self.last = last if self.last is None else max(self.last, last)
        if self.as_of is not None:
            self.later += int((dates >= self.as_of).sum())

    def default_as_of(self) -> pd.Timestamp:
        return default_as_of(pd.Series([self.last]))


def _read_orders(options: ScanOptions, log: LoadLog, store: PartitionStore) -> _Span:
    span = _Span(pd.Timestamp(options.as_of) if options.as_of else None)
    total = input_bytes(options.orders)
    done = [0, 0]

    def progress(consumed: int, rows: int) -> None:
        done[0] += consumed
        done[1] += rows
        if total and done[0]:
            store.expected_rows = int(done[1] * total / done[0])
        if options.progress is not None:
            options.progress(consumed, rows)

    for frame in iter_orders(
        options.orders, options.rules, log, today=options.today, progress=progress
    ):
        span.add(frame)
        store.add(frame)
        del frame  # the store's now: kept here while the next is read, it outlives its spill
    return span


def _no_usable_rows(log: LoadLog) -> None:
    rejects = log.rejects.frame()
    first = "; ".join(f"row {r.row}: {r.reason}" for r in rejects.head(3).itertuples(index=False))
    raise NoUsableRowsError(
        f"{', '.join(log.files)}: no usable order rows "
        f"({log.rows_read} read, {len(rejects)} rejected)"
        + (f": {first}" if first else "")
        + "; list them all with --rejects FILE",
        rejects,
    )
