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
import pyarrow as pa

from winback_cli.amounts import parse_amounts
from winback_cli.arrowtext import concat, spread, str_series
from winback_cli.errors import RulesError
from winback_cli.facts import Facts, day_of, rolling_peak
from winback_cli.trigger_text import Dates, Money, iso_dates, join_fired, join_runs
from winback_cli.vocab import fold, parse_flags

TriggerFn = Callable[..., tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Context:
    """What trigger functions may read."""

    facts: Facts
    people: pd.DataFrame
    money: Callable[[float], str] = "{:,.2f}".format
    scores: Callable[[], pd.DataFrame | None] = lambda: None  # see `evaluate`'s `clv`

    @property
    def clv(self) -> pd.DataFrame | None:
        """p_alive, clv, ... aligned with the facts rows; None without a model."""
        return self.scores()


KINDS: dict[str, TriggerFn] = {}
SEVERITY_RANK = {"active": 0, "at_risk": 1, "churned": 2}


def register(kind: str) -> Callable[[TriggerFn], TriggerFn]:
    """Make a trigger function available under its YAML `kind:`."""

    def add(function: TriggerFn) -> TriggerFn:
        KINDS[kind] = function
        return function

    return add


def _money(ctx: Context, values: np.ndarray) -> Money:
    return Money(values, ctx.money)


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
    evidence = join_fired(
        fired,
        "last order ",
        Dates(last),
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
    evidence = join_fired(
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
    code, orders = cats["code"].to_numpy(), cats["orders"].to_numpy()
    last_day = cats["last_day"].to_numpy()
    lapsed = np.flatnonzero(
        (orders >= trigger.min_orders) & (last_day < cutoff) & (last[code] >= cutoff)
    )
    n = len(facts.customers)
    fired = np.zeros(n, dtype=bool)
    if not len(lapsed):
        return fired, join_fired(fired)
    codes = code[lapsed]  # sorted: facts.categories is grouped by code
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    later = np.ones(len(codes), dtype=np.int8)
    later[starts] = 0
    category = cats["category"].array
    names = pa.array(category.categories.astype("str"), pa.large_string(), from_pandas=True)
    pieces = concat(
        pa.array(["", "; "], pa.large_string()).take(later),
        "stopped buying '",
        names.take(category.codes[lapsed]),
        "' (",
        pa.array(orders[lapsed]).cast(pa.large_string()),
        " orders, last ",
        pa.array(iso_dates(last_day[lapsed]), pa.large_string()),
        ")",
    )
    suffix = f" while still ordering other things (limit {trigger.for_})"
    fired[codes[starts]] = True
    return fired, spread(concat(join_runs(pieces, starts), suffix), codes[starts], n)


@register("overdue")
def overdue(trigger, ctx: Context):
    facts = ctx.facts
    table = facts.customers
    gap = table["median_gap_days"].to_numpy()
    since = table["days_since_last_order"].to_numpy()
    enough = (table["order_days"].to_numpy() >= trigger.min_orders) & (gap > 0)
    fired = enough & (since > trigger.factor * np.nan_to_num(gap, nan=np.inf))
    ratio = np.divide(since, gap, out=np.zeros(len(gap)), where=enough)
    evidence = join_fired(
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
    evidence = join_fired(
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
    evidence = join_fired(
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
    evidence = join_fired(fired)
    if "contract_status" in people.columns:
        status = people["contract_status"].fillna("").astype("str").to_numpy()
        hit = np.isin(status, list(trigger.statuses))
        evidence = join_fired(hit, "contract status ", status)
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
        ending = join_fired(
            hit,
            text,
            Dates(np.where(known, end_day, 0)),
            np.where(soon, " (within " + str(trigger.ends_within) + ")", "").astype(object),
        )
        evidence = concat(evidence, ending)  # rows apart: the status rows are not hit
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
    evidence = join_fired(fired, f"{trigger.column} = '", values.to_numpy(dtype=object), "'")
    return fired, evidence


@register("p_alive")
def probability_alive(trigger, ctx: Context):
    scores = ctx.clv
    alive = scores["p_alive"].to_numpy(dtype=float)
    fired = np.nan_to_num(alive, nan=1.0) < trigger.below
    due = scores["expected_next_order"].to_numpy().astype("datetime64[D]")
    evidence = join_fired(
        fired,
        "probability still active ",
        np.round(np.nan_to_num(alive) * 100).astype(int),
        f"% (limit {trigger.below:.0%}); expected next order ",
        Dates(due),
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
    clv: pd.DataFrame | Callable[[], pd.DataFrame | None] | None = None,
) -> Evaluation:
    """Run every trigger; a trigger whose inputs are missing is skipped with a note.

    `clv` may be a function that returns the scores (or None): it is called
    only when a trigger needs them, so a model fit can still run meanwhile.
    """
    fired, evidence, skipped = {}, {}, []
    context = Context(facts, people, money, clv if callable(clv) else lambda: clv)
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
        if trigger.kind == "p_alive" and context.clv is None:
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
    texts = {key: _text_column(value, index) for key, value in evidence.items()}
    return Evaluation(
        pd.DataFrame(fired, index=index),
        pd.DataFrame(texts, index=index),
        names[rank],
        tuple(skipped),
    )


def _text_column(evidence, index: pd.Index) -> pd.Series:
    """A trigger's evidence (Arrow text, or an array of str) as a `str` column."""
    if isinstance(evidence, pa.Array | pa.ChunkedArray):
        return str_series(evidence, index)
    return pd.Series(evidence, index=index, dtype="str")
