"""Churn triggers: small, named, pure functions of the facts, registered by kind.

Each trigger kind is a function `(trigger, context) -> (fired, evidence)`
over all customers at once: `fired` is a boolean array, `evidence` a string
array that a person can check ("last order 2025-03-02, 266 days before
2025-11-24"), empty where the trigger did not fire. The context holds the
facts, the customer-file columns aligned with the facts rows (`people`,
empty when no customer file was given), the locale's money format and,
when the lifetime-value model ran, its per-customer scores. `evaluate` runs
a rules file's triggers and derives each customer's status: the worst
severity fired, `active` when none fired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from winback_cli.amounts import parse_amounts
from winback_cli.errors import RulesError
from winback_cli.facts import Facts, day_of, rolling_peak
from winback_cli.vocab import fold, parse_flags

TriggerFn = Callable[..., tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Context:
    """What trigger functions may read."""

    facts: Facts
    people: pd.DataFrame
    money: Callable[[float], str] = "{:,.2f}".format
    clv: pd.DataFrame | None = None  # p_alive, clv, ... aligned with the facts rows


KINDS: dict[str, TriggerFn] = {}
SEVERITY_RANK = {"active": 0, "at_risk": 1, "churned": 2}


def register(kind: str) -> Callable[[TriggerFn], TriggerFn]:
    """Make a trigger function available under its YAML `kind:`."""

    def add(function: TriggerFn) -> TriggerFn:
        KINDS[kind] = function
        return function

    return add


def _dates(days: np.ndarray) -> np.ndarray:
    """ISO dates ('2025-03-02') of day numbers, as `np.datetime_as_string` spells them.

    Years 1-9999 are worked out with integer arithmetic (`textbytes.civil`), much
    faster than numpy's formatting; anything else (NaT, far years) is left to numpy.
    """
    from winback_cli.textbytes import civil, constant, fixed_digits, join_columns

    days = np.asarray(days).astype("datetime64[D]").astype(np.int64)
    usable = (days >= -719_162) & (days <= 2_932_896)  # 0001-01-01 to 9999-12-31
    year, month, day = civil(np.where(usable, days, 0))
    dash = constant("-", len(days))
    parts = [fixed_digits(year, 4), dash, fixed_digits(month, 2), dash, fixed_digits(day, 2)]
    text = join_columns(parts).astype(np.uint32).view("U10").ravel()
    if not usable.all():
        other = np.datetime_as_string(days[~usable].astype("datetime64[D]"), unit="D")
        text = text.astype(np.result_type(text.dtype, other.dtype))
        text[~usable] = other
    return text


@dataclass(frozen=True)
class _Money:
    """Amounts to format only where a trigger fired (formatting all would be slow)."""

    values: np.ndarray
    format: Callable[[float], str]

    def texts(self, fired: np.ndarray):
        """The fired rows' amounts as an Arrow text array, all at once when the format can."""
        import pyarrow as pa

        values = self.values[fired]
        column = getattr(self.format, "column", None)  # money.MoneyFormat has one
        if column is not None:
            return column(values)
        return pa.array([self.format(v) for v in values], type=pa.large_string())


def _money(ctx: Context, values: np.ndarray) -> _Money:
    return _Money(values, ctx.money)


def _join(fired: np.ndarray, *parts: object) -> np.ndarray:
    """Concatenate text parts element-wise, keeping only fired rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = np.full(len(fired), "", dtype=object)
    if fired.any():
        pieces = []
        for part in parts:
            if isinstance(part, _Money):
                pieces.append(part.texts(fired))
            elif isinstance(part, np.ndarray) and part.dtype.kind in "iu":
                pieces.append(pa.array(part[fired]).cast(pa.large_string()))  # as str(int)
            elif isinstance(part, np.ndarray):
                pieces.append(pa.array(part[fired].astype(str), type=pa.large_string()))
            else:
                pieces.append(pa.scalar(str(part), type=pa.large_string()))
        joined = pc.binary_join_element_wise(*pieces, pa.scalar("", type=pa.large_string()))
        text[fired] = joined.as_py() if isinstance(joined, pa.Scalar) else joined.to_numpy(False)
    return text


def _window(facts: Facts, duration) -> tuple[np.ndarray, np.ndarray, str]:
    """Order counts and sums in the recent window and in the window before it."""
    sums = facts.window(duration)
    return sums.orders, sums.value, str(duration)


@register("inactive")
def inactive(trigger, ctx: Context):
    facts = ctx.facts
    cutoff = day_of(trigger.for_.before(facts.as_of))
    last = facts.customers["last_order"].to_numpy().astype("datetime64[D]").astype(np.int64)
    fired = facts.customers["has_order"].to_numpy() & (last < cutoff)
    days = facts.customers["days_since_last_order"].to_numpy()
    evidence = _join(
        fired,
        "last order ",
        _dates(last),
        ", ",
        days,
        f" days before {facts.as_of.date()} (limit {trigger.for_})",
    )
    return fired, evidence


@register("revenue_drop")
def revenue_drop(trigger, ctx: Context):
    facts = ctx.facts
    months = trigger.window.amount * (12 if trigger.window.unit == "y" else 1)
    if months == 12:  # the customer table has it already, computed the same way
        current = facts.customers["revenue_12m"].to_numpy(dtype=float)
        peak = facts.customers["revenue_12m_peak"].to_numpy(dtype=float)
    else:
        current, peak = rolling_peak(facts.monthly_revenue, months)
    fired = (peak > max(trigger.min_peak, 0.0)) & (current < trigger.below * peak)
    share = np.divide(current, peak, out=np.zeros_like(current), where=peak > 0)
    evidence = _join(
        fired,
        f"revenue of the last {trigger.window} ",
        _money(ctx, current),
        " is ",
        np.round(share * 100).astype(int),
        "% of its peak ",
        _money(ctx, peak),
        f" (limit {trigger.below:.0%})",
    )
    return fired, evidence


@register("category_lapse")
def category_lapse(trigger, ctx: Context):
    facts = ctx.facts
    cutoff = day_of(trigger.for_.before(facts.as_of))
    last = facts.customers["last_order"].to_numpy().astype("datetime64[D]").astype(np.int64)
    cats = facts.categories
    lapsed = cats.loc[(cats["orders"] >= trigger.min_orders) & (cats["last_day"] < cutoff)]
    lapsed = lapsed.loc[last[lapsed["code"].to_numpy()] >= cutoff]
    n = len(facts.customers)
    fired = np.zeros(n, dtype=bool)
    evidence = np.full(n, "", dtype=object)
    if len(lapsed):
        text = (
            "stopped buying '"
            + lapsed["category"].astype("str")
            + "' ("
            + lapsed["orders"].astype("str")
            + " orders, last "
            + pd.Series(_dates(lapsed["last_day"].to_numpy()), index=lapsed.index)
            + ")"
        )
        codes = lapsed["code"].to_numpy()  # sorted: facts.categories is grouped by code
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        pieces = text.to_numpy(dtype=object)
        later = np.ones(len(pieces), dtype=bool)
        later[starts] = False
        pieces[later] = "; " + pieces[later]
        fired[codes[starts]] = True
        suffix = f" while still ordering other things (limit {trigger.for_})"
        evidence[codes[starts]] = np.add.reduceat(pieces, starts) + suffix
    return fired, evidence


@register("overdue")
def overdue(trigger, ctx: Context):
    facts = ctx.facts
    table = facts.customers
    gap = table["median_gap_days"].to_numpy()
    since = table["days_since_last_order"].to_numpy()
    enough = (table["order_days"].to_numpy() >= trigger.min_orders) & (gap > 0)
    fired = enough & (since > trigger.factor * np.nan_to_num(gap, nan=np.inf))
    ratio = np.divide(since, gap, out=np.zeros(len(gap)), where=enough)
    evidence = _join(
        fired,
        since,
        " days since the last order, usually every ",
        np.round(np.nan_to_num(gap)).astype(int),
        " days (",
        np.round(ratio, 1),
        f"x; limit {trigger.factor:g}x)",
    )
    return fired, evidence


@register("basket_shrink")
def basket_shrink(trigger, ctx: Context):
    facts = ctx.facts
    counts, sums, label = _window(facts, trigger.window)
    enough = (counts >= trigger.min_orders).all(axis=0)
    aov = np.divide(sums, np.maximum(counts, 1))
    fired = enough & (aov[1] > 0) & (aov[0] < trigger.below * aov[1])
    evidence = _join(
        fired,
        "average order ",
        _money(ctx, aov[0]),
        f" in the last {label} vs ",
        _money(ctx, aov[1]),
        f" in the {label} before (limit {trigger.below:.0%})",
    )
    return fired, evidence


@register("frequency_drop")
def frequency_drop(trigger, ctx: Context):
    facts = ctx.facts
    counts, _, label = _window(facts, trigger.window)
    fired = (counts[1] >= trigger.min_orders) & (counts[0] < trigger.below * counts[1])
    evidence = _join(
        fired,
        counts[0],
        f" orders in the last {label} vs ",
        counts[1],
        f" in the {label} before (limit {trigger.below:.0%})",
    )
    return fired, evidence


@register("contract")
def contract(trigger, ctx: Context):
    facts, people = ctx.facts, ctx.people
    n = len(facts.customers)
    fired = np.zeros(n, dtype=bool)
    evidence = np.full(n, "", dtype=object)
    if "contract_status" in people.columns:
        status = people["contract_status"].fillna("").astype("str").to_numpy()
        hit = np.isin(status, list(trigger.statuses))
        evidence = _join(hit, "contract status ", status)
        fired |= hit
    if "contract_end" in people.columns:
        end = people["contract_end"].to_numpy().astype("datetime64[D]")
        known = ~np.isnat(end)
        end_day = np.where(known, end.astype(np.int64), np.iinfo(np.int64).max)
        as_of = day_of(facts.as_of)
        limit = day_of(trigger.ends_within.after(facts.as_of)) if trigger.ends_within else None
        passed = known & (end_day < as_of) & ("expired" in trigger.statuses)
        soon = (
            known & (end_day >= as_of) & (end_day <= limit)
            if limit is not None
            else np.zeros(n, dtype=bool)
        )
        text = np.where(passed, "contract ended ", "contract ends ").astype(object)
        hit = (passed | soon) & ~fired
        evidence = np.where(
            hit,
            _join(
                hit,
                text,
                _dates(np.where(known, end_day, 0)),
                np.where(soon, " (within " + str(trigger.ends_within) + ")", "").astype(object),
            ),
            evidence,
        )
        fired |= hit
    return fired, evidence


@register("field")
def field(trigger, ctx: Context):
    people = ctx.people
    values = people[trigger.column].fillna("").astype("str")
    if trigger.is_true is not None:
        flags, unknown = parse_flags(values)
        fired = (flags == trigger.is_true) & ~unknown & (values.str.strip() != "")
    elif trigger.less_than is not None or trigger.greater_than is not None:
        numbers = parse_amounts(values).values
        fired = (
            numbers < trigger.less_than
            if trigger.less_than is not None
            else numbers > trigger.greater_than
        )
    else:
        wanted = [trigger.equals] if trigger.in_ is None else list(trigger.in_)
        fired = fold(values).isin([str(w).strip().casefold() for w in wanted])
    fired = fired.to_numpy(dtype=bool) & people["_known"].to_numpy(dtype=bool)
    evidence = _join(fired, f"{trigger.column} = '", values.to_numpy(dtype=object), "'")
    return fired, evidence


@register("p_alive")
def probability_alive(trigger, ctx: Context):
    scores = ctx.clv
    alive = scores["p_alive"].to_numpy(dtype=float)
    fired = np.nan_to_num(alive, nan=1.0) < trigger.below
    due = scores["expected_next_order"].to_numpy().astype("datetime64[D]")
    evidence = _join(
        fired,
        "probability still active ",
        np.round(np.nan_to_num(alive) * 100).astype(int),
        f"% (limit {trigger.below:.0%}); expected next order ",
        np.datetime_as_string(due, unit="D"),
    )
    return fired, evidence


@dataclass(frozen=True)
class Evaluation:
    """Which triggers fired for whom, and the resulting status."""

    fired: pd.DataFrame  # one bool column per trigger id
    evidence: pd.DataFrame  # one text column per trigger id
    status: np.ndarray
    skipped: tuple[str, ...]  # notes on triggers that could not run


def needs_customers(trigger) -> tuple[str, ...]:
    """Customer columns a trigger reads; empty for order-only triggers."""
    if trigger.kind == "field":
        return (trigger.column,)
    if trigger.kind == "contract":
        return ("contract_status", "contract_end")
    return ()


def evaluate(
    triggers,
    facts: Facts,
    people: pd.DataFrame,
    *,
    customer_source: str | None,
    money: Callable[[float], str] = "{:,.2f}".format,
    clv: pd.DataFrame | None = None,
) -> Evaluation:
    """Run every trigger; a trigger whose inputs are missing is skipped with a note."""
    fired, evidence, skipped = {}, {}, []
    context = Context(facts, people, money, clv)
    rank = np.zeros(len(facts.customers), dtype=np.int8)
    for trigger in triggers:
        needed = needs_customers(trigger)
        if needed and customer_source is None:
            skipped.append(
                f"trigger '{trigger.id}' ({trigger.kind}) skipped: it needs a "
                "customer file (--customers)"
            )
            continue
        if needed and not any(column in people.columns for column in needed):
            if trigger.kind == "field":
                raise RulesError(
                    f"trigger '{trigger.id}' reads the column '{trigger.column}', which "
                    f"{customer_source} does not have. Fix: map it under columns: or correct "
                    f"the column name. Columns found: "
                    f"{', '.join(c for c in people.columns if not c.startswith('_'))}"
                )
            skipped.append(
                f"trigger '{trigger.id}' ({trigger.kind}) skipped: "
                f"{customer_source} has no {' or '.join(needed)} column"
            )
            continue
        if trigger.kind == "p_alive" and clv is None:
            skipped.append(
                f"trigger '{trigger.id}' (p_alive) skipped: there is no lifetime-value "
                "model (turned off under clv:, or it could not be fitted on this data)"
            )
            continue
        hit, text = KINDS[trigger.kind](trigger, context)
        fired[trigger.id] = hit
        evidence[trigger.id] = text
        rank = np.maximum(rank, np.where(hit, SEVERITY_RANK[trigger.severity], 0))
    names = np.array(["active", "at_risk", "churned"], dtype=object)
    index = facts.customers.index
    return Evaluation(
        pd.DataFrame(fired, index=index),
        pd.DataFrame(evidence, index=index),
        names[rank],
        tuple(skipped),
    )
