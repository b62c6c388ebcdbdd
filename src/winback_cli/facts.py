"""Reduce order rows to per-customer facts, vectorised with numpy.

This is the one place that reads order rows. Everything downstream works on
`Facts`: one row per customer (first/last order, orders, revenue, margin,
trailing-12-month revenue and its peak, returns, the customer's own median
gap between orders) plus three compact aggregates the triggers need: an
order-level table, monthly revenue per customer, and the last purchase per
customer and category. Months are calendar months counted back from the
as-of date, so "the last 12 months" means the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from winback_cli.durations import Duration

DAY = np.dtype("datetime64[D]")


def to_days(values: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Dates -> int64 days since 1970-01-01."""
    return np.asarray(values, dtype="datetime64[D]").astype(np.int64)


def day_of(timestamp: pd.Timestamp) -> int:
    """One date -> int days since 1970-01-01."""
    return int(np.datetime64(pd.Timestamp(timestamp).date(), "D").astype(np.int64))


def default_as_of(order_dates: pd.Series) -> pd.Timestamp:
    """The day after the latest order: a monthly export gives the same answer any day."""
    return (order_dates.max() + pd.Timedelta(days=1)).normalize()


@dataclass(frozen=True)
class OrderTable:
    """One row per order (purchases only; returns are lines, not orders)."""

    code: np.ndarray  # customer code per order
    day: np.ndarray  # order day (int days)
    amount: np.ndarray  # order value


@dataclass(frozen=True)
class Facts:
    """Per-customer aggregates; `customers` is indexed by customer code order."""

    as_of: pd.Timestamp
    customers: pd.DataFrame
    orders: OrderTable
    returns: OrderTable  # one row per return/credit-note line (amount < 0)
    monthly_revenue: np.ndarray  # (customers, months back); column 0 = month before as-of
    month_starts: np.ndarray  # int day where each month-back bucket starts
    categories: pd.DataFrame  # code, category, orders, last_day
    has_cost: bool
    has_category: bool = True

    def months_back_start(self, months: int) -> int:
        """Day where the window of the last `months` calendar months starts."""
        return int(
            Duration(months, "mo").before(self.as_of).to_datetime64().astype(DAY).astype(np.int64)
        )


def month_starts(as_of: pd.Timestamp, first_day: int) -> np.ndarray:
    """Start day of each calendar month counted back from as-of, far enough to cover `first_day`.

    Entry k is the first day of bucket k = [as_of - (k+1) months, as_of - k months).
    """
    years_back = max(
        1, (as_of.normalize() - pd.Timestamp(np.datetime64(first_day, "D"))).days // 365 + 2
    )
    starts = [Duration(k + 1, "mo").before(as_of) for k in range(years_back * 12)]
    days = to_days(pd.DatetimeIndex(starts))
    keep = int(np.searchsorted(-days, -first_day, side="right")) + 1
    return days[: max(keep, 12)]


def _bucket(day: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Months-back bucket of each day (starts is descending)."""
    return np.searchsorted(-starts, -day, side="left")


def _order_keys(code: np.ndarray, oid: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense order numbers; an order id used by two customers is two orders."""
    if not len(oid):
        return oid, 0
    size = int(oid.max()) + 1
    low = np.full(size, np.iinfo(np.int64).max)
    high = np.full(size, -1, dtype=np.int64)
    np.minimum.at(low, oid, code)
    np.maximum.at(high, oid, code)
    used = high >= 0
    if (low[used] == high[used]).all():  # the usual case: no hashing needed
        dense = np.cumsum(used) - 1
        return dense[oid], int(used.sum())
    key, _ = pd.factorize(code.astype(np.int64) * size + oid)
    return key, int(key.max()) + 1


def _order_table(
    code: np.ndarray, day: np.ndarray, amount: np.ndarray, order_id: np.ndarray | None
) -> OrderTable:
    """Merge line rows of one order (same customer and order id code) into one order."""
    if order_id is None:
        return OrderTable(code, day, amount)
    key, n = _order_keys(code, order_id)
    order_code = np.zeros(n, dtype=code.dtype)
    order_code[key] = code
    order_day = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(order_day, key, day)
    return OrderTable(order_code, order_day, np.bincount(key, weights=amount, minlength=n))


def _median_gap(orders: OrderTable, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: distinct order days, and the median gap in days between them."""
    base = int(orders.day.min()) if len(orders.day) else 0
    pairs = sorted_unique(orders.code.astype(np.int64) * 10**6 + (orders.day - base))
    code, day = pairs // 10**6, pairs % 10**6 + base
    n_days = np.bincount(code, minlength=n)
    same = code[1:] == code[:-1]
    gaps = pd.Series(np.diff(day)[same]).groupby(code[1:][same]).median()
    median = np.full(n, np.nan)
    median[gaps.index.to_numpy()] = gaps.to_numpy()
    return n_days, median


def sorted_unique(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct values; a plain sort beats numpy's hash-based unique here.

    >>> sorted_unique(np.array([3, 1, 3, 2]))
    array([1, 2, 3])
    """
    keys = np.sort(keys)
    return keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys


def _categories(
    category: pd.Series, code: np.ndarray, day: np.ndarray, order: np.ndarray
) -> pd.DataFrame:
    """Orders and last purchase day per customer and category.

    Each (customer, category, order) counts once, so the lines of one order
    are one order of that category. Works on packed integer keys, sorted.
    """
    category = category.astype("str").str.strip()
    cat, names = factorize_text(category)
    has = (category != "").to_numpy(dtype=bool) & (cat >= 0)
    n_cat, n_order = max(len(names), 1), int(order.max()) + 1 if len(order) else 1
    group = code[has].astype(np.int64) * n_cat + cat[has]
    key = group * n_order + order[has]
    sort = np.argsort(key, kind="stable")
    key, group, days = key[sort], group[sort], day[has][sort]
    # Last day per (customer, category, order), then per (customer, category).
    first_of_key = np.r_[True, key[1:] != key[:-1]] if len(key) else np.array([], bool)
    starts = np.flatnonzero(first_of_key)
    per_order_day = np.maximum.reduceat(days, starts) if len(starts) else days
    per_order_group = group[starts]
    first_of_group = (
        np.r_[True, per_order_group[1:] != per_order_group[:-1]]
        if len(starts)
        else np.array([], bool)
    )
    group_starts = np.flatnonzero(first_of_group)
    counts = np.diff(np.r_[group_starts, len(per_order_group)])
    last = np.maximum.reduceat(per_order_day, group_starts) if len(group_starts) else per_order_day
    groups = per_order_group[group_starts]
    return pd.DataFrame(
        {
            "code": groups // n_cat,
            "category": np.asarray(names, dtype=object)[groups % n_cat],
            "orders": counts.astype(np.int64),
            "last_day": last.astype(np.int64),
        }
    )


def factorize_text(values: pd.Series, *, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and distinct values of a text column, via Arrow's dictionary encoding.

    About twice as fast as `pd.factorize` on Arrow-backed strings; `sort=True`
    numbers the distinct values in sorted order.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(values.astype("str"), type=pa.large_string())
    if isinstance(array, pa.ChunkedArray):  # large columns arrive in chunks
        array = array.combine_chunks()
    encoded = array.dictionary_encode()
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    uniques = encoded.dictionary
    if sort and len(uniques):
        order = pc.sort_indices(uniques).to_numpy()
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        codes, uniques = rank[codes], uniques.take(pa.array(order))
    return codes, np.asarray(uniques.to_pylist(), dtype=object)


def _order_codes(frame: pd.DataFrame) -> np.ndarray:
    """An integer per order id; rows without an order id are each an order of their own."""
    if "order_id" not in frame.columns:
        return np.arange(len(frame), dtype=np.int64)
    codes = factorize_text(frame["order_id"])[0]
    empty = (frame["order_id"] == "").to_numpy(dtype=bool)
    if empty.any():
        codes[empty] = codes.max() + 1 + np.arange(int(empty.sum()))
    return codes


def compute_facts(frame: pd.DataFrame, as_of: pd.Timestamp) -> tuple[Facts, pd.Index]:
    """Reduce order rows (dated before `as_of`) to `Facts`; also return the customer ids."""
    before = (frame["order_date"] < as_of).to_numpy()
    if not before.all():
        frame = frame.loc[before]
    ids, uniques = factorize_text(frame["customer_id"], sort=True)
    code = ids.astype(np.int64)
    n = len(uniques)
    day = to_days(frame["order_date"])
    amount = frame["amount"].to_numpy(dtype=float)
    is_return = amount < 0
    buy = ~is_return
    order_codes = _order_codes(frame)
    order_id = order_codes[buy] if "order_id" in frame.columns else None
    orders = _order_table(code[buy], day[buy], amount[buy], order_id)

    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, orders.code, orders.day)
    np.maximum.at(last, orders.code, orders.day)
    has_order = np.bincount(orders.code, minlength=n) > 0
    first = np.where(has_order, first, day.min() if len(day) else 0)
    starts = month_starts(as_of, int(day.min()) if n else day_of(as_of) - 366)
    bucket = _bucket(day, starts)
    months = len(starts)
    monthly = np.bincount(code * months + bucket, weights=amount, minlength=n * months).reshape(
        n, months
    )
    as_of_day = day_of(as_of)
    facts = _customer_table(
        frame,
        code,
        n,
        amount,
        is_return,
        bucket,
        orders,
        monthly,
        first,
        last,
        has_order,
        as_of_day,
    )
    has_category = "category" in frame.columns
    cats = (
        _categories(frame["category"][buy], code[buy], day[buy], order_codes[buy])
        if has_category
        else pd.DataFrame(
            {
                "code": np.array([], np.int64),
                "category": np.array([], object),
                "orders": np.array([], np.int64),
                "last_day": np.array([], np.int64),
            }
        )
    )
    returns = OrderTable(code[is_return], day[is_return], amount[is_return])
    result = Facts(
        as_of, facts, orders, returns, monthly, starts, cats, "cost" in frame.columns, has_category
    )
    return result, pd.Index(uniques.astype("str"), name="customer_id")


def rolling_peak(monthly: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Revenue of the latest `window` months and the peak of every such window.

    >>> m = np.array([[1.0, 2.0, 3.0, 4.0]])  # month 0 is the latest
    >>> rolling_peak(m, 2)
    (array([3.]), array([7.]))
    """
    padded = np.concatenate([monthly, np.zeros((monthly.shape[0], window))], axis=1)
    cumulative = np.concatenate([np.zeros((monthly.shape[0], 1)), padded.cumsum(axis=1)], axis=1)
    sums = cumulative[:, window:] - cumulative[:, :-window]
    sums = sums[:, : monthly.shape[1]]
    return sums[:, 0], sums.max(axis=1)


def _customer_table(
    frame, code, n, amount, is_return, bucket, orders, monthly, first, last, has_order, as_of_day
) -> pd.DataFrame:
    n_orders = np.bincount(orders.code, minlength=n)
    n_days, median_gap = _median_gap(orders, n)
    revenue = np.bincount(code, weights=amount, minlength=n)
    recent = bucket < 12
    revenue_12m, peak_12m = rolling_peak(monthly, 12)
    tenure_days = as_of_day - first
    tenure_years = tenure_days / 365.25
    years = np.maximum(tenure_years, 1.0)  # a new customer's revenue is not extrapolated
    table = {
        "first_order": (first.astype("datetime64[D]")),
        "last_order": np.where(has_order, last, first).astype("datetime64[D]"),
        "days_since_last_order": np.where(has_order, as_of_day - last, -1),
        "orders": n_orders,
        "order_days": n_days,
        "median_gap_days": median_gap,
        "revenue_total": revenue,
        "revenue_12m": revenue_12m,
        "revenue_12m_peak": peak_12m,
        "revenue_per_year": revenue / years,
        "aov": np.divide(
            orders_sum := np.bincount(orders.code, weights=orders.amount, minlength=n),
            np.maximum(n_orders, 1),
        ),
        "tenure_years": tenure_years,
        "returns": np.bincount(code, weights=is_return.astype(float), minlength=n).astype(int),
        "returns_value": -np.bincount(code, weights=np.where(is_return, amount, 0.0), minlength=n),
        "has_order": has_order,
    }
    del orders_sum
    if "cost" in frame.columns:
        cost = frame["cost"].to_numpy(dtype=float)
        known = ~np.isnan(cost)
        margin = np.where(known, amount - np.nan_to_num(cost), 0.0)
        table["margin_total"] = np.bincount(code, weights=margin, minlength=n)
        table["margin_12m"] = np.bincount(code, weights=np.where(recent, margin, 0.0), minlength=n)
        table["margin_per_year"] = table["margin_total"] / years
    result = pd.DataFrame(table)
    for column in ("first_order", "last_order"):
        result[column] = result[column].astype("datetime64[s]")
    return result
