"""Value scoring: ABC segments, the value score and the win-back decision."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from winback_cli.rules import Rules
from winback_cli.value import abc_segments, decide, value_score


def test_abc_segments_by_cumulative_share():
    values = pd.Series([5.0, 50.0, 15.0, 30.0], index=list("wxyz"))
    assert abc_segments(values, {"A": 0.8, "B": 0.15}).to_dict() == {
        "w": "C",
        "x": "A",
        "y": "B",
        "z": "A",
    }


def test_customers_without_value_are_in_the_last_segment():
    values = pd.Series([100.0, 0.0, -20.0])
    assert abc_segments(values, {"A": 0.8, "B": 0.15}).tolist() == ["A", "C", "C"]


@given(st.lists(st.floats(min_value=-1e6, max_value=1e9, allow_nan=False), min_size=1, max_size=60))
def test_segments_never_rank_a_smaller_customer_higher(values):
    series = pd.Series(values)
    segments = abc_segments(series, {"A": 0.8, "B": 0.15})
    order = series.sort_values(ascending=False, kind="stable").index
    assert segments[order].is_monotonic_increasing


def _table(**columns) -> pd.DataFrame:
    base = {
        "revenue_12m": [100.0, 200.0, 300.0],
        "revenue_per_year": [150.0, 250.0, 900.0],
        "orders": [1, 2, 3],
        "tenure_years": [1.0, 2.0, 3.0],
        "revenue_12m_peak": [100.0, 200.0, 300.0],
    }
    base.update(columns)
    return pd.DataFrame(base)


@given(st.lists(st.floats(min_value=0, max_value=1e7), min_size=3, max_size=3))
def test_value_score_is_between_0_and_100(revenues):
    table = _table(revenue_per_year=revenues, strategic=[True, False, False])
    score = value_score(table, Rules().value, has_cost=False)
    assert score.between(0, 100).all()


def test_value_score_leaves_out_margin_without_cost_data():
    table = _table()
    score = value_score(table, Rules().value, has_cost=False)
    assert score.tolist() == sorted(score.tolist())
    assert score.iloc[2] == 85.7  # top rank everywhere but not strategic: 0.6 of 0.7


def test_decision_order_opt_out_then_reason_then_strategic_then_value():
    table = _table(
        opt_out=[True, False, False],
        churn_reason=["", "moved", ""],
        strategic=[False, False, False],
    )
    status = pd.Series(["churned", "churned", "at_risk"])
    worth, reason = decide(table, status, Rules(locale="de_DE"))
    assert worth.tolist() == [False, False, True]
    assert reason.tolist() == [
        "opted out of contact",
        "reason: moved away",
        "revenue per year 900,00\xa0€ ≥ 200,00\xa0€/year",
    ]


def test_low_value_is_not_worth_it_unless_strategic():
    table = _table(strategic=[True, False, False])
    status = pd.Series(["churned", "churned", "active"])
    worth, reason = decide(table, status, Rules())
    assert worth.tolist()[:2] == [True, True] or worth.tolist()[:2] == [True, True]
    assert reason[0] == "strategic customer"
    assert pd.isna(worth[2]) and reason[2] == "active: no win-back needed"
    table = _table(strategic=[False, False, False], revenue_per_year=[150.0, 250.0, 1.0])
    worth, reason = decide(table, pd.Series(["churned"] * 3), Rules())
    assert worth.tolist() == [False, True, False]
    assert reason[0] == "below minimum value €200.00/year (revenue per year €150.00)"
