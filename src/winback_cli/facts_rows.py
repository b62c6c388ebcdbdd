"""Order rows read once and sorted by customer and day, so every fact is a segment reduction.

`read_rows` keeps the rows dated before the as-of date, numbers customers in
the order of their ids and sorts the rows by (customer, day, row) with one
`np.sort` of packed 64-bit keys: sorting plain integers is several times
faster than an argsort or a hash table on millions of rows. Ids that
`facts_text.rank_text` can rank are sorted without a dictionary; others are
dictionary-encoded by Arrow. The values the facts need (amount, margin,
category) are gathered into sorted order in one pass, since random access,
not arithmetic, is what costs here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from winback_cli.facts_orders import LineKeys, category_numbers, line_keys
from winback_cli.facts_text import rank_text, text_array

MAX_KEY_BITS = 63


@dataclass(frozen=True)
class SortedRows:
    """Order rows before the as-of date, sorted by (customer code, day, original row)."""

    code: np.ndarray  # customer code 0..n-1, ascending
    day: np.ndarray  # int days since 1970-01-01
    row: np.ndarray  # position of the row among the rows kept
    ids: pa.Array  # the n customer ids, in code order (sorted)
    amount: np.ndarray
    margin: np.ndarray | None  # amount - cost, 0 where the cost is unknown; None: no cost column
    category: np.ndarray | None  # category number (-1: none); None: no category column
    names: np.ndarray  # category names, sorted
    keys: LineKeys | None  # order ids of the rows kept, in their order; None: no order_id


def _bits(count: int) -> int:
    """Bits to hold the numbers 0 .. count - 1."""
    return max(int(count) - 1, 0).bit_length()


def _sorted_by_key(key: np.ndarray, key_bits: int, day: np.ndarray, payload: tuple):
    """Sort rows by (key, day, row), carrying a small payload along; None if it does not fit.

    `payload` is (non-negative values, bits) or (None, 0); the key, the day, the
    row and the payload are packed into one int64, the sort moves them together.
    """
    values, payload_bits = payload
    n = len(key)
    base = int(day.min()) if n else 0
    day_bits, row_bits = _bits(int(day.max()) - base + 1 if n else 1), _bits(n)
    if key_bits + day_bits + row_bits + payload_bits > MAX_KEY_BITS:
        return None
    packed = key << (day_bits + row_bits + payload_bits)
    packed |= (day - base) << (row_bits + payload_bits)
    packed |= np.arange(n, dtype=np.int64) << payload_bits
    if values is not None:
        packed |= values
    packed.sort()
    sorted_values = packed & ((1 << payload_bits) - 1) if values is not None else None
    packed >>= payload_bits
    row = packed & ((1 << row_bits) - 1)
    packed >>= row_bits
    sorted_day = (packed & ((1 << day_bits) - 1)) + base
    return packed >> day_bits, sorted_day, row, sorted_values


def _sort(ids: pa.LargeStringArray, day: np.ndarray, payload: np.ndarray | None):
    """Customer codes (in id order), days, input rows and payload, sorted; the distinct ids."""
    n = len(ids)
    carried = (
        (payload, _bits(int(payload.max()) + 1 if n else 1)) if payload is not None else (None, 0)
    )
    span_bits = _bits(int(day.max()) - int(day.min()) + 1 if n else 1) + _bits(n) + carried[1]
    ranked, result = rank_text(ids, max(MAX_KEY_BITS - span_bits, 0)), None
    if ranked is not None:
        key, space = ranked
        result = _sorted_by_key(key, _bits(space), day, carried)
    if result is None:
        encoded = ids.dictionary_encode()
        order = pc.sort_indices(encoded.dictionary).to_numpy()
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        key = rank[encoded.indices.to_numpy(zero_copy_only=False)]
        result = _sorted_by_key(key, _bits(len(order)), day, carried)
    if result is None:  # keys too wide to pack: slower, same order
        row = np.lexsort((np.arange(n), day, key))
        result = key[row], day[row], row, None
    sorted_key, sorted_day, row, sorted_payload = result
    if payload is not None and sorted_payload is None:
        sorted_payload = payload[row]
    new = np.ones(n, dtype=bool)
    new[1:] = sorted_key[1:] != sorted_key[:-1]
    code = np.cumsum(new) - 1
    return code, sorted_day, row, sorted_payload, ids.take(pa.array(row[new]))


def read_rows(frame: pd.DataFrame, as_of: pd.Timestamp, as_of_day: int) -> SortedRows:
    """The order rows dated before `as_of` (day `as_of_day`), sorted, with what facts read."""
    dates = frame["order_date"]
    day = np.asarray(dates, dtype="datetime64[D]").astype(np.int64)
    midnight = as_of == as_of.normalize()
    before = day < as_of_day if midnight else (dates < as_of).to_numpy()
    every = bool(before.all())

    def column(name: str) -> pd.Series:
        return frame[name] if every else frame[name][before]

    if not every:
        day = day[before]
    keys = line_keys(column("order_id"), day) if "order_id" in frame.columns else None
    names, number = np.array([], dtype=object), None
    if "category" in frame.columns:
        number, names = category_numbers(column("category"))
        number = number + 1  # 0 for none: the sort carries non-negative numbers
    code, day, row, number, ids = _sort(text_array(column("customer_id")), day, number)
    amount = column("amount").to_numpy(dtype=float)
    margin = None
    if "cost" in frame.columns:
        # Amount and margin as one complex number: one random access per row, not two.
        both = np.empty(len(amount), dtype=np.complex128)
        both.real = amount
        both.imag = amount - column("cost").to_numpy(dtype=float)
        both = both[row]
        amount, margin = both.real.copy(), both.imag.copy()
        margin[np.isnan(margin)] = 0.0  # unknown cost: no margin counted
    else:
        amount = amount[row]
    category = None if number is None else number - 1
    return SortedRows(code, day, row, ids, amount, margin, category, names, keys)
