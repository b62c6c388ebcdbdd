"""Lifetime value from the facts: fit the purchase and spend models, score every customer.

Glue between `facts` and the model maths of `clv_model` (BG/NBD, MBG/NBD) and
`gamma_gamma` (spend, CLV). `facts` sums purchases to one net value per
customer and purchase day (`facts_reduce.purchase_days`); a return counts
against the customer's latest purchase day on or before it, so a return never
creates a purchase day, and days whose net value is zero or negative are left
out of the spend model (and counted).
`fit_clv` returns per-customer scores aligned with the facts rows plus the
fits; `holdout_check` fits on the orders before a date and compares the
predicted repeat purchases after it with the actual ones. A model that cannot
be fitted raises `ThinDataError`: the scan turns it into a note and keeps its
heuristic value, `winback clv` reports it as an error.
"""

from __future__ import annotations

import threading
from contextlib import suppress
from dataclasses import dataclass

import numpy as np
import pandas as pd

from winback_cli.clv_model import (
    RFM,
    Fit,
    ThinDataError,
    count_purchase_days,
    expected_purchases,
    fit_purchases,
    holdout_table,
    p_alive,
)
from winback_cli.durations import Duration
from winback_cli.facts import FactNeeds, Facts, compute_facts, day_of, to_days
from winback_cli.gamma_gamma import clv, expected_spend, fit_spend, frequency_spend_correlation
from winback_cli.parallel import OrderedPool
from winback_cli.rules import ClvRules

SCORE_COLUMNS = (
    "p_alive",
    "expected_purchases",
    "expected_spend",
    "clv",
    "expected_next_order",
    "average_days_between_orders",
)
# Gamma-Gamma assumes spend per purchase does not depend on how often a customer
# buys; beyond this absolute correlation the assumption is visibly broken.
STRONG_CORRELATION = 0.3
MODEL_NAMES = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "gamma_gamma": "Gamma-Gamma"}


@dataclass(frozen=True, eq=False)
class ClvResult:
    """Per-customer scores (aligned with `facts.customers`) and how the models fitted."""

    scores: pd.DataFrame  # SCORE_COLUMNS; NaN / NaT for customers without a purchase
    purchase_fit: Fit
    spend_fit: Fit
    rfm: RFM
    correlation: float  # frequency vs mean repeat spend, Pearson
    spend_days_left_out: int  # repeat purchase days with net value <= 0
    returns_left_out: int  # return lines dated before the customer's first purchase
    settings: ClvRules
    horizon: Duration
    basis: str  # "margin" or "revenue": what `clv` is counted in
    notes: tuple[str, ...]


def preload_maths() -> threading.Thread:
    """Start importing scipy (about half a second) in the background; join before fitting.

    A scan starts it before reading the orders, whose parsing mostly runs
    without the GIL, so the import costs next to nothing.
    """
    thread = threading.Thread(target=_import_maths, name="winback-import-scipy", daemon=True)
    thread.start()
    return thread


def _import_maths() -> None:
    # A failed import is raised again, where it is used, in the main thread.
    with suppress(ImportError):
        import scipy.optimize
        import scipy.special  # noqa: F401


def empty_scores(n: int) -> pd.DataFrame:
    """The score columns, empty: what the scan shows when the model could not be fitted."""
    frame = pd.DataFrame({name: np.full(n, np.nan) for name in SCORE_COLUMNS})
    frame["expected_next_order"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[s]")
    return frame


def summarise(facts: Facts, settings: ClvRules) -> tuple[RFM, int]:
    """The recency-frequency summary of the facts, and the return lines left out.

    `facts` must have been computed with the model's time unit
    (`FactNeeds(clv_unit_days=settings.unit_days)` or `FactNeeds.from_rules`).
    """
    purchases = facts.purchases
    if purchases is None or purchases.unit_days != settings.unit_days:
        raise ValueError(
            f"the facts hold no purchase summary in units of {settings.unit_days:g} days; "
            "compute them with FactNeeds(clv_unit_days=...) or FactNeeds.from_rules(rules)"
        )
    return purchases.rfm, purchases.returns_left_out


def margin_share(facts: Facts, settings: ClvRules) -> tuple[np.ndarray | float, str, list[str]]:
    """Share of each customer's revenue that is margin, the basis name, and notes."""
    if settings.value == "revenue":
        return 1.0, "revenue", []
    if not facts.has_cost:
        return 1.0, "revenue", ["clv is counted in revenue, not margin: the orders have no cost"]
    margin = facts.customers["margin_total"].to_numpy(dtype=float)
    revenue = facts.customers["revenue_total"].to_numpy(dtype=float)
    total = revenue.sum()
    overall = margin.sum() / total if total > 0 else 1.0
    # Customers without positive net revenue get the share of all customers; the
    # clip keeps a few odd rows (cost above price) from producing absurd values.
    share = np.divide(margin, revenue, out=np.full(revenue.size, overall), where=revenue > 0)
    return np.clip(share, -1.0, 1.0), "margin", []


def fit_clv(facts: Facts, settings: ClvRules, horizon: Duration | None = None) -> ClvResult:
    """Fit the purchase and spend models on `facts` and score every customer.

    Raises ThinDataError when the data is too thin or a fit does not converge.
    """
    horizon = horizon or settings.horizon
    rfm, returns_left_out = summarise(facts, settings)
    with OrderedPool() as pool:
        # The spend model is fitted beside the purchase model: its optimiser runs on
        # one thread, and the purchase fit leaves part of the second core idle.
        spending = pool.submit(fit_spend, rfm)
        purchase_fit = fit_purchases(rfm, settings.model)
        spend_fit = spending.result()
    share, basis, notes = margin_share(facts, settings)
    scores = _scores(facts, rfm, purchase_fit, spend_fit, settings, horizon, share)
    return ClvResult(
        scores=scores,
        purchase_fit=purchase_fit,
        spend_fit=spend_fit,
        rfm=rfm,
        correlation=frequency_spend_correlation(rfm),
        spend_days_left_out=rfm.n_spend_days_left_out,
        returns_left_out=returns_left_out,
        settings=settings,
        horizon=horizon,
        basis=basis,
        notes=tuple(notes),
    )


def try_fit_clv(facts: Facts, settings: ClvRules) -> tuple[ClvResult | None, tuple[str, ...]]:
    """`fit_clv` for the scan: None and a note instead of an error when data is thin."""
    try:
        result = fit_clv(facts, settings)
    except ThinDataError as error:
        return None, (
            f"lifetime value not computed ({error}); the CLV columns stay empty, "
            "p_alive triggers are skipped and value uses the scan's own figures",
        )
    return result, result.notes


def _scores(
    facts: Facts,
    rfm: RFM,
    purchase_fit: Fit,
    spend_fit: Fit,
    settings: ClvRules,
    horizon: Duration,
    share: np.ndarray | float,
) -> pd.DataFrame:
    unit = settings.unit_days
    units = horizon.approx_days / unit
    x, tx, T = rfm.frequency, rfm.recency, rfm.T
    bought = rfm.purchased
    spend = np.where(bought, expected_spend(spend_fit, rfm.n_spend_days, rfm.monetary), np.nan)
    # 1 / E[rate | alive]: the rate posterior of a live customer is Gamma(r + x, alpha + T).
    params = purchase_fit.params
    gap_days = (params["alpha"] + T) / (params["r"] + x) * unit
    last = facts.customers["last_order"].to_numpy().astype("datetime64[D]")
    due = last + np.round(np.nan_to_num(gap_days)).astype("timedelta64[D]")
    with OrderedPool() as pool:
        # Three independent sets of special functions, which release the GIL.
        alive = pool.submit(p_alive, purchase_fit, x, tx, T)
        purchases = pool.submit(expected_purchases, purchase_fit, units, x, tx, T)
        value = clv(purchase_fit, spend_fit, rfm, units, settings.discount_rate, share, unit)
        alive, purchases = alive.result(), purchases.result()
    return pd.DataFrame(
        {
            "p_alive": alive,
            "expected_purchases": purchases,
            "expected_spend": spend,
            "clv": value,
            "expected_next_order": pd.Series(
                np.where(bought, due, np.datetime64("NaT")), index=facts.customers.index
            ).astype("datetime64[s]"),
            "average_days_between_orders": gap_days,
        },
        index=facts.customers.index,
    )


def correlation_warning(correlation: float) -> str | None:
    """A sentence for a person when frequency and spend are strongly correlated."""
    if not np.isfinite(correlation) or abs(correlation) <= STRONG_CORRELATION:
        return None
    direction = "more" if correlation > 0 else "less"
    return (
        f"frequency and spend per purchase are correlated (r = {correlation:.2f}): customers "
        f"who buy more often spend {direction} per purchase. The spend model assumes the two "
        "are independent, so expected spend is pulled too far towards the average and the CLV "
        "of the most and least frequent buyers is less reliable."
    )


@dataclass(frozen=True, eq=False)
class HoldoutResult:
    """Predicted vs actual repeat purchases after `start`, from a fit on orders before it."""

    table: pd.DataFrame  # clv_model.holdout_table: by calibration frequency 0..6, 7+, total
    fit: Fit
    start: pd.Timestamp
    end: pd.Timestamp
    units: float
    new_customers: int  # first bought in the holdout period: not part of the comparison


def holdout_check(
    frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, settings: ClvRules
) -> HoldoutResult:
    """Fit on order rows before `start`; compare with purchase days in [start, end)."""
    facts, ids = compute_facts(frame, start, FactNeeds(clv_unit_days=settings.unit_days))
    rfm, _ = summarise(facts, settings)
    fit = fit_purchases(rfm, settings.model)
    dates = frame["order_date"]
    later = frame.loc[(frame["amount"] >= 0) & (dates >= start) & (dates < end)]
    codes = ids.get_indexer(later["customer_id"].astype("str"))
    known = codes >= 0
    actual = count_purchase_days(
        codes[known], to_days(later["order_date"])[known], len(ids), day_of(start), day_of(end)
    )
    units = (end - start).days / settings.unit_days
    table = holdout_table(fit, rfm, actual, units)
    new = later["customer_id"][~known].nunique()
    return HoldoutResult(table, fit, start, end, units, int(new))


def rounded(scores: pd.DataFrame) -> pd.DataFrame:
    """Scores as shown in tables and files: money in cents, probabilities to 4 places."""
    digits = {
        "p_alive": 4,
        "expected_purchases": 3,
        "expected_spend": 2,
        "clv": 2,
        "average_days_between_orders": 1,
    }
    return scores.round(digits)
