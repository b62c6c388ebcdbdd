"""Customer value: ABC segments, a weighted value score, and the win-back decision.

Everything here is a pure function of the facts table (one row per customer)
and the `value:` rules. The decision `worth_winning_back` comes with its
reason in words, because the value check comes before any win-back effort
and a person must be able to see why someone was left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from winback_cli.arrowtext import concat, place, str_series
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
    positive = positive.to_numpy(dtype=float)
    order = np.argsort(-positive, kind="stable")  # largest first, ties in their order
    ordered = positive[order]
    before = (np.cumsum(ordered) - ordered) / total if total > 0 else ordered * 0 + 1
    limits = np.cumsum([shares[name] for name in names])
    position = np.searchsorted(limits, before + 1e-12, side="left")
    label = np.minimum(position, len(names))
    label[ordered <= 0] = len(names)
    labels = np.empty(len(label), dtype=np.int64)
    labels[order] = label
    # Taken in Arrow from the few segment names: no Python string per customer.
    return str_series(pa.array([*names, rest], pa.large_string()).take(labels), values.index)


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
            component = _percentile_ranks(table[name].astype(float))
        parts.append(component.fillna(0) * weight)
        weights.append(weight)
    if not weights:
        return pd.Series(0.0, index=table.index)
    return (sum(parts) / sum(weights) * 100).round(1)


def _percentile_ranks(values: pd.Series) -> pd.Series:
    """`values.rank(pct=True, method="average")`, with numpy's sort: same floats, faster.

    >>> _percentile_ranks(pd.Series([3.0, 1.0, 3.0, np.nan])).tolist()
    [0.8333333333333334, 0.3333333333333333, 0.8333333333333334, nan]
    """
    numbers = values.to_numpy(dtype=float)
    ranks = np.full(len(numbers), np.nan)
    known = np.flatnonzero(~np.isnan(numbers))
    order = np.argsort(numbers[known])  # ties get one average rank: any order will do
    ordered = numbers[known][order]
    first = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])  # where each tie starts
    last = np.r_[first[1:], len(ordered)] - 1
    tie = np.repeat(np.arange(len(first)), np.diff(np.r_[first, len(ordered)]))
    average = (first + last)[tie] / 2 + 1  # positions first..last hold ranks first+1..last+1
    ranks[known[order]] = average / len(known)
    return pd.Series(ranks, index=values.index)


def decide(table: pd.DataFrame, status: pd.Series, rules: Rules) -> tuple[pd.Series, pd.Series]:
    """`worth_winning_back` (True/False, missing for active customers) and its reason.

    The first step that holds decides: opted out, a reason that rules a win-back
    out, strategic, below the minimum value, below the minimum CLV, else worth it.
    Money is formatted only for the customers whose reason shows it.
    """
    value_rules = rules.value
    fmt = money_formatter(rules.locale, rules.currency)
    basis = basis_values(table, value_rules).to_numpy()
    label = BASIS_LABEL[value_rules.basis]
    minimum = fmt(value_rules.min_value_per_year)
    index = table.index
    reasons = _column(table, "churn_reason", "").fillna("").astype("str")
    low_clv = _below_min_clv(table, rules)
    steps = [  # (who, worth it?, reason text for rows `rows`)
        (np.asarray(status == "active"), None, lambda rows: "active: no win-back needed"),
        (_flag(table, "opt_out"), False, lambda rows: "opted out of contact"),
        (
            reasons.isin(value_rules.not_worth_reasons).to_numpy(),
            False,
            lambda rows: "reason: " + _reason_words(reasons.iloc[rows].to_numpy(object)),
        ),
        (
            _flag(table, "strategic") & value_rules.strategic_always_worth,
            True,
            lambda rows: "strategic customer",
        ),
        (
            basis < value_rules.min_value_per_year,
            False,
            lambda rows: concat(
                f"below minimum value {minimum}/year ({label} ", fmt.column(basis[rows]), ")"
            ),
        ),
        (low_clv, False, lambda rows: _clv_text(table, rules, fmt, rows)),
        (
            np.ones(len(index), dtype=bool),
            True,
            lambda rows: concat(f"{label} ", fmt.column(basis[rows]), f" ≥ {minimum}/year"),
        ),
    ]
    step = np.select([who for who, _, _ in steps], list(range(len(steps))), default=len(steps))
    worth = np.zeros(len(index), dtype=bool)
    texts = []
    for number, (_, verdict, spell) in enumerate(steps):
        rows = np.flatnonzero(step == number)
        if len(rows):
            worth[rows] = bool(verdict)
            texts.append((rows, spell(rows)))
    missing = step == 0  # active customers need no decision
    return (
        pd.Series(pd.arrays.BooleanArray(worth, missing), index=index),
        str_series(place(texts, len(index)), index),
    )


def _column(table: pd.DataFrame, name: str, default) -> pd.Series:
    return table[name] if name in table else pd.Series(default, index=table.index)


def _flag(table: pd.DataFrame, name: str) -> np.ndarray:
    return _column(table, name, False).fillna(False).astype(bool).to_numpy()


def _reason_words(reasons: np.ndarray) -> np.ndarray:
    """'moved' -> 'moved away': each distinct reason looked up once."""
    distinct, position = np.unique(reasons.astype(str), return_inverse=True)
    words = np.array([REASON_WORDS.get(r, r) for r in distinct], dtype=object)
    return words[position]


def _below_min_clv(table: pd.DataFrame, rules: Rules) -> np.ndarray:
    """Customers whose expected value (clv) is below `value.min_clv`.

    Customers without a CLV (model not fitted, or turned off) are not judged by it.
    """
    if rules.value.min_clv is None or "clv" not in table:
        return np.zeros(len(table), dtype=bool)
    clv = table["clv"].astype(float).to_numpy()
    return ~np.isnan(clv) & (clv < rules.value.min_clv)


def _clv_text(table: pd.DataFrame, rules: Rules, fmt, rows: np.ndarray) -> pa.Array:
    clv = table["clv"].astype(float).to_numpy()[rows]
    return concat(
        "expected value ",
        fmt.column(clv),
        f" over the next {rules.clv.horizon} below minimum CLV {fmt(rules.value.min_clv)}",
    )
