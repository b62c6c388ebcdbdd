"""Lifetime value wired into winback: facts to scores, the scan fallback, p_alive, value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter
from scipy import integrate, stats

from winback_cli.clv import (
    SCORE_COLUMNS,
    correlation_warning,
    fit_clv,
    holdout_check,
    summarise,
    try_fit_clv,
)
from winback_cli.clv_model import Fit, ThinDataError, expected_purchases
from winback_cli.durations import Duration
from winback_cli.errors import RulesError
from winback_cli.facts import FactNeeds, compute_facts
from winback_cli.gamma_gamma import clv as clv_formula
from winback_cli.rules import ClvRules, Rules, Trigger, load_rules, rules_from_doc
from winback_cli.scan import ScanOptions, run_scan
from winback_cli.triggers import evaluate
from winback_cli.value import decide, value_score
from winback_cli.yaml_source import load_yaml_text

START = pd.Timestamp("2023-01-01")
AS_OF = pd.Timestamp("2025-01-01")
WEEKS, DAYS = FactNeeds(clv_unit_days=7.0), FactNeeds(clv_unit_days=1.0)


def orders(*rows: tuple) -> pd.DataFrame:
    """Rows of (customer_id, date, amount[, cost])."""
    frame = pd.DataFrame(
        [
            {
                "customer_id": customer,
                "order_date": pd.Timestamp(date),
                "amount": float(amount),
                "order_id": f"O{number}",
                **({"cost": float(rest[0])} if rest else {}),
            }
            for number, (customer, date, amount, *rest) in enumerate(rows)
        ]
    )
    frame["order_date"] = frame["order_date"].astype("datetime64[s]")
    return frame


def simulated_orders(n: int = 300, seed: int = 7, cost_share: float | None = 0.6) -> pd.DataFrame:
    """Order rows of MBG/NBD-like customers: Poisson buying, dropout after any purchase."""
    rng = np.random.default_rng(seed)
    horizon = (AS_OF - START).days
    records = []
    for customer in range(n):
        rate, dropout = rng.gamma(2.0, 1 / 60), rng.beta(1.0, 8.0)
        spend_scale = rng.gamma(4.0, 25.0)
        day = float(rng.integers(0, horizon - 30))
        while day < horizon:
            records.append((f"C{customer:04d}", int(day), rng.gamma(6.0, spend_scale / 6)))
            if rng.random() < dropout:
                break
            day += rng.exponential(1 / rate)
    frame = pd.DataFrame(records, columns=["customer_id", "day", "amount"])
    frame["order_date"] = (START + pd.to_timedelta(frame.pop("day"), unit="D")).astype(
        "datetime64[s]"
    )
    frame["order_id"] = [f"O{i}" for i in range(len(frame))]
    if cost_share is not None:
        frame["cost"] = frame["amount"] * cost_share
    return frame


def rules(text: str) -> Rules:
    return rules_from_doc(load_yaml_text(text, "rules.yaml"))


# --- facts to purchase days ------------------------------------------------------------


def test_returns_count_against_the_latest_purchase_day_and_never_make_one():
    frame = orders(
        ("A", "2024-01-10", 100),
        ("A", "2024-02-10", 50),
        ("A", "2024-02-20", -50),  # nets 2024-02-10 to zero
        ("A", "2024-03-10", 80),
        ("B", "2024-01-05", -20),  # before B's first purchase: left out
        ("B", "2024-01-15", 60),
    )
    facts, ids = compute_facts(frame, AS_OF, FactNeeds(clv_unit_days=1.0))
    rfm, left_out = summarise(facts, ClvRules(time_unit="day"))
    assert ids.tolist() == ["A", "B"]
    # A bought on three days; the netted-out one is a repeat day without spend.
    assert rfm.frequency.tolist() == [2, 0]
    assert rfm.recency.tolist() == [60.0, 0.0]
    assert rfm.T.tolist() == [(AS_OF - pd.Timestamp(d)).days for d in ("2024-01-10", "2024-01-15")]
    assert rfm.n_spend_days.tolist() == [1, 0] and rfm.monetary.tolist() == [80.0, 0.0]
    assert rfm.n_spend_days_left_out == 1
    assert left_out == 1


def test_the_model_needs_facts_computed_in_its_time_unit():
    facts, _ = compute_facts(orders(("A", "2024-01-10", 100)), AS_OF)
    with pytest.raises(ValueError, match="no purchase summary"):
        summarise(facts, ClvRules())
    weekly, _ = compute_facts(orders(("A", "2024-01-10", 100)), AS_OF, FactNeeds(clv_unit_days=7))
    with pytest.raises(ValueError, match="units of 1 days"):
        summarise(weekly, ClvRules(time_unit="day"))


def test_fit_clv_scores_every_customer_in_the_facts_order():
    frame = simulated_orders()
    facts, ids = compute_facts(frame, AS_OF, WEEKS)
    result = fit_clv(facts, ClvRules())
    scores = result.scores
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert len(scores) == len(ids)
    assert scores["p_alive"].between(0, 1).all()
    assert (scores["expected_purchases"] >= 0).all() and (scores["clv"] >= 0).all()
    assert result.purchase_fit.model == "mbgnbd" and result.spend_fit.model == "gamma_gamma"
    assert result.basis == "margin" and result.notes == ()
    # The next order is due one estimated gap after the last one.
    gap = pd.to_timedelta(scores["average_days_between_orders"].round(), unit="D")
    assert (facts.customers["last_order"] + gap == scores["expected_next_order"]).all()
    # clv is the Gamma-Gamma CLV at each customer's own margin share (40 % here).
    expected = clv_formula(result.purchase_fit, result.spend_fit, result.rfm, 365.25 / 7, 0.10)
    np.testing.assert_allclose(scores["clv"], 0.4 * expected, rtol=1e-9)


def test_without_cost_clv_is_revenue_and_a_note_says_so():
    facts, _ = compute_facts(simulated_orders(cost_share=None), AS_OF, DAYS)
    result = fit_clv(facts, ClvRules(time_unit="day", horizon=Duration(6, "mo")))
    assert result.basis == "revenue"
    assert "no cost" in result.notes[0]
    assert result.horizon == Duration(6, "mo")


def test_thin_data_raises_for_the_command_and_becomes_a_note_for_the_scan():
    facts, _ = compute_facts(
        orders(("A", "2024-01-10", 100), ("A", "2024-05-10", 90)), AS_OF, WEEKS
    )
    with pytest.raises(ThinDataError, match="at least 20"):
        fit_clv(facts, ClvRules())
    result, notes = try_fit_clv(facts, ClvRules())
    assert result is None
    assert "lifetime value not computed" in notes[0]


def test_a_scan_on_thin_data_goes_on_without_clv(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,order_date,amount\nA,2024-01-10,100\nA,2024-06-10,90\nB,2024-03-01,40\n"
    )
    bundled, _ = load_rules(None)
    settings = bundled.model_copy(
        update={"value": bundled.value.model_copy(update={"min_clv": 50})}
    )
    result = run_scan(ScanOptions(orders=(str(path),), rules=settings, rules_source="bundled"))
    notes = "\n".join(result.notes)
    assert "lifetime value not computed" in notes
    assert "'gone_quiet' (p_alive) skipped" in notes
    assert "min_clv was not applied" in notes
    assert result.table[list(SCORE_COLUMNS)].isna().all().all()
    assert (
        list(result.table.columns).index("p_alive")
        == list(result.table.columns).index("median_gap_days") + 1
    )


def test_a_turned_off_model_leaves_the_columns_empty(tmp_path):
    path = tmp_path / "orders.csv"
    simulated_orders(n=60).to_csv(path, index=False)
    result = run_scan(
        ScanOptions((str(path),), rules("clv:\n  enabled: false\n"), "rules.yaml", as_of=AS_OF)
    )
    assert result.table["clv"].isna().all()
    assert not any("lifetime value" in note for note in result.notes)


def test_holdout_check_compares_predicted_and_actual_repeat_purchases():
    frame = simulated_orders(n=400, seed=3)
    check = holdout_check(frame, pd.Timestamp("2024-07-01"), AS_OF, ClvRules())
    table = check.table
    assert table.index.tolist() == [*map(str, range(7)), "7+", "total"]
    total = table.loc["total"]
    assert total["customers"] == table["customers"].iloc[:-1].sum()
    # The simulation follows the model: the prediction is within a fifth of the truth.
    assert total["predicted_mean"] == pytest.approx(total["actual_mean"], rel=0.2)
    assert check.units == pytest.approx(184 / 7)


def test_correlation_warning_only_when_strong():
    assert correlation_warning(0.1) is None and correlation_warning(float("nan")) is None
    assert "independent" in correlation_warning(-0.45)


# --- the p_alive trigger ---------------------------------------------------------------


def test_p_alive_trigger_fires_below_its_limit_with_the_due_date_as_evidence():
    facts, ids = compute_facts(simulated_orders(), AS_OF, WEEKS)
    scores = fit_clv(facts, ClvRules()).scores
    trigger = TypeAdapter(Trigger).validate_python(
        {"id": "quiet", "kind": "p_alive", "below": "30%"}
    )
    people = pd.DataFrame({"_known": np.zeros(len(ids), dtype=bool)})
    result = evaluate([trigger], facts, people, customer_source=None, clv=scores)
    fired = result.fired["quiet"].to_numpy()
    np.testing.assert_array_equal(fired, scores["p_alive"].to_numpy() < 0.3)
    assert 0 < fired.sum() < len(ids)
    assert set(result.status[fired]) == {"at_risk"}
    first = int(np.flatnonzero(fired)[0])
    row = scores.iloc[first]
    assert result.evidence["quiet"].iloc[first] == (
        f"probability still active {round(row['p_alive'] * 100)}% (limit 30%); "
        f"expected next order {row['expected_next_order'].date()}"
    )


def test_scores_given_as_a_function_are_fetched_only_for_a_p_alive_trigger():
    # The scan fits the model on another thread and hands over a function that waits for it.
    facts, ids = compute_facts(simulated_orders(), AS_OF, WEEKS)
    scores = fit_clv(facts, ClvRules()).scores
    specs = ({"id": "quiet", "kind": "p_alive"}, {"id": "gone", "kind": "inactive", "for": "8w"})
    quiet, gone = (TypeAdapter(Trigger).validate_python(spec) for spec in specs)
    people = pd.DataFrame({"_known": np.zeros(len(ids), dtype=bool)})
    calls = []

    def later():
        calls.append(1)
        return scores

    evaluate([gone], facts, people, customer_source=None, clv=later)
    assert calls == []
    lazy = evaluate([gone, quiet], facts, people, customer_source=None, clv=later)
    plain = evaluate([gone, quiet], facts, people, customer_source=None, clv=scores)
    assert calls
    pd.testing.assert_frame_equal(lazy.fired, plain.fired)
    pd.testing.assert_frame_equal(lazy.evidence, plain.evidence)
    skipped = evaluate([quiet], facts, people, customer_source=None, clv=lambda: None)
    assert "no lifetime-value model" in skipped.skipped[0]


def test_p_alive_trigger_is_skipped_without_a_model():
    facts, ids = compute_facts(orders(("A", "2024-01-10", 100)), AS_OF)
    trigger = TypeAdapter(Trigger).validate_python({"id": "quiet", "kind": "p_alive"})
    people = pd.DataFrame({"_known": np.zeros(len(ids), dtype=bool)})
    result = evaluate([trigger], facts, people, customer_source=None, clv=None)
    assert "quiet" not in result.fired.columns
    assert "no lifetime-value model" in result.skipped[0]


# --- rules, value score and decision ---------------------------------------------------


def test_clv_rules_defaults_and_validation():
    settings = Rules().clv
    assert (settings.model, settings.time_unit, settings.enabled) == ("mbgnbd", "week", True)
    assert settings.horizon == Duration(12, "mo") and settings.discount_rate == 0.10
    assert rules("clv:\n  time_unit: month\n").clv.unit_days == pytest.approx(30.4375)
    with pytest.raises(RulesError, match="line 2"):
        rules("clv:\n  model: pareto\n")
    with pytest.raises(RulesError):
        rules("clv:\n  horizon: 12\n")


def _table(**columns) -> pd.DataFrame:
    base = {
        "revenue_per_year": [900.0, 250.0, 300.0],
        "revenue_12m": [900.0, 250.0, 300.0],
        "orders": [3, 2, 1],
        "tenure_years": [1.0, 2.0, 3.0],
        "clv": [10.0, 500.0, 80.0],
    }
    return pd.DataFrame({**base, **columns})


def test_clv_is_a_value_score_component_left_out_without_a_model():
    settings = rules("value:\n  weights: {clv: 1, revenue_per_year: 1}\n").value
    score = value_score(_table(), settings, has_cost=False)
    assert score.tolist() == [66.7, 66.7, 66.7]
    only_clv = rules("value:\n  weights: {clv: 1}\n").value
    assert value_score(_table(), only_clv, has_cost=False).tolist() == [33.3, 100.0, 66.7]
    without = value_score(_table(clv=[np.nan] * 3), settings, has_cost=False)
    assert (
        without.tolist()
        == value_score(
            _table(), rules("value:\n  weights: {revenue_per_year: 1}\n").value, has_cost=False
        ).tolist()
    )


def test_min_clv_rules_out_customers_expected_to_bring_too_little():
    settings = rules("locale: en_US\nvalue:\n  min_clv: 100\n")
    table = _table(clv=[10.0, 500.0, np.nan])
    worth, reason = decide(table, pd.Series(["churned"] * 3), settings)
    assert worth.tolist() == [False, True, True]
    assert reason[0] == "expected value €10.00 over the next 12mo below minimum CLV €100.00"
    assert reason[2].startswith("revenue per year")


# --- numerics of the model on a near-homogeneous fit -----------------------------------


def test_expected_purchases_stay_finite_when_dropout_is_nearly_the_same_for_all():
    # A real fit on the 1m-order benchmark export: a and b both in the thousands,
    # where Euler's form of the hypergeometric term overflows.
    params = {"r": 4.234, "alpha": 21.59, "a": 1683.5, "b": 206155.0}
    fit = Fit("mbgnbd", params, 0.0, True, 1, 1, "given")
    x, T, t = np.array([4.0, 300.0, 2000.0]), np.array([25.6, 100.0, 150.0]), 52.0
    found = expected_purchases(fit, t, x, x * 0 + T * 0.9, T)
    assert np.isfinite(found).all()
    for xi, Ti, value in zip(x, T, found / _p_alive_mbg(params, x, T * 0.9, T), strict=True):
        beta = stats.beta(params["a"], params["b"] + xi + 1)

        def integrand(p, xi=xi, Ti=Ti, beta=beta):
            return (
                (1 - (1 + p * t / (params["alpha"] + Ti)) ** -(params["r"] + xi)) / p * beta.pdf(p)
            )

        reference = integrate.quad(integrand, beta.ppf(1e-12), beta.ppf(1 - 1e-12), limit=200)[0]
        assert value == pytest.approx(reference, rel=1e-5)


def _p_alive_mbg(params: dict, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    odds = a / (b + x) * ((alpha + T) / (alpha + tx)) ** (r + x)
    return 1 / (1 + odds)
