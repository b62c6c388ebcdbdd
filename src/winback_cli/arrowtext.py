"""Text columns built in Arrow: texts of some rows spread over all rows, pandas columns from them.

The scan writes text (trigger evidence, reasons, plans) only for the rows that
need one, as whole Arrow columns; these helpers put such texts in place and
hand them to pandas without making a Python string per row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from winback_cli.textbytes import buffers, contiguous, replace_rows


def text(value: str) -> pa.Scalar:
    """A large_string scalar: Arrow will not mix string and large_string in one call."""
    return pa.scalar(value, pa.large_string())


def empty_texts(n: int) -> pa.LargeStringArray:
    """`n` empty strings, made from a zero offsets buffer (no kernel fills them one by one).

    >>> empty_texts(2).to_pylist()
    ['', '']
    """
    offsets = pa.py_buffer(np.zeros(n + 1, dtype=np.int64))
    return pa.LargeStringArray.from_buffers(n, offsets, pa.py_buffer(b""))


def concat(*parts: object) -> pa.LargeStringArray:
    """Join Arrow text arrays and plain strings element-wise (at least one array)."""
    pieces = [text(part) if isinstance(part, str) else contiguous(part) for part in parts]
    return pc.binary_join_element_wise(*pieces, text(""))


def spread(values: pa.Array, rows: np.ndarray, size: int) -> pa.LargeStringArray:
    """`values` at the positions `rows` (ascending, or a mask), '' elsewhere; `size` rows.

    The text bytes are not copied: only the offsets are laid out anew.

    >>> spread(pa.array(["a", "bc"]), np.array([1, 3]), 4).to_pylist()
    ['', 'a', '', 'bc']
    """
    values = contiguous(values)
    if values.null_count:
        values = pc.fill_null(values, text(""))
    offsets, data = buffers(values)
    lengths = np.zeros(size, dtype=np.int64)
    lengths[rows] = np.diff(offsets)
    full = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(lengths, out=full[1:])
    return pa.LargeStringArray.from_buffers(size, pa.py_buffer(full), pa.py_buffer(data))


def place(pieces: list[tuple[np.ndarray, object]], size: int) -> pa.LargeStringArray:
    """A column of `size` rows from (rows, texts) pieces, '' where no piece has a row.

    The pieces' rows (positions) do not overlap; their texts are one string
    for all of them, or one per row (Arrow, pandas or numpy; missing stays missing).

    >>> place([(np.array([2]), "x"), (np.array([0, 3]), ["a", "b"])], 4).to_pylist()
    ['a', '', 'x', 'b']
    """
    parts = [pa.array([""], pa.large_string())]
    position = np.zeros(size, dtype=np.int64)
    placed = 1
    for rows, values in pieces:
        if not len(rows):
            continue
        if isinstance(values, str):
            part, position[rows] = pa.array([values], pa.large_string()), placed
        else:
            part = contiguous(pa.array(values, pa.large_string(), from_pandas=True))
            position[rows] = placed + np.arange(len(rows))
        parts.append(part)
        placed += len(part)
    return pa.concat_arrays(parts).take(position)


def str_series(values: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """A pandas `str` column over `index`, sharing Arrow's buffers."""
    return pd.Series(values, index=index, dtype="str")


def percents(values: np.ndarray) -> pa.LargeStringArray:
    """`f"{value:.0%}"` of each value, for whole columns.

    Python multiplies by 100 in floating point and rounds the product half to
    even, as `np.rint` does; negative, huge and non-finite values, rare here,
    are formatted one by one.

    >>> percents(np.array([0.125, 0.135, 1.0])).to_pylist()
    ['12%', '14%', '100%']
    """
    values = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = values * 100
        plain = np.isfinite(scaled) & ~np.signbit(scaled) & (scaled < 2.0**52)
    whole = np.rint(np.where(plain, scaled, 0.0)).astype(np.int64)
    shown = concat(pa.array(whole).cast(pa.large_string()), "%")
    odd = np.flatnonzero(~plain)
    if not len(odd):
        return shown
    exact = pa.array([f"{value:.0%}" for value in values[odd].tolist()], pa.large_string())
    return replace_rows(shown, odd, exact)
