"""Evidence text of the triggers: dates, money and numbers, joined only where a trigger fired.

A trigger says what it saw in one sentence per customer it fired for
("last order 2025-03-02, 266 days before 2025-11-24"). `join_fired` builds
those sentences a column at a time in Arrow for the fired rows only and
spreads them over all customers, '' elsewhere; `Money` formats amounts only
for the fired rows too. `fired_texts` makes the scan's `triggers` and
`evidence` columns of all triggers that fired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from winback_cli.arrowtext import concat, spread, str_series, text
from winback_cli.textbytes import civil, constant, contiguous, fixed_digits, join_columns


def iso_dates(days: np.ndarray) -> np.ndarray:
    """ISO dates ('2025-03-02') of day numbers, as `np.datetime_as_string` spells them.

    Years 1-9999 are worked out with integer arithmetic (`textbytes.civil`), much
    faster than numpy's formatting; anything else (NaT, far years) is left to numpy.
    """
    days = np.asarray(days).astype("datetime64[D]").astype(np.int64)
    usable = (days >= -719_162) & (days <= 2_932_896)  # 0001-01-01 to 9999-12-31
    year, month, day = civil(np.where(usable, days, 0))
    dash = constant("-", len(days))
    parts = [fixed_digits(year, 4), dash, fixed_digits(month, 2), dash, fixed_digits(day, 2)]
    shown = join_columns(parts).astype(np.uint32).view("U10").ravel()
    if not usable.all():
        other = np.datetime_as_string(days[~usable].astype("datetime64[D]"), unit="D")
        shown = shown.astype(np.result_type(shown.dtype, other.dtype))
        shown[~usable] = other
    return shown


@dataclass(frozen=True)
class Money:
    """Amounts to format only where a trigger fired (formatting all would be slow)."""

    values: np.ndarray
    format: Callable[[float], str]

    def texts(self, fired: np.ndarray) -> pa.Array:
        """The fired rows' amounts as an Arrow text array, all at once when the format can."""
        values = self.values[fired]
        column = getattr(self.format, "column", None)  # money.MoneyFormat has one
        if column is not None:
            return column(values)
        return pa.array([self.format(v) for v in values], type=pa.large_string())


@dataclass(frozen=True)
class Dates:
    """Days (day numbers or datetime64) to spell as `iso_dates` only where a trigger fired."""

    days: np.ndarray

    def texts(self, fired: np.ndarray) -> pa.Array:
        return pa.array(iso_dates(np.asarray(self.days)[fired]), pa.large_string())


def join_fired(fired: np.ndarray, *parts: object) -> pa.LargeStringArray:
    """Text parts joined element-wise where `fired`, '' elsewhere, as one Arrow column.

    A part is text (the same on every row), a `Money` or `Dates`, an integer array (as
    `str(int)`) or any other array (as numpy's `astype(str)` spells it).
    """
    fired = np.asarray(fired, dtype=bool)
    count = int(np.count_nonzero(fired))
    pieces: list[object] = []
    for part in parts:
        if isinstance(part, Money | Dates):
            pieces.append(part.texts(fired))
        elif isinstance(part, np.ndarray) and part.dtype.kind in "iu":
            pieces.append(pa.array(part[fired]).cast(pa.large_string()))  # as str(int)
        elif isinstance(part, np.ndarray):
            pieces.append(pa.array(part[fired].astype(str), type=pa.large_string()))
        else:
            pieces.append(str(part))
    if all(isinstance(piece, str) for piece in pieces):
        pieces.insert(0, pa.repeat(text(""), count))
    return spread(concat(*pieces), fired, len(fired))


def join_runs(values: pa.Array, starts: np.ndarray) -> pa.LargeStringArray:
    """The strings of each run of rows (from each start to the next) joined end to end.

    No text is copied: consecutive strings already lie end to end in Arrow's buffer.

    >>> join_runs(pa.array(["a", "b", "c"]), np.array([0, 2])).to_pylist()
    ['ab', 'c']
    """
    values = contiguous(values)
    if values.null_count:
        values = pc.fill_null(values, text(""))
    offsets = np.frombuffer(values.buffers()[1], np.int64)[values.offset :][: len(values) + 1]
    bounds = np.append(offsets[starts], offsets[-1])
    return pa.LargeStringArray.from_buffers(
        len(starts), pa.py_buffer(bounds), values.buffers()[2] or pa.py_buffer(b"")
    )


def fired_texts(evaluation, rows: np.ndarray) -> tuple[pd.Series, pd.Series]:
    """`triggers` ('a; b') and `evidence` ('a: … | b: …') of the triggers that fired, in order.

    The texts are made for the customers at positions `rows` of the evaluation,
    in that order (the scan's ranking), so that no text has to be reordered
    afterwards. Only fired rows make text: each trigger's pieces ('a' or '; a',
    and 'a: …' or ' | a: …' after an earlier one) are put in output order,
    trigger order within a row, and each row's run of pieces is joined end to
    end. Evidence a trigger left where it did not fire is not shown.
    """
    rows = np.asarray(rows, dtype=np.int64)
    out_row = np.full(len(evaluation.status), -1, dtype=np.int64)
    out_row[rows] = np.arange(len(rows))
    shown = out_row >= 0
    names, evidence, owners = [], [], []
    earlier = np.zeros(len(out_row), dtype=bool)
    for trigger_id in evaluation.fired.columns:
        hit = evaluation.fired[trigger_id].to_numpy(dtype=bool) & shown
        said = contiguous(pa.array(evaluation.evidence[trigger_id], from_pandas=True))
        said = pc.fill_null(said, text("")).filter(pa.array(hit))
        later = earlier[hit].astype(np.int8)
        names.append(pa.array([trigger_id, f"; {trigger_id}"], pa.large_string()).take(later))
        label = pa.array([f"{trigger_id}: ", f" | {trigger_id}: "], pa.large_string())
        evidence.append(concat(label.take(later), said))
        owners.append(out_row[hit])
        earlier |= hit
    order, owner = _in_row_order(owners, len(rows))
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]]) if len(owner) else owner
    index = pd.RangeIndex(len(rows))

    def column(pieces: list[pa.Array]) -> pd.Series:
        runs = pa.concat_arrays(pieces).take(order) if pieces else pa.array([], pa.large_string())
        return str_series(spread(join_runs(runs, starts), owner[starts], len(rows)), index)

    return column(names), column(evidence)


def _in_row_order(owners: list[np.ndarray], size: int) -> tuple[np.ndarray, np.ndarray]:
    """The order that puts the pieces of all triggers by row, in trigger order within one
    (a stable argsort of the rows, by counting), and the rows in that order.

    Each trigger has at most one piece per row.
    """
    owner = np.concatenate([np.zeros(0, dtype=np.int64), *owners])
    counts = np.bincount(owner, minlength=size)
    next_free = np.zeros(size, dtype=np.int64)
    np.cumsum(counts[:-1], out=next_free[1:])
    target = np.empty(len(owner), dtype=np.int64)
    done = 0
    for rows in owners:
        target[done : done + len(rows)] = next_free[rows]
        next_free[rows] += 1
        done += len(rows)
    order = np.empty_like(target)
    order[target] = np.arange(len(target))
    return order, np.repeat(np.arange(size, dtype=np.int64), counts)
