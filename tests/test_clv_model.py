"""Customer lifetime value maths: RFM summary, BG/NBD, MBG/NBD, Gamma-Gamma and CLV."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from winback_cli import clv_model, gamma_gamma
from winback_cli.clv_model import (
    RFM,
    Fit,
    ThinDataError,
    count_purchase_days,
    discount_schedule,
    expected_purchases,
    expected_purchases_new,
    fit_purchases,
    holdout_table,
    p_alive,
    purchase_log_likelihood,
    simulate_bgnbd,
    summarise_purchases,
    with_monetary,
)
from winback_cli.errors import InputError
from winback_cli.gamma_gamma import (
    clv,
    expected_spend,
    fit_spend,
    frequency_spend_correlation,
    simulate_spend,
    spend_log_likelihood,
)
from winback_cli.purchase_likelihood import purchase_nll
from winback_cli.spend_likelihood import spend_nll

CDNOW = {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43}  # Fader, Hardie & Lee (2005)
SPEND = {"p": 6.25, "q": 3.74, "gamma": 15.44}  # Fader, Hardie & Lee, "RFM and CLV"


def purchase_fit(model: str = "bgnbd", params: dict | None = None) -> Fit:
    return Fit(model, params or CDNOW, 0.0, True, 1, 1, "given")


def spend_fit(params: dict | None = None) -> Fit:
    return Fit("gamma_gamma", params or SPEND, 0.0, True, 1, 1, "given")


def simulated(model: str, n: int, seed: int, low: float = 27, high: float = 39, holdout=0.0):
    rng = np.random.default_rng(seed)
    T = rng.uniform(low, high, n)
    return simulate_bgnbd(n, CDNOW, T, rng, model=model, holdout_units=holdout)


def with_spend(rfm: RFM, seed: int) -> RFM:
    return with_monetary(rfm, simulate_spend(rfm.n_spend_days, SPEND, np.random.default_rng(seed)))


# --- summarise_purchases -------------------------------------------------------------


def test_summarise_purchases_hand_built_example():
    rows = pd.DataFrame(
        [  # customer, day, net value
            (0, 10, 20.0),
            (0, 10, 5.0),  # same day as the row above: one purchase day worth 25
            (0, 24, 30.0),
            (0, 38, -10.0),  # a repeat day with a net return: left out of the mean
            (0, 52, 50.0),
            (1, 93, 15.0),  # one purchase only
            (3, 3, 10.0),
            (3, 17, 6.0),
            (3, 17, -6.0),  # nets day 17 to 0: still a purchase day, left out of the mean
            (3, 120, 99.0),  # on or after as_of: ignored
        ],
        columns=["customer", "day", "value"],
    ).sample(frac=1.0, random_state=3)  # row order does not matter

    rfm = summarise_purchases(
        rows["customer"].to_numpy(), rows["day"].to_numpy(), rows["value"].to_numpy(), 4, 100
    )

    np.testing.assert_array_equal(rfm.frequency, [3, 0, 0, 1])
    np.testing.assert_allclose(rfm.recency, [42 / 7, 0, np.nan, 14 / 7])
    np.testing.assert_allclose(rfm.T, [90 / 7, 1, np.nan, 97 / 7])
    np.testing.assert_allclose(rfm.monetary, [40.0, 0.0, 0.0, 0.0])  # (30 + 50) / 2
    np.testing.assert_array_equal(rfm.n_spend_days, [2, 0, 0, 0])
    assert rfm.n_spend_days_left_out == 2
    np.testing.assert_array_equal(rfm.purchased, [True, True, False, True])


def test_summarise_purchases_in_days_and_with_no_rows():
    rfm = summarise_purchases([0, 0], [5, 8], [1.0, 2.0], 1, as_of_day=10, unit_days=1.0)
    assert (rfm.frequency[0], rfm.recency[0], rfm.T[0]) == (1, 3.0, 5.0)
    empty = summarise_purchases(np.array([], int), np.array([], int), np.array([]), 2, 10)
    assert np.isnan(empty.T).all() and empty.frequency.tolist() == [0, 0]


def test_count_purchase_days_counts_each_day_once_within_the_window():
    counts = count_purchase_days([0, 0, 0, 1, 1], [5, 5, 9, 12, 4], 3, start_day=5, end_day=12)
    np.testing.assert_array_equal(counts, [2, 0, 0])


# --- log-likelihoods against the published formulas, written out slowly ---------------


def lbeta(u: float, v: float) -> float:
    return math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v)


def slow_bgnbd_ll(p: dict, x: int, tx: float, T: float, modified: bool) -> float:
    """FHL (2005) eq. 6 / Batislam et al. (2007) eq. 3 for one customer."""
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    s = 1 if modified else 0
    rate = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha)
    alive = math.exp(rate + lbeta(a, b + x + s) - lbeta(a, b) - (r + x) * math.log(alpha + T))
    dead = 0.0
    if x > 0 or modified:
        dead = math.exp(
            rate + lbeta(a + 1, b + x + s - 1) - lbeta(a, b) - (r + x) * math.log(alpha + tx)
        )
    return math.log(alive + dead)


def slow_gamma_gamma_ll(p: dict, x: int, m: float) -> float:
    """FHL "RFM and CLV" (2005) eq. 3: density of the mean m of x purchase values."""
    pp, q, g = p["p"], p["q"], p["gamma"]
    return (
        math.lgamma(pp * x + q)
        - math.lgamma(pp * x)
        - math.lgamma(q)
        + q * math.log(g)
        + (pp * x - 1) * math.log(m)
        + pp * x * math.log(x)
        - (pp * x + q) * math.log(g + m * x)
    )


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_purchase_log_likelihood_matches_the_published_formula(model):
    rfm = simulated(model, 300, seed=11).rfm
    params = {"r": 0.7, "alpha": 3.0, "a": 1.3, "b": 4.0}
    slow = sum(
        slow_bgnbd_ll(params, int(x), tx, T, model == "mbgnbd")
        for x, tx, T in zip(rfm.frequency, rfm.recency, rfm.T, strict=True)
    )
    assert purchase_log_likelihood(params, rfm, model) == pytest.approx(slow, rel=1e-10)


def test_spend_log_likelihood_matches_the_published_formula():
    rfm = with_spend(simulated("bgnbd", 500, seed=12).rfm, seed=13)
    params = {"p": 4.0, "q": 3.0, "gamma": 20.0}
    used = rfm.n_spend_days > 0
    slow = sum(
        slow_gamma_gamma_ll(params, int(x), m)
        for x, m in zip(rfm.n_spend_days[used], rfm.monetary[used], strict=True)
    )
    assert spend_log_likelihood(params, rfm) == pytest.approx(slow, rel=1e-10)


# --- parameter recovery --------------------------------------------------------------
# Tolerances are 4 standard deviations of the relative error, measured by refitting
# 30 independent simulations of the same size (20,000 customers):
#   BG/NBD, T ~ U(27, 39) weeks:   sd r 1.6 %, alpha 2.8 %, a 6.2 %, b 8.2 %
#   MBG/NBD, T ~ U(78, 156) weeks: sd r 3.1 %, alpha 3.1 %, a 6.4 %, b 13 %
#     (dropout right after the first purchase blurs a and b; a longer window helps)
#   Gamma-Gamma, 1-5 spend days:   sd p 6.6 %, q 1.5 %, gamma 7.8 %


@pytest.mark.parametrize(
    ("model", "low", "high", "tolerance"),
    [
        ("bgnbd", 27, 39, {"r": 0.07, "alpha": 0.12, "a": 0.25, "b": 0.35}),
        ("mbgnbd", 78, 156, {"r": 0.13, "alpha": 0.13, "a": 0.26, "b": 0.52}),
    ],
)
def test_fit_purchases_recovers_known_parameters(model, low, high, tolerance):
    rfm = simulated(model, 20_000, seed=5, low=low, high=high).rfm

    fit = fit_purchases(rfm, model)

    assert fit.model == model and fit.converged
    assert fit.n_customers == 20_000
    assert fit.n_repeat_customers == np.count_nonzero(rfm.frequency)
    for name, true in CDNOW.items():
        assert fit.params[name] == pytest.approx(true, rel=tolerance[name]), name
    assert fit.log_likelihood == pytest.approx(purchase_log_likelihood(fit.params, rfm, model))


def test_fit_spend_recovers_known_parameters():
    rng = np.random.default_rng(6)
    days = rng.integers(1, 6, 20_000)
    n = days.size
    rfm = RFM(days, np.ones(n), np.full(n, 2.0), np.zeros(n), days, 0, n)
    # Values in thousands: the fit must not depend on the currency's magnitude.
    rfm = with_monetary(rfm, simulate_spend(days, SPEND, rng) * 1000)

    fit = fit_spend(rfm)

    expected = {"p": SPEND["p"], "q": SPEND["q"], "gamma": SPEND["gamma"] * 1000}
    for name, tolerance in {"p": 0.27, "q": 0.06, "gamma": 0.31}.items():
        assert fit.params[name] == pytest.approx(expected[name], rel=tolerance), name
    assert fit.log_likelihood == pytest.approx(spend_log_likelihood(fit.params, rfm))


def test_gradients_match_finite_differences():
    from scipy.optimize import check_grad

    rfm = with_spend(simulated("mbgnbd", 2000, seed=8).rfm, seed=9)
    purchases = clv_model._purchase_data(rfm)
    spend = gamma_gamma._spend_data(rfm)
    objectives = [
        (lambda lp: purchase_nll(lp, purchases, 0), [0.5, 4, 0.9, 3]),
        (lambda lp: purchase_nll(lp, purchases, 1), [0.5, 4, 0.9, 3]),
        (lambda lp: spend_nll(lp, spend), [3.0, 2.0, 10.0]),
    ]
    for objective, start in objectives:
        value, gradient = (lambda v, f=objective: f(v)[0]), (lambda v, f=objective: f(v)[1])
        assert check_grad(value, gradient, np.log(start)) < 1e-5


def test_the_likelihood_is_the_same_to_the_bit_worked_in_two_halves():
    rfm = simulated("mbgnbd", 2000, seed=3).rfm
    whole, halved = clv_model._purchase_data(rfm), clv_model._purchase_data(rfm)
    halved.parts = [slice(0, 777), slice(777, whole.x.size)]
    for s in (0, 1):
        value, gradient = purchase_nll(np.log([0.5, 4, 0.9, 3]), whole, s)
        value_2, gradient_2 = purchase_nll(np.log([0.5, 4, 0.9, 3]), halved, s)
        assert value == value_2 and gradient.tolist() == gradient_2.tolist()


# --- thin data ------------------------------------------------------------------------


def test_thin_data_is_refused_with_a_reason():
    rfm = summarise_purchases([0, 0, 1, 2], [1, 8, 3, 4], [5.0, 6.0, 7.0, 8.0], 3, 30)
    with pytest.raises(ThinDataError, match="at least 20"):
        fit_purchases(rfm)
    with pytest.raises(ThinDataError, match="at least 20"):
        fit_spend(rfm)
    assert issubclass(ThinDataError, InputError)


def test_unknown_model_is_a_programming_error():
    with pytest.raises(ValueError, match="bgnbd"):
        fit_purchases(simulated("bgnbd", 100, seed=1).rfm, model="pareto")  # type: ignore[arg-type]


# --- scoring ---------------------------------------------------------------------------

params_strategy = st.fixed_dictionaries(
    {
        "r": st.floats(0.05, 5),
        "alpha": st.floats(0.1, 50),
        "a": st.floats(0.1, 5),
        "b": st.floats(0.1, 20),
    }
)


def test_p_alive_without_repeat_purchases():
    assert p_alive(purchase_fit("bgnbd"), 0, 0.0, 30.0) == 1.0
    # MBG/NBD: the customer may have left right after the first purchase.
    assert 0 < p_alive(purchase_fit("mbgnbd"), 0, 0.0, 30.0) < 1
    assert np.isnan(p_alive(purchase_fit("bgnbd"), 0, np.nan, np.nan))


@settings(max_examples=150, deadline=None)
@given(
    params=params_strategy,
    model=st.sampled_from(["bgnbd", "mbgnbd"]),
    x=st.integers(0, 60),
    T=st.floats(0.1, 300),
    shares=st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
def test_a_longer_silence_never_raises_p_alive(params, model, x, T, shares):
    fit = purchase_fit(model, params)
    early, late = sorted(shares)
    recency = np.array([early * T, late * T]) if x else np.zeros(2)

    alive = p_alive(fit, x, recency, T)

    assert ((alive >= 0) & (alive <= 1)).all()
    assert alive[0] <= alive[1] + 1e-12


@settings(max_examples=100, deadline=None)
@given(
    params=params_strategy,
    model=st.sampled_from(["bgnbd", "mbgnbd"]),
    x=st.integers(0, 60),
    T=st.floats(0.1, 300),
    share=st.floats(0, 1),
)
def test_expected_purchases_are_non_negative_and_grow_with_the_horizon(params, model, x, T, share):
    fit = purchase_fit(model, params)
    horizons = np.array([0.0, 1.0, 4.0, 13.0, 52.0, 260.0])

    counts = np.array([expected_purchases(fit, t, x, share * T if x else 0.0, T) for t in horizons])

    assert np.isfinite(counts).all() and (counts >= 0).all()
    assert (np.diff(counts) >= -1e-9 * (1 + counts[1:])).all()


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
@pytest.mark.parametrize(
    "params",
    [
        CDNOW,
        {"r": 2.0, "alpha": 30.0, "a": 3.0, "b": 10.0},
        {"r": 0.5, "alpha": 1.0, "a": 1.0, "b": 0.5},  # a = 1: the closed form's 0/0
        {"r": 1.0, "alpha": 2.0, "a": 0.5, "b": 0.5},  # a + b = 1: another 0/0 for BG/NBD
    ],
)
def test_expected_purchases_match_numerical_integration(model, params):
    """E[Y(t)] = P(alive) * E_p[(1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p], p ~ Beta(a, b+x+s)."""
    fit = purchase_fit(model, params)
    s = int(model == "mbgnbd")
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    for x, tx, T, t in [(0, 0.0, 20.0, 10.0), (3, 15.0, 40.0, 52.0), (25, 60.0, 61.0, 5.0)]:
        integrand = lambda q, x=x, T=T, t=t: (  # noqa: E731
            -np.expm1((r + x) * np.log((alpha + T) / (alpha + T + q * t)))
            / q
            * stats.beta.pdf(q, a, b + x + s)
        )
        alive_mean = integrate.quad(integrand, 0, 1, points=[1e-4, 1e-2, 0.1], limit=200)[0]
        want = p_alive(fit, x, tx, T) * alive_mean
        assert expected_purchases(fit, t, x, tx, T) == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_expected_purchases_new_matches_simulation(model):
    rng = np.random.default_rng(21)
    repeats = simulate_bgnbd(100_000, CDNOW, 39.0, rng, model=model).rfm.frequency
    standard_error = repeats.std() / np.sqrt(repeats.size)

    predicted = expected_purchases_new(purchase_fit(model), 39.0)

    assert abs(predicted - repeats.mean()) < 4 * standard_error


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_holdout_table_compares_actual_and_predicted_by_calibration_frequency(model):
    sim = simulated(model, 20_000, seed=31, holdout=39.0)

    table = holdout_table(purchase_fit(model), sim.rfm, sim.holdout, 39.0)

    assert table.index.tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+", "total"]
    assert table.columns.tolist() == ["customers", "actual_mean", "predicted_mean"]
    assert table.loc["total", "customers"] == 20_000 == table["customers"].iloc[:-1].sum()
    # With the true parameters only sampling noise separates the two means.
    total = table.loc["total"]
    assert abs(total.actual_mean - total.predicted_mean) < 4 * sim.holdout.std() / np.sqrt(20_000)


# --- spend and CLV ---------------------------------------------------------------------


def test_expected_spend_shrinks_towards_the_population_mean():
    population = SPEND["p"] * SPEND["gamma"] / (SPEND["q"] - 1)
    spend = expected_spend(spend_fit(), [0, 1, 100], [0.0, 200.0, 200.0])
    assert spend[0] == pytest.approx(population)
    assert population < spend[1] < spend[2] < 200.0


def test_frequency_spend_correlation():
    rfm = with_spend(simulated("bgnbd", 20_000, seed=41).rfm, seed=42)
    assert abs(frequency_spend_correlation(rfm)) < 0.05
    tied = with_monetary(rfm, rfm.frequency * 10.0)
    assert frequency_spend_correlation(tied) == pytest.approx(1.0)


def test_clv_without_discount_is_purchases_times_spend_times_margin():
    rfm = with_spend(simulated("bgnbd", 1000, seed=51).rfm, seed=52)
    margin = np.linspace(0.1, 0.5, 1000)

    value = clv(purchase_fit(), spend_fit(), rfm, 52.0, 0.0, margin)

    purchases = expected_purchases(purchase_fit(), 52.0, rfm.frequency, rfm.recency, rfm.T)
    spend = expected_spend(spend_fit(), rfm.n_spend_days, rfm.monetary)
    np.testing.assert_allclose(value, purchases * spend * margin, rtol=1e-9)


def test_clv_discounting_and_horizon():
    rfm = with_spend(simulated("mbgnbd", 1000, seed=53).rfm, seed=54)
    fits = (purchase_fit("mbgnbd"), spend_fit())
    year = clv(*fits, rfm, 52.0, 0.0)
    discounted = clv(*fits, rfm, 52.0, 0.10)
    three_years = clv(*fits, rfm, 156.0, 0.10)
    assert (discounted < year).all() and (discounted > year / 1.1 - 1e-9).all()
    assert (three_years > discounted).all()


def test_clv_is_nan_for_customers_without_a_purchase():
    rfm = summarise_purchases([0, 0], [1, 8], [5.0, 6.0], 2, 30)
    value = clv(purchase_fit(), spend_fit(), rfm, 52.0, 0.1)
    assert value[0] > 0 and np.isnan(value[1])


def test_discount_schedule_uses_calendar_months():
    ends, factors = discount_schedule(24.0, 0.0, unit_days=30.4375)
    assert len(ends) == 24 and (factors == 1).all()
    assert len(discount_schedule(52.0, 0.1, steps=4)[0]) == 4


def test_docstring_examples():
    for module in (clv_model, gamma_gamma):
        assert doctest.testmod(module).failed == 0
