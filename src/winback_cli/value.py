"""Customer value: ABC segments, a weighted value score, and the win-back decision.

Everything here is a pure function of the facts table (one row per customer)
and the `value:` rules. The decision `worth_winning_back` comes with its
reason in words, because the value check comes before any win-back effort
and a person must be able to see why someone was left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from winback_cli.money import money_formatter
from winback_cli.rules import Rules, ValueRules

BASIS_LABEL = {
    "revenue_per_year": "revenue per year",
    "revenue_12m": "revenue of the last 12 months",
    "peak_12m": "peak 12-month revenue",
    "margin_per_year": "margin per year",
}
REASON_WORDS = {"moved": "moved away", "closed": "business closed"}


def basis_values(table: pd.DataFrame, rules: ValueRules) -> pd.Series:
    """The value each customer is judged by (`value.basis`)."""
    column = {"peak_12m": "revenue_12m_peak"}.get(rules.basis, rules.basis)
    return table[column].astype(float)


def abc_segments(values: pd.Series, shares: dict[str, float]) -> pd.Series:
    """Segment by cumulative share of total value, largest customers first.

    A customer belongs to the first segment whose cumulative share the value
    *before* it has not yet reached, so the customer crossing 80 % is still A.

    >>> abc_segments(pd.Series([50.0, 30.0, 15.0, 5.0]), {"A": 0.8, "B": 0.15}).tolist()
    ['A', 'A', 'B', 'C']
    """
    names = list(shares)
    rest = chr(ord(names[-1]) + 1) if len(names[-1]) == 1 and names[-1].isalpha() else "rest"
    positive = values.clip(lower=0).fillna(0)
    total = positive.sum()
    order = positive.sort_values(ascending=False, kind="stable")
    before = (order.cumsum() - order) / total if total > 0 else order * 0 + 1
    limits = np.cumsum([shares[name] for name in names])
    position = np.searchsorted(limits, before.to_numpy() + 1e-12, side="left")
    labels = np.array([*names, rest], dtype=object)[np.minimum(position, len(names))]
    labels[(order <= 0).to_numpy()] = rest
    return pd.Series(labels, index=order.index).reindex(values.index).astype("str")


def value_score(table: pd.DataFrame, rules: ValueRules, has_cost: bool) -> pd.Series:
    """0-100: weighted mean of each component's percentile rank among all customers.

    Percentile ranks keep one huge customer from flattening everyone else.
    Components without data (margin when there is no cost column, clv when the
    lifetime-value model was not fitted) are left out and the remaining
    weights are rescaled.
    """
    parts, weights = [], []
    for name, weight in rules.weights.items():
        if weight <= 0 or (name == "margin_per_year" and not has_cost):
            continue
        if name == "clv" and table.get("clv", pd.Series(dtype=float)).isna().all():
            continue
        if name == "strategic":
            component = table.get("strategic", pd.Series(False, index=table.index)).astype(float)
        else:
            component = table[name].astype(float).rank(pct=True, method="average")
        parts.append(component.fillna(0) * weight)
        weights.append(weight)
    if not weights:
        return pd.Series(0.0, index=table.index)
    return (sum(parts) / sum(weights) * 100).round(1)


def decide(table: pd.DataFrame, status: pd.Series, rules: Rules) -> tuple[pd.Series, pd.Series]:
    """`worth_winning_back` (True/False, missing for active customers) and its reason."""
    value_rules = rules.value
    fmt = money_formatter(rules.locale, rules.currency)
    basis = basis_values(table, value_rules)
    label = BASIS_LABEL[value_rules.basis]
    minimum = fmt(value_rules.min_value_per_year)
    index = table.index
    worth = pd.Series(pd.NA, index=index, dtype="boolean")
    reason = pd.Series("active: no win-back needed", index=index, dtype=object)
    leaving = status != "active"
    opted_out = table.get("opt_out", pd.Series(False, index=index)).fillna(False).astype(bool)
    reasons = table.get("churn_reason", pd.Series("", index=index)).fillna("").astype("str")
    strategic = table.get("strategic", pd.Series(False, index=index)).fillna(False).astype(bool)
    lost_cause = reasons.isin(value_rules.not_worth_reasons)
    low = basis < value_rules.min_value_per_year
    shown = pd.Series("", index=index, dtype=object)
    shown[leaving] = basis[leaving].map(fmt)  # only leaving customers get a reason
    low_clv, clv_text = _below_min_clv(table, rules, fmt)
    steps = [
        (opted_out, False, pd.Series("opted out of contact", index=index)),
        (lost_cause, False, "reason: " + reasons.map(lambda r: REASON_WORDS.get(r, r))),
        (
            strategic & value_rules.strategic_always_worth,
            True,
            pd.Series("strategic customer", index=index),
        ),
        (low, False, f"below minimum value {minimum}/year ({label} " + shown + ")"),
        (low_clv, False, clv_text),
        (pd.Series(True, index=index), True, f"{label} " + shown + f" ≥ {minimum}/year"),
    ]
    decided = ~leaving.copy()
    for mask, verdict, text in steps:
        take = mask & ~decided
        worth[take] = verdict
        reason[take] = text[take]
        decided |= take
    return worth, reason.astype("str")


def _below_min_clv(table: pd.DataFrame, rules: Rules, fmt) -> tuple[pd.Series, pd.Series]:
    """Customers whose expected value (clv) is below `value.min_clv`, and the reason text.

    Customers without a CLV (model not fitted, or turned off) are not judged by it.
    """
    index = table.index
    clv = table.get("clv", pd.Series(np.nan, index=index)).astype(float)
    minimum = rules.value.min_clv
    if minimum is None:
        return pd.Series(False, index=index), pd.Series("", index=index)
    low = clv.notna() & (clv < minimum)
    text = pd.Series("", index=index, dtype=object)
    shown = pd.Series([fmt(v) for v in clv[low]], index=index[low.to_numpy()], dtype=object)
    text[low] = (
        "expected value "
        + shown
        + f" over the next {rules.clv.horizon} below minimum CLV {fmt(minimum)}"
    )
    return low, text
