"""Line rows to orders, and orders per customer and category, over rows sorted by customer and day.

An order is the purchase lines of one customer that share an order id; an
id used by two customers is two orders, a line without an id is an order of
its own, and the order's day is its earliest line's. Lines of one order
normally sit next to each other once rows are sorted by (customer, day, row),
so neighbours are compared first (exactly, as text) and only order ids that
still repeat afterwards — one order spread over days or interleaved with
another — go through exact grouping. Repeats are found by sorting 64-bit
hashes, never by hashing millions of texts into a table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from winback_cli.facts_text import hash_text, text_array, text_buffers


@dataclass(frozen=True)
class OrderTable:
    """One row per order, sorted by (customer code, day)."""

    code: np.ndarray  # customer code per order
    day: np.ndarray  # order day (int days)
    amount: np.ndarray  # order value
    of_line: np.ndarray  # order number of every purchase line (in sorted row order)


def _bits(count: int) -> int:
    return max(int(count) - 1, 0).bit_length()


def repeated_positions(key: np.ndarray, bits: int) -> np.ndarray:
    """Positions whose `key` (non-negative, < 2**bits) occurs more than once."""
    n = len(key)
    if n < 2:
        return np.zeros(0, dtype=np.int64)
    row_bits = _bits(n)
    high = key >> max(bits + row_bits - 63, 0)  # keep what fits next to the position
    packed = np.sort((high << row_bits) | np.arange(n, dtype=np.int64))
    high = packed >> row_bits
    same = high[1:] == high[:-1]
    hit = np.zeros(n, dtype=bool)
    hit[1:] |= same
    hit[:-1] |= same
    return np.sort(packed[hit] & ((1 << row_bits) - 1))


@dataclass(frozen=True)
class LineKeys:
    """An integer per line (file order) such that lines of one order id share it."""

    key: np.ndarray
    empty: np.ndarray  # lines without an order id: each an order of its own
    text: pa.LargeStringArray  # the order ids
    exact: bool  # equal keys mean equal ids (else keys are hashes to confirm)
    one_day: bool  # every id's purchase lines share one day: no order spans days


def line_keys(order_id: pd.Series, day: np.ndarray) -> LineKeys:
    """Keys of the order ids of lines in file order (`day` per line, same order)."""
    text = text_array(order_id)
    offsets, _ = text_buffers(text)
    empty = offsets[1:] == offsets[:-1]
    if len(text) > 1 and _in_order(text, np.diff(offsets)):
        # Ids in order (order numbers in an export): the lines of one id sit
        # together, so a running number of changes is an exact key.
        same = pc.equal(text[:-1], text[1:]).to_numpy(zero_copy_only=False) & ~empty[1:]
        key = np.cumsum(np.r_[True, ~same])
        spans = same & (day[1:] != day[:-1])
        return LineKeys(key, empty, text, exact=True, one_day=not spans.any())
    return LineKeys(hash_text(text), empty, text, exact=False, one_day=False)


def _in_order(text: pa.LargeStringArray, length: np.ndarray) -> bool:
    """Are the texts in text order, or in order of length and then text (as the plain
    numbers 9, 10, 11 are)? Either way equal texts sit next to each other.

    >>> _in_order(pa.array(["9", "10", "10", "11"], pa.large_string()), np.array([1, 2, 2, 2]))
    True
    """
    ordered = pc.less_equal(text[:-1], text[1:]).to_numpy(zero_copy_only=False)
    if ordered.all():
        return True
    grows = np.diff(length)
    return bool((grows >= 0).all() and (ordered | (grows > 0)).all())


def _leaders(code: np.ndarray, day: np.ndarray, rows: np.ndarray, keys: LineKeys) -> np.ndarray:
    """Lines that start a block: not of the order of the line before (same customer, day, id)."""
    leader = np.ones(len(code), dtype=bool)
    at = np.flatnonzero((code[1:] == code[:-1]) & (day[1:] == day[:-1])) + 1
    line, previous = rows[at], rows[at - 1]
    same = keys.key[line] == keys.key[previous]
    if not keys.exact:  # equal hashes: confirm on the texts
        same &= ~keys.empty[line]
        check = np.flatnonzero(same)
        text = keys.text
        equal = pc.equal(text.take(pa.array(line[check])), text.take(pa.array(previous[check])))
        same[check] = equal.to_numpy(zero_copy_only=False)
    leader[at[same]] = False
    return leader


def _merge_repeats(block_code, block_key, block_empty, text, block_rows) -> np.ndarray:
    """For every block of lines, the first block of the same (customer, order id)."""
    first = np.arange(len(block_code))
    candidates = np.flatnonzero(~block_empty)
    key = block_key[candidates].astype(np.uint64) ^ (
        block_code[candidates].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    )
    repeats = candidates[repeated_positions((key >> np.uint64(1)).astype(np.int64), 63)]
    if not len(repeats):
        return first
    ids = text.take(pa.array(block_rows[repeats])).dictionary_encode()
    group, _ = pd.factorize(
        block_code[repeats] * len(ids.dictionary) + ids.indices.to_numpy(zero_copy_only=False)
    )
    lowest = np.full(int(group.max()) + 1, len(block_code))
    np.minimum.at(lowest, group, repeats)  # blocks are in day order: the lowest is earliest
    first[repeats] = lowest[group]
    return first


def group_orders(
    code: np.ndarray,
    day: np.ndarray,
    amount: np.ndarray,
    rows: np.ndarray,
    keys: LineKeys | None,
) -> OrderTable:
    """Orders from purchase lines sorted by (customer, day, row); `rows` index the `keys`."""
    n = len(code)
    if keys is None or not n:
        return OrderTable(code, day, amount, np.arange(n))
    leader = _leaders(code, day, rows, keys)
    if keys.one_day and leader.all():  # every line is an order: nothing to add up
        return OrderTable(code, day, amount, np.arange(n))
    block = np.cumsum(leader) - 1
    starts = np.flatnonzero(leader)
    first = None
    if not keys.one_day:  # an id may come back on a later day: find its first block
        block_rows = rows[starts]
        first = _merge_repeats(
            code[starts], keys.key[block_rows], keys.empty[block_rows], keys.text, block_rows
        )
    merged = first is not None and (first != np.arange(len(starts))).any()
    if merged:
        keep = first == np.arange(len(starts))
        of_line = (np.cumsum(keep) - 1)[first][block]
        starts = starts[keep]
    else:
        of_line = block
    total = np.bincount(of_line, weights=amount, minlength=len(starts))
    return OrderTable(code[starts], day[starts], total, of_line)


def category_numbers(category: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Category number of every row (in name order; -1 for none), and the names."""
    encoded = text_array(category).dictionary_encode()
    names = pc.utf8_trim_whitespace(encoded.dictionary).to_numpy(zero_copy_only=False)
    distinct, rank = np.unique(names.astype(object), return_inverse=True)
    if len(distinct) and distinct[0] == "":  # no category: sorts first
        distinct, rank = distinct[1:], rank - 1
    number = pa.array(rank, type=pa.int64()).take(encoded.indices)
    return number.to_numpy(zero_copy_only=False), distinct


def category_table(
    code: np.ndarray,
    day: np.ndarray,
    category: np.ndarray,
    orders: OrderTable,
    names: np.ndarray,
) -> pd.DataFrame:
    """Orders and last purchase day per customer and category, grouped by customer.

    Works on purchase lines sorted by customer; a customer's categories come
    in name order, and the lines of one order count once per category.
    """
    has = category >= 0
    order = orders.of_line
    if not has.all():
        code, day, category, order = code[has], day[has], category[has], order[has]
    n_cat = max(len(names), 1)
    group = code * n_cat + category
    bins = (int(code.max()) + 1) * n_cat if len(code) else 0
    distinct = None
    if bins > 4 * len(group) + 4096:  # too many to count in place: number the groups seen
        distinct = np.unique(group)
        group, bins = np.searchsorted(distinct, group), len(distinct)
    if len(orders.day) == len(orders.of_line):  # every line is an order of its own
        counts = np.bincount(group, minlength=bins)
    else:  # count each (order, category) once
        pairs = sorted_unique(order * n_cat + category)
        pair_group = orders.code[pairs // n_cat] * n_cat + pairs % n_cat
        if distinct is not None:
            pair_group = np.searchsorted(distinct, pair_group)
        counts = np.bincount(pair_group, minlength=bins)
    last = np.full(bins, np.iinfo(np.int64).min)
    np.maximum.at(last, group, day)
    found = np.flatnonzero(counts)
    groups = found if distinct is None else distinct[found]
    return pd.DataFrame(
        {
            "code": groups // n_cat,
            "category": pd.Categorical.from_codes(groups % n_cat, categories=names),
            "orders": counts[found].astype(np.int64),
            "last_day": last[found],
        }
    )


def sorted_unique(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct values; a plain sort beats a hash table here.

    >>> sorted_unique(np.array([3, 1, 3, 2]))
    array([1, 2, 3])
    """
    keys = np.sort(keys)
    return keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys
