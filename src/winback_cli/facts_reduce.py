"""Per-customer reductions of sorted order rows: the customer table, period sums, purchase days.

Input arrays are sorted by (customer code, day), as `facts_rows.read_rows`
and `facts_orders.group_orders` leave them, so firsts, lasts and gaps are
reads at segment boundaries. Sums use `np.bincount` in that same order, so a
customer's figures do not depend on which other customers were computed
with it (what lets `merge_facts` join partitions exactly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from winback_cli.facts_orders import OrderTable


@dataclass(frozen=True)
class PeriodSums:
    """Per customer, two periods: index 0 the recent one, 1 the one before it."""

    orders: np.ndarray  # (2, customers) order counts
    value: np.ndarray  # (2, customers) order values
    returned: np.ndarray | None = None  # (2, customers) value of returns, positive


def total_by(code: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Sum of `weights` per customer code, always float (bincount of nothing gives ints)."""
    return np.bincount(code, weights=weights, minlength=n).astype(np.float64, copy=False)


def _by_period(code: np.ndarray, period: np.ndarray, weights, n: int) -> np.ndarray:
    """(2, n) counts, or sums of `weights`, of rows in period 0 and 1 (2 is neither)."""
    bins = code * 3 + period
    if weights is None:
        totals = np.bincount(bins, minlength=3 * n)
    else:
        totals = total_by(bins, weights, 3 * n)
    return np.ascontiguousarray(totals.reshape(n, 3)[:, :2].T)


def window_sums(orders: OrderTable, n: int, edges: tuple[int, int, int]) -> PeriodSums:
    """Orders and their value in [middle, end) and in [start, middle), days as ints."""
    start, middle, end = edges
    day = orders.day
    period = (day < middle).astype(np.int64) + (day < start)
    period[day >= end] = 2
    return PeriodSums(
        _by_period(orders.code, period, None, n),
        _by_period(orders.code, period, orders.amount, n),
    )


def reason_sums(
    orders: OrderTable, returns: tuple[np.ndarray, np.ndarray, np.ndarray], last, width: float
) -> PeriodSums:
    """Bought, orders and returned in each customer's last `width` days of ordering and before.

    The periods end at the customer's last order (`last`, one entry per customer).
    """
    n = len(last)

    # A day is before the recent period when day < last + 1 - width, that is when the
    # whole number of days before the last order is at least floor(width).
    edges = math.floor(width), math.floor(2 * width)

    def period(code: np.ndarray, day: np.ndarray) -> np.ndarray:
        since = last[code] - day
        return (since >= edges[0]).astype(np.int64) + (since >= edges[1])

    ordered = period(orders.code, orders.day)
    code, day, amount = returns
    return PeriodSums(
        _by_period(orders.code, ordered, None, n),
        _by_period(orders.code, ordered, orders.amount, n),
        _by_period(code, period(code, day), -amount, n),  # positive, and +0.0 where none
    )


def order_days(orders: OrderTable, n: int) -> tuple[tuple, np.ndarray, np.ndarray]:
    """Each customer's distinct order days, their number, and the median gap between them.

    The days come as (first order of each, customer code, day), in order.
    """
    code, day = orders.code, orders.day
    new = np.ones(len(code), dtype=bool)
    new[1:] = (code[1:] != code[:-1]) | (day[1:] != day[:-1])
    starts = np.flatnonzero(new)
    code, day = code[new], day[new]
    days = (starts, code, day)
    n_days = np.bincount(code, minlength=n)
    same = code[1:] == code[:-1]
    gap, gap_code = np.diff(day)[same], code[1:][same]
    median = np.full(n, np.nan)
    if len(gap):
        gap_code, gap = _sort_pairs(gap_code, gap)
        count = np.bincount(gap_code, minlength=n)
        has = np.flatnonzero(count)
        first = (np.cumsum(count) - count)[has]
        low, high = gap[first + (count[has] - 1) // 2], gap[first + count[has] // 2]
        median[has] = (low + high) / 2
    return days, n_days, median


def _sort_pairs(major: np.ndarray, minor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of non-negative integers sorted, packed into one integer when they fit."""
    bits = int(minor.max()).bit_length()
    total = int(major.max()).bit_length() + bits
    if total > 63:
        order = np.lexsort((minor, major))
        return major[order], minor[order]
    packed = (major << bits) | minor
    if total <= 31:  # a narrower sort is faster
        packed = packed.astype(np.int32)
    packed.sort()
    return packed >> bits, packed & ((1 << bits) - 1)


def purchase_days(
    orders: OrderTable, returns: tuple[np.ndarray, np.ndarray, np.ndarray], days: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """One row per customer and purchase day (code, day, net value) with returns moved onto it.

    `days` are the distinct order days from `order_days`. A return counts
    against the customer's latest purchase day on or before it; returns
    before a customer's first purchase are left out and counted.
    """
    starts, code, day = days
    if len(starts) == len(orders.day):
        value = orders.amount.copy()
    else:
        value = np.add.reduceat(orders.amount, starts) if len(starts) else orders.amount[:0]
    return_code, return_day, return_amount = returns
    if not len(code):
        return code, day, value, len(return_code)
    base = int(min(day.min(), return_day.min() if len(return_day) else day.min()))
    span = int(max(day.max(), return_day.max() if len(return_day) else 0)) - base + 1
    key = code * span + (day - base)
    position = np.searchsorted(key, return_code * span + (return_day - base), side="right") - 1
    found = position >= 0
    found[found] = code[position[found]] == return_code[found]
    np.add.at(value, position[found], return_amount[found])
    return code, day, value, int((~found).sum())


def rolling_peak(monthly: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Revenue of the latest `window` months and the peak of every such window.

    Windows reaching past the oldest month count the missing months as zero.

    >>> m = np.array([[1.0, 2.0, 3.0, 4.0]])  # month 0 is the latest
    >>> rolling_peak(m, 2)
    (array([3.]), array([7.]))
    """
    n, months = monthly.shape
    # Month-major, so that every step below runs over one contiguous row of customers.
    cumulative = np.zeros((months + 1, n))
    np.cumsum(monthly.T, axis=0, out=cumulative[1:])
    # Window k covers months k .. k + window - 1: cumulative[k + window] - cumulative[k].
    current = cumulative[min(window, months)] - cumulative[0]
    peak = current.copy()
    for k in range(1, months):
        np.maximum(peak, cumulative[min(k + window, months)] - cumulative[k], out=peak)
    return current, peak


def customer_table(
    code: np.ndarray,
    amount: np.ndarray,
    orders: OrderTable,
    returns: tuple[np.ndarray, np.ndarray, np.ndarray],
    monthly: np.ndarray,
    day_info: tuple[np.ndarray, np.ndarray],
    days: tuple[int, int],
    margin: tuple[np.ndarray, np.ndarray] | None,
) -> pd.DataFrame:
    """One row per customer; `code`/`amount` are all rows, `returns` (code, day, amount) some.

    `day_info` is (distinct order days, median gap) per customer, `days` is
    (as-of day, the day shown as first order of customers with only returns),
    `margin` is (margin per row, row is in the last 12 months) when costs are known.
    """
    n = len(monthly)
    as_of_day, no_order_day = days
    n_orders = np.bincount(orders.code, minlength=n)
    has_order = n_orders > 0
    first_at = np.cumsum(n_orders) - n_orders
    first = np.full(n, no_order_day, dtype=np.int64)
    last = first.copy()
    first[has_order] = orders.day[first_at[has_order]]
    last[has_order] = orders.day[(first_at + n_orders - 1)[has_order]]
    revenue = total_by(code, amount, n)
    revenue_12m, peak_12m = rolling_peak(monthly, 12)
    tenure_years = (as_of_day - first) / 365.25
    years = np.maximum(tenure_years, 1.0)  # a new customer's revenue is not extrapolated
    return_code, _, return_amount = returns
    order_sum = total_by(orders.code, orders.amount, n)
    table = {
        "first_order": first.astype("datetime64[D]").astype("datetime64[s]"),
        "last_order": last.astype("datetime64[D]").astype("datetime64[s]"),
        "days_since_last_order": np.where(has_order, as_of_day - last, -1),
        "orders": n_orders,
        "order_days": day_info[0],
        "median_gap_days": day_info[1],
        "revenue_total": revenue,
        "revenue_12m": revenue_12m,
        "revenue_12m_peak": peak_12m,
        "revenue_per_year": revenue / years,
        "aov": order_sum / np.maximum(n_orders, 1),
        "tenure_years": tenure_years,
        "returns": np.bincount(return_code, minlength=n),
        "returns_value": -total_by(return_code, return_amount, n),
        "has_order": has_order,
    }
    if margin is not None:
        values, recent = margin
        table["margin_total"] = total_by(code, values, n)
        table["margin_12m"] = total_by(code[recent], values[recent], n)
        table["margin_per_year"] = table["margin_total"] / years
    return pd.DataFrame(table)
