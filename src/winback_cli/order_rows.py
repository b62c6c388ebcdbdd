"""Check and type one slice of mapped order rows: ids, dates, amounts, costs, status.

`parse_slice` turns the text cells of canonical order columns into stripped
ids, days and floats, and sends every row it cannot use to a `RejectLog`
with the reason. What the first slice of a file decides (the decimal
separator, day or month first in slashed dates, the currencies seen) travels
in a `Decided` so later slices read the same way. A slice works on its own
copy of that state, so slices can be checked on several threads at once;
`Decided.take` then applies the results in file order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from winback_cli.amounts import parse_amounts
from winback_cli.columns import ColumnMap
from winback_cli.dates import parse_dates
from winback_cli.errors import AmbiguousDateError, InputError
from winback_cli.facts_text import stripped
from winback_cli.rejects import RejectLog
from winback_cli.rules import Rules
from winback_cli.tables import RawTable

# Orders dated later than this many days after today are typos, not orders.
FUTURE_GRACE_DAYS = 1


@dataclass
class Decided:
    """Per file, what the slices read so far decided, so later slices read the same way."""

    mapping: ColumnMap | None = None
    decimal: str | None = None
    day_first: bool | None = None
    currencies: set[str] = field(default_factory=set)  # seen in amounts, without a column
    slashed: bool = False  # the last slice checked had slashed dates

    def snapshot(self) -> Decided:
        """A copy for one slice to update on its own (possibly on another thread)."""
        return replace(self, currencies=set(), slashed=False)

    def take(self, before: Decided, after: Decided) -> bool:
        """Apply what a slice checked from state `before` found; False if it must be redone.

        A slice that started before an earlier one decided the order of slashed
        dates, and has slashed dates itself, is checked again with that decision,
        as it would have been one after the other.
        """
        if before.day_first != self.day_first:
            if after.slashed:
                return False
        else:
            self.day_first = after.day_first
        self.decimal = self.decimal or after.decimal
        self.currencies |= after.currencies
        return True


@dataclass(frozen=True)
class CheckedSlice:
    """Usable rows of one slice, the rows refused, and the state before and after it."""

    frame: pd.DataFrame
    rejects: RejectLog
    before: Decided
    after: Decided


def parse_slice(
    frame: pd.DataFrame, raw: RawTable, rules: Rules, today: dt.date, before: Decided
) -> CheckedSlice:
    """Check and type one slice of canonical order columns, starting from state `before`.

    Neither `frame` nor `before` is changed, so a slice can be checked again.
    """
    frame = frame.copy(deep=False)
    mine = before.snapshot()
    mapping = mine.mapping
    if mapping.profile == "shopify":
        frame = fill_line_items(frame)
    hint = "," if raw.delimiter == ";" or mapping.profile in ("german_excel", "sap") else "."
    source = f"{raw.source}, column '{mapping.found['order_date']}'"
    rejects = RejectLog()
    frame = _parse_orders(frame, rules, rejects, today, mine, hint, source)
    return CheckedSlice(frame, rejects, before, mine)


def fill_line_items(frame: pd.DataFrame) -> pd.DataFrame:
    """Shopify: order fields stand only on an order's first line; copy them down."""
    if "order_id" not in frame.columns:
        return frame
    for column in ("customer_id", "order_date", "status", "currency"):
        if column in frame.columns:
            first = (
                frame[column]
                .where(frame[column] != "")
                .groupby(frame["order_id"])
                .transform("first")
            )
            frame[column] = first.fillna("").astype("str")
    # Later lines carry no amount: the order total is on the first line.
    if "amount" in frame.columns:
        line_no = frame.groupby("order_id").cumcount()
        frame.loc[(line_no > 0) & (frame["amount"] == ""), "amount"] = "0"
    return frame


def _parse_orders(
    orders: pd.DataFrame,
    rules: Rules,
    rejects: RejectLog,
    today: dt.date,
    decided: Decided,
    hint: str,
    date_source: str,
) -> pd.DataFrame:
    ids = stripped(orders["customer_id"])
    no_id = ids == ""
    rejects.add(orders, no_id, "customer_id", ids, "no customer id")
    orders["customer_id"] = ids
    if "order_id" in orders.columns:
        orders["order_id"] = stripped(orders["order_id"])

    dates = parse_dates(
        orders["order_date"],
        date_format=rules.date_format,
        source=date_source,
        day_first=decided.day_first,
    )
    decided.slashed = any(f[:3] in ("%d/", "%m/") for f in dates.formats)
    decided.day_first = _slash_order(dates.formats, decided.day_first, date_source)
    bad_date = (dates.problems != "") & ~no_id
    rejects.add(orders, bad_date, "order_date", orders["order_date"], dates.problems)
    limit = pd.Timestamp(today + dt.timedelta(days=FUTURE_GRACE_DAYS))
    future = (dates.values > limit) & ~bad_date & ~no_id
    rejects.add(
        orders,
        future,
        "order_date",
        orders["order_date"],
        f"date lies in the future (after {today.isoformat()})",
    )

    decimal = None if rules.decimal == "auto" else rules.decimal
    amounts = parse_amounts(orders["amount"], decimal=decimal, decimal_hint=decided.decimal or hint)
    decided.decimal = decided.decimal or amounts.decimal
    bad_amount = (amounts.problems != "") & ~no_id & ~bad_date & ~future
    rejects.add(orders, bad_amount, "amount", orders["amount"], amounts.problems)
    keep = ~(no_id | bad_date | future | bad_amount)

    if "cost" in orders.columns:
        costs = parse_amounts(orders["cost"], decimal=decimal or amounts.decimal)
        empty_cost = stripped(orders["cost"]) == ""
        bad_cost = (costs.problems != "") & ~empty_cost & keep
        rejects.add(orders, bad_cost, "cost", orders["cost"], costs.problems)
        keep &= ~bad_cost
        orders["cost"] = costs.values
    keep &= ~_check_currency(orders, rules, rejects, keep)
    if "currency" not in orders.columns:
        decided.currencies |= amounts.currencies
    if "status" in orders.columns:
        excluded = _folded_in(orders["status"], rules.exclude_status) & keep
        rejects.add(
            orders,
            excluded,
            "status",
            orders["status"],
            "order status is excluded (exclude_status in the rules)",
        )
        keep &= ~excluded

    orders["order_date"] = dates.values
    orders["amount"] = amounts.values
    for column in ("quantity",):
        if column in orders.columns:
            orders[column] = parse_amounts(
                orders[column], decimal=decimal or amounts.decimal
            ).values
    return orders if keep.all() else orders.loc[keep]


def _folded_in(values: pd.Series, names: Iterable[str]) -> pd.Series:
    """`values.str.strip().str.casefold().isin(names casefolded)`, worked out once per
    distinct value: pandas folds case in Python, value by value, and a status column
    holds a handful of texts.
    """
    codes, distinct = pd.factorize(values.astype("str"))
    folded = pd.Series(distinct, dtype="str").str.strip().str.casefold()
    hit = np.append(folded.isin([name.casefold() for name in names]).to_numpy(bool), False)
    return pd.Series(hit[codes], index=values.index)  # code -1, a missing value: False


def _slash_order(formats: tuple[str, ...], known: bool | None, source: str) -> bool | None:
    """Day-first or not, as slashed dates in this and earlier slices of a file show."""
    seen = {f.startswith("%d/") for f in formats if f[:3] in ("%d/", "%m/")}
    if known is not None and seen - {known}:
        raise AmbiguousDateError(
            f"{source}: slashed dates disagree: earlier rows have the "
            f"{'day' if known else 'month'} first, later rows the "
            f'{"month" if known else "day"} first; set date_format: "%d/%m/%Y" or '
            '"%m/%d/%Y" for this column in the rules YAML'
        )
    return known if known is not None or not seen else seen.pop()


def _check_currency(orders, rules: Rules, rejects: RejectLog, keep) -> pd.Series:
    """Rows in a currency other than the rules' one, where a currency column tells."""
    if "currency" in orders.columns:
        code = orders["currency"].astype("str").str.strip().str.upper()
        other = (code != "") & (code != rules.currency) & keep
        rejects.add(
            orders,
            other,
            "currency",
            orders["currency"],
            f"amount is not in {rules.currency} (currency in the rules)",
        )
        return other
    return pd.Series(False, index=orders.index)


def refuse_other_currencies(source: str, currencies: set[str], rules: Rules) -> None:
    """Amounts of a file without a currency column must all be in the rules' currency."""
    foreign = sorted(currencies - {rules.currency})
    if foreign:
        raise InputError(
            f"{source}: amounts carry the currencies {', '.join(sorted(currencies))}, "
            f"but the rules say amounts are in {rules.currency}. Fix: add a currency column "
            f"and keep only one currency, or set 'currency: {foreign[0]}' in the rules"
        )
