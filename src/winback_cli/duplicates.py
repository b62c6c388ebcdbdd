"""Order rows exported twice: found, reported as rejects, and counted once.

A row is a duplicate when its order id (not empty) and every value equal
those of an earlier row; the earlier one is kept and the reject names it.
Exact duplicates share their date and numbers, so candidates are found with
one integer key first and only those few are compared column by column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from winback_cli.facts_orders import repeated_positions
from winback_cli.facts_text import mix_into
from winback_cli.tables import FILE, ROW

if TYPE_CHECKING:
    from winback_cli.rejects import RejectLog


def duplicates_note(count: int) -> str:
    return (
        f"{count} duplicated order row(s) (same order id and values) were counted once; "
        "see --rejects for where"
    )


def _numbers_repeat(orders: pd.DataFrame) -> np.ndarray:
    """Rows whose date and numeric columns all equal those of another row (a superset
    of the exact duplicates: a hash collision only adds a candidate)."""
    key = np.zeros(len(orders), dtype=np.uint64)
    for column in ("order_date", "amount", "cost", "quantity"):
        if column in orders.columns:
            values = orders[column].to_numpy()
            if values.dtype.kind == "M":
                bits = values.astype("datetime64[s]", copy=False).view(np.uint64)
            else:  # equal values, equal bits: -0.0 becomes 0.0, every NaN the same NaN
                bits = values + 0.0
                missing = np.isnan(bits)
                if missing.any():
                    bits[missing] = np.nan
                bits = bits.view(np.uint64)
            mix_into(key, bits)
    # Sorting packed integers finds repeats several times faster than a hash table.
    repeats = np.zeros(len(key), dtype=bool)
    repeats[repeated_positions((key >> np.uint64(1)).astype(np.int64), 63)] = True
    return repeats


def drop_duplicates(orders: pd.DataFrame, rejects: RejectLog) -> tuple[pd.DataFrame, int]:
    """Count an order row exported twice (same order id and values) once."""
    if "order_id" not in orders.columns or orders.empty:
        return orders, 0
    # Only rows whose date and numbers repeat can be duplicates: find those with
    # one integer key (fast), then compare order ids and text on the few left.
    maybe = _numbers_repeat(orders)
    if not maybe.any():
        return orders, 0
    candidates = orders.loc[maybe]
    repeated = candidates["order_id"].duplicated(keep=False) & (candidates["order_id"] != "")
    if not repeated.any():
        return orders, 0
    candidates = candidates.loc[repeated]
    key = [c for c in orders.columns if c not in (ROW, FILE)]
    duplicated = candidates.duplicated(subset=key, keep="first")
    if not duplicated.any():
        return orders, 0
    groups = candidates.groupby(key, sort=False, dropna=False)
    reasons = (
        "duplicate of "
        + groups[FILE].transform("first").astype("str")
        + " row "
        + groups[ROW].transform("first").astype("str")
    )
    rejects.add(candidates, duplicated, "order_id", candidates["order_id"], reasons)
    drop = pd.Series(False, index=orders.index)
    drop[candidates.index[duplicated.to_numpy()]] = True
    return orders.loc[~drop], int(duplicated.sum())
