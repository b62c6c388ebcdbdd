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

from winback_cli.facts_rows import hash_text, text_array, text_buffers


@dataclass(frozen=True)
class OrderTable:
    """One row per order, sorted by (customer code, day)."""

    code: np.ndarray  # customer code per order
    day: np.ndarray  # order day (int days)
    amount: np.ndarray  # order value
    of_line: np.ndarray  # order number of every purchase line (in sorted row order)


def _bits(count: int) -> int:
    return max(int(count) - 1, 0).bit_length()


def _repeated(key: np.ndarray, bits: int) -> np.ndarray:
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


def line_keys(order_id: pd.Series, day: np.ndarray, buy: np.ndarray) -> LineKeys:
    """Keys of the order ids of lines in file order (`day`, `buy` per line, same order)."""
    text = text_array(order_id)
    offsets, _ = text_buffers(text)
    empty = offsets[1:] == offsets[:-1]
    if len(text) > 1 and pc.all(pc.less_equal(text[:-1], text[1:])).as_py():
        # Ids in text order (order numbers in an export): the lines of one id sit
        # together, so a running number of changes is an exact key.
        new = np.ones(len(text), dtype=bool)
        new[1:] = ~pc.equal(text[:-1], text[1:]).to_numpy(zero_copy_only=False)
        key = np.cumsum(new | empty)
        buying = np.flatnonzero(buy)
        spans = (key[buying][1:] == key[buying][:-1]) & (day[buying][1:] != day[buying][:-1])
        return LineKeys(key, empty, text, exact=True, one_day=not spans.any())
    return LineKeys(hash_text(text), empty, text, exact=False, one_day=False)


def _same_as_previous(code, day, key, empty, keys: LineKeys, rows) -> np.ndarray:
    """Lines that belong to the order of the line before them (same customer, day, id)."""
    same = np.zeros(len(code), dtype=bool)
    if len(code) < 2:
        return same
    candidate = (code[1:] == code[:-1]) & (day[1:] == day[:-1]) & (key[1:] == key[:-1])
    candidate &= ~empty[1:]
    at = np.flatnonzero(candidate) + 1
    if keys.exact:
        same[at] = True
    elif len(at):  # equal hashes: confirm on the texts
        text = keys.text
        equal = pc.equal(text.take(pa.array(rows[at])), text.take(pa.array(rows[at - 1])))
        same[at[equal.to_numpy(zero_copy_only=False)]] = True
    return same


def _merge_repeats(block_code, block_key, block_empty, text, block_rows) -> np.ndarray:
    """For every block of lines, the first block of the same (customer, order id)."""
    first = np.arange(len(block_code))
    candidates = np.flatnonzero(~block_empty)
    key = block_key[candidates].astype(np.uint64) ^ (
        block_code[candidates].astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    )
    repeats = candidates[_repeated((key >> np.uint64(1)).astype(np.int64), 63)]
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
    key, empty = keys.key[rows], keys.empty[rows]
    leader = ~_same_as_previous(code, day, key, empty, keys, rows)
    block = np.cumsum(leader) - 1
    starts = np.flatnonzero(leader)
    if keys.one_day:  # blocks are whole orders
        first = np.arange(len(starts))
    else:
        first = _merge_repeats(code[starts], key[starts], empty[starts], keys.text, rows[starts])
    keep = first == np.arange(len(starts))
    number = np.cumsum(keep) - 1
    of_line = number[first][block]
    orders = starts[keep]
    if len(orders) == n:  # every line is an order: nothing to add up
        return OrderTable(code, day, amount, of_line)
    total = np.bincount(of_line, weights=amount, minlength=len(orders))
    return OrderTable(code[orders], day[orders], total, of_line)


def category_codes(category: pd.Series, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Category rank (by name; -1 for none) of the rows `rows`, and the names."""
    encoded = text_array(category).dictionary_encode()
    names = pc.utf8_trim_whitespace(encoded.dictionary).to_numpy(zero_copy_only=False)
    names = names.astype(object)
    distinct, rank = np.unique(names, return_inverse=True)
    rank = np.where(distinct[rank] == "", -1, rank)
    index = encoded.indices.to_numpy(zero_copy_only=False)
    dtype = np.int16 if len(distinct) < 2**15 else np.int64
    # Map in file order, then gather the narrow result: random access is the cost here.
    return rank.astype(dtype)[index][rows], distinct


def category_table(
    code: np.ndarray, day: np.ndarray, category: np.ndarray, order: np.ndarray, names: np.ndarray
) -> pd.DataFrame:
    """Orders and last purchase day per customer and category, grouped by customer.

    Works on purchase lines sorted by (customer, day); a customer's categories
    come in name order, and the lines of one order count once per category.
    """
    has = category >= 0
    position = np.flatnonzero(has)
    n_cat = max(len(names), 1)
    group = code[position] * n_cat + category[position]
    group_bits, position_bits = _bits(int(group.max()) + 1 if len(group) else 1), _bits(len(code))
    if group_bits + position_bits > 63:
        position = position[np.lexsort((position, group))]
    else:  # sort (group, position) as one integer
        packed = np.sort((group << position_bits) | position)
        position = packed & ((1 << position_bits) - 1)
    group = code[position] * n_cat + category[position]
    line_order = order[position]
    new_group = np.r_[True, group[1:] != group[:-1]] if len(group) else np.zeros(0, bool)
    starts = np.flatnonzero(new_group)
    ends = np.r_[starts[1:], len(group)] - 1
    # Positions follow days within a customer, so the group's last line is its latest.
    last = day[position[ends]] if len(starts) else np.zeros(0, np.int64)
    seen = new_group.copy()
    seen[1:] |= line_order[1:] != line_order[:-1]
    if len(group) and not (new_group[1:] | (line_order[1:] >= line_order[:-1])).all():
        # An order spread over days interleaves with others: count distinct pairs.
        pairs = np.unique(np.stack([group, line_order]), axis=1)
        counts = np.bincount(np.searchsorted(group[starts], pairs[0]), minlength=len(starts))
    else:
        counts = np.add.reduceat(seen.astype(np.int64), starts) if len(starts) else starts
    groups = group[starts]
    return pd.DataFrame(
        {
            "code": groups // n_cat,
            "category": np.asarray(names, dtype=object)[groups % n_cat],
            "orders": counts.astype(np.int64),
            "last_day": last.astype(np.int64),
        }
    )
