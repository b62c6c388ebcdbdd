"""Reduce order rows to per-customer facts, vectorised with numpy.

This is the one place that reads order rows. Everything downstream works on
`Facts`, which holds only per-customer results: one row per customer
(first/last order, orders, revenue, margin, trailing-12-month revenue and
its peak, returns, the customer's own median gap between orders), monthly
revenue per customer, the last purchase per customer and category, and
what the rules ask for (`FactNeeds`): order counts and values in trigger
windows, the sums behind probable churn reasons and the purchase summary of
the lifetime-value model. Months are calendar months counted back from the
as-of date, so "the last 12 months" means the same everywhere. Because
nothing is per order, facts of disjoint sets of customers can be computed
apart and joined (`facts_merge.merge_facts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from winback_cli.durations import Duration
from winback_cli.facts_orders import OrderTable, category_table, group_orders
from winback_cli.facts_reduce import (
    PeriodSums,
    customer_table,
    order_days,
    purchase_days,
    reason_sums,
    rolling_peak,
    total_by,
    window_sums,
)
from winback_cli.facts_rows import SortedRows, read_rows

if TYPE_CHECKING:
    from winback_cli.clv_model import RFM
    from winback_cli.rules import Rules

__all__ = [
    "FactNeeds",
    "Facts",
    "PurchaseSummary",
    "compute_facts",
    "rolling_peak",
    "trigger_windows",
]

DAY = np.dtype("datetime64[D]")
WINDOW_KINDS = ("basket_shrink", "frequency_drop")


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
class FactNeeds:
    """What beyond the customer table the facts must hold for a rules file."""

    windows: tuple[Duration, ...] = ()  # trigger windows (basket_shrink, frequency_drop)
    reasons_days: float | None = None  # period width for probable reasons (reasons.window)
    clv_unit_days: float | None = None  # time unit of the lifetime-value model, when it runs

    @classmethod
    def from_rules(cls, rules: Rules, *, clv: bool | None = None) -> FactNeeds:
        """Everything a scan with `rules` reads; `clv` overrides `rules.clv.enabled`."""
        with_clv = rules.clv.enabled if clv is None else clv
        return cls(
            windows=trigger_windows(rules.triggers),
            reasons_days=rules.reasons.window.approx_days,
            clv_unit_days=rules.clv.unit_days if with_clv else None,
        )


def trigger_windows(triggers) -> tuple[Duration, ...]:
    """The distinct windows that `basket_shrink` and `frequency_drop` triggers compare."""
    windows = {t.window for t in triggers if t.kind in WINDOW_KINDS}
    return tuple(sorted(windows, key=lambda d: (d.approx_days, d.unit)))


@dataclass(frozen=True, eq=False)
class PurchaseSummary:
    """The lifetime-value model's input: recency-frequency summary in `unit_days` units."""

    unit_days: float
    rfm: RFM
    returns_left_out: int  # return lines dated before the customer's first purchase


@dataclass(frozen=True, eq=False)
class Facts:
    """Per-customer aggregates; every array and table row is in customer code order."""

    as_of: pd.Timestamp
    customers: pd.DataFrame
    monthly_revenue: np.ndarray  # (customers, months back); column 0 = month before as-of
    month_starts: np.ndarray  # int day where each month-back bucket starts
    categories: pd.DataFrame  # code, category, orders, last_day; by code, then name
    has_cost: bool
    has_category: bool = True
    windows: Mapping[Duration, PeriodSums] = field(default_factory=dict)
    reasons_days: float | None = None
    reasons: PeriodSums | None = None  # bought, orders and returned before the last order
    purchases: PurchaseSummary | None = None

    def months_back_start(self, months: int) -> int:
        """Day where the window of the last `months` calendar months starts."""
        return int(
            Duration(months, "mo").before(self.as_of).to_datetime64().astype(DAY).astype(np.int64)
        )

    def window(self, duration: Duration) -> PeriodSums:
        """Order counts and values in the last `duration` and the `duration` before it."""
        if duration not in self.windows:
            raise ValueError(
                f"the facts hold no {duration} window; compute them with "
                "FactNeeds.from_rules(rules) (or name the window in FactNeeds)"
            )
        return self.windows[duration]


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


def window_edges(as_of: pd.Timestamp, duration: Duration) -> tuple[int, int, int]:
    """Days (start, middle, end) of the window before the recent one and of the recent one."""
    middle = duration.before(as_of)
    return day_of(duration.before(middle)), day_of(middle), day_of(as_of)


def compute_facts(
    frame: pd.DataFrame,
    as_of: pd.Timestamp,
    needs: FactNeeds | None = None,
    *,
    first_day: int | None = None,
) -> tuple[Facts, pd.Index]:
    """Reduce order rows (dated before `as_of`) to `Facts`; also return the customer ids.

    `first_day` (days since 1970-01-01) is the earliest order day before
    `as_of` over all parts when facts are computed per group of customers
    (`facts_merge.merge_facts`): it fixes how far back monthly revenue reaches
    and the first order shown for customers with only returns, so that the
    parts line up. It defaults to the earliest such day in `frame`.
    """
    needs = needs or FactNeeds()
    as_of_day = day_of(as_of)
    rows = read_rows(frame, as_of, as_of_day)
    code, day, amount, n = rows.code, rows.day, rows.amount, len(rows.ids)
    if first_day is None:
        first_day = int(day.min()) if len(day) else as_of_day - 366
    # A first_day after some order would lose it; months then reach that order (and
    # parts computed alike no longer line up, which merge_facts refuses).
    starts = month_starts(as_of, min(first_day, int(day.min())) if len(day) else first_day)
    bucket = _buckets(day, starts, first_day, as_of_day)
    bins = code * len(starts)
    bins += bucket
    monthly = total_by(bins, amount, n * len(starts)).reshape(n, len(starts))
    del bins
    lines, line_category, returns = _split(rows)
    orders = group_orders(*lines, rows.keys)
    distinct_days, *day_info = order_days(orders, n)
    margin = None if rows.margin is None else (rows.margin, bucket < 12)
    days = (as_of_day, first_day)
    table = customer_table(code, amount, orders, returns, monthly, day_info, days, margin)
    last = table["last_order"].to_numpy().astype(DAY).astype(np.int64)
    facts = Facts(
        as_of=as_of,
        customers=table,
        monthly_revenue=monthly,
        month_starts=starts,
        categories=_categories(rows, lines, line_category, orders),
        has_cost=rows.margin is not None,
        has_category=rows.category is not None,
        windows={d: window_sums(orders, n, window_edges(as_of, d)) for d in needs.windows},
        reasons_days=needs.reasons_days,
        reasons=None
        if needs.reasons_days is None
        else reason_sums(orders, returns, last, needs.reasons_days),
        purchases=None
        if needs.clv_unit_days is None
        else _purchases(orders, returns, distinct_days, n, as_of_day, needs.clv_unit_days),
    )
    return facts, pd.Index(pd.array(rows.ids, dtype="str"), name="customer_id")


def _buckets(day: np.ndarray, starts: np.ndarray, first_day: int, as_of_day: int) -> np.ndarray:
    """Month-back bucket of every day, looked up per day rather than searched per row."""
    if not len(day):
        return day
    # An as-of time after midnight keeps rows of the as-of day itself: bucket 0.
    lookup = np.arange(min(first_day, int(day.min())), max(as_of_day, int(day.max()) + 1))
    return np.searchsorted(-starts, -lookup, side="left")[day - lookup[0]]


def _split(rows: SortedRows) -> tuple[tuple, np.ndarray | None, tuple]:
    """Purchase lines (code, day, amount, row) and their categories; returns (code, day, amount)."""
    code, day, amount, category = rows.code, rows.day, rows.amount, rows.category
    buy = amount >= 0
    if buy.all():  # no returns: nothing to split
        return (code, day, amount, rows.row), category, (code[:0], day[:0], amount[:0])
    back = ~buy
    lines = (code[buy], day[buy], amount[buy], rows.row[buy])
    return lines, None if category is None else category[buy], (code[back], day[back], amount[back])


def _categories(rows: SortedRows, lines: tuple, category, orders: OrderTable) -> pd.DataFrame:
    """Orders and last purchase per customer and category (empty without a category column)."""
    if category is None:
        return pd.DataFrame(
            {
                "code": np.array([], np.int64),
                "category": pd.Categorical.from_codes([], categories=[]),
                "orders": np.array([], np.int64),
                "last_day": np.array([], np.int64),
            }
        )
    return category_table(lines[0], lines[1], category, orders, rows.names)


def _purchases(orders, returns, order_days, n: int, as_of_day: int, unit_days: float):
    from winback_cli.clv_model import summarise_purchase_days

    code, day, value, left_out = purchase_days(orders, returns, order_days)
    rfm = summarise_purchase_days(code, day, value, n, as_of_day, unit_days)
    return PurchaseSummary(unit_days, rfm, left_out)
