"""Gamma-Gamma spend model and the customer lifetime value built on it.

The Gamma-Gamma model of Fader, Hardie & Lee (2005, "RFM and CLV") says a
customer's purchase values are Gamma(p, nu) with nu ~ Gamma(q, gamma) across
customers, independent of how often they buy. `fit_spend` fits it by maximum
likelihood on customers with repeat spend; `expected_spend` shrinks each
customer's mean towards the population mean; `clv` multiplies the discounted
expected purchases of a BG/NBD or MBG/NBD fit (`clv_model`) by expected spend
and margin; the likelihood is in `spend_likelihood`. All functions are
vectorised and pure.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from winback_cli.clv_model import (
    MIN_REPEAT_CUSTOMERS,
    RFM,
    Fit,
    ThinDataError,
    discount_schedule,
    discounted_purchases,
    minimise_log_params,
)
from winback_cli.spend_likelihood import SpendData, spend_data, spend_nll

NAMES = ("p", "q", "gamma")


def _spend_data(rfm: RFM) -> SpendData:
    """Customers with repeat spend: spend-day count x, mean m, and x's distinct values."""
    used = (rfm.n_spend_days > 0) & (rfm.monetary > 0)
    x = rfm.n_spend_days[used].astype(np.float64)
    return spend_data(x, rfm.monetary[used].astype(np.float64))


def spend_log_likelihood(params: dict[str, float], rfm: RFM) -> float:
    """Total Gamma-Gamma log-likelihood of the customers with repeat spend."""
    data = _spend_data(rfm)
    logp = np.log([params[k] for k in NAMES])
    return -spend_nll(logp, data)[0] * data.x.size


def fit_spend(rfm: RFM) -> Fit:
    """Fit Gamma-Gamma to customers with repeat spend; ThinDataError if it cannot be done.

    Values are rescaled by their mean while fitting, so the fit does not depend on
    the currency's magnitude. A fit with q <= 1 (infinite mean spend) is refused.
    """
    data = _spend_data(rfm)
    x, m = data.x, data.m
    if x.size < MIN_REPEAT_CUSTOMERS:
        raise ThinDataError(
            f"Only {x.size} customers have repeat purchases with positive value; the spend "
            f"model needs at least {MIN_REPEAT_CUSTOMERS}. Use a longer order history."
        )
    scale = float(m.mean())
    data = spend_data(x, m / scale)
    # With the mean scaled to 1 and mean = p*gamma/(q-1), start at gamma = (q-1)/p.
    starts = [np.log([p0, q0, (q0 - 1) / p0]) for p0, q0 in ((2, 3), (1, 2), (6, 4))]
    res, message = minimise_log_params(lambda lp: spend_nll(lp, data), starts, NAMES)
    if res is None:
        raise ThinDataError(f"The spend model did not converge on {x.size} customers ({message}).")
    p, q, gamma = np.exp(res.x)
    if q <= 1:
        raise ThinDataError(
            f"The spend model fitted q = {q:.3f} <= 1 on {x.size} customers, which means an "
            "unbounded average spend; a few extreme order values may dominate the data."
        )
    # The density of m is per currency unit: rescaling adds -log(scale) per customer.
    ll = -res.fun * x.size - x.size * np.log(scale)
    params = {"p": float(p), "q": float(q), "gamma": float(gamma * scale)}
    n_bought = int(np.count_nonzero(rfm.purchased))
    return Fit("gamma_gamma", params, float(ll), True, n_bought, int(x.size), message)


def expected_spend(fit: Fit, frequency: ArrayLike, monetary: ArrayLike) -> np.ndarray:
    """Expected value of a future purchase day: (gamma + m*x) * p / (p*x + q - 1).

    `frequency` is the number of days that `monetary` averages (RFM.n_spend_days).
    Customers without repeat spend (x = 0 or m <= 0) get the population mean
    p*gamma/(q-1).

    >>> fit = Fit("gamma_gamma", {"p": 6.25, "q": 3.74, "gamma": 15.44}, 0.0, True, 1, 1, "")
    >>> expected_spend(fit, [0, 1, 10], [0.0, 50.0, 50.0]).round(2).tolist()
    [35.22, 45.49, 49.38]
    """
    p, q, gamma = (fit.params[k] for k in NAMES)
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary, dtype=np.float64)
    x = np.where(m > 0, x, 0.0)
    return (gamma + m * x) * p / (p * x + q - 1)


def frequency_spend_correlation(rfm: RFM) -> float:
    """Pearson correlation of frequency and mean spend over repeat customers (NaN if < 2).

    Gamma-Gamma assumes spend does not depend on frequency; a correlation far
    from 0 (say above 0.3 in absolute value) is a reason to distrust it.
    """
    used = (rfm.frequency > 0) & (rfm.monetary > 0)
    if np.count_nonzero(used) < 2:
        return float("nan")
    f, m = rfm.frequency[used].astype(np.float64), rfm.monetary[used]
    if f.std() == 0 or m.std() == 0:
        return float("nan")
    return float(np.corrcoef(f, m)[0, 1])


def clv(
    purchase_fit: Fit,
    spend_fit: Fit,
    rfm: RFM,
    horizon_units: float,
    yearly_discount_rate: float,
    margin_share: ArrayLike = 1.0,
    unit_days: float = 7.0,
    steps: int | None = None,
) -> np.ndarray:
    """Discounted expected margin over the horizon, per customer (NaN without a purchase).

    clv = sum over steps k of (E[Y(t_k)] - E[Y(t_(k-1))]) * (1+rate)^-(t_k in years)
    * expected_spend * margin_share, where E[Y(t)] is the conditional expected
    number of purchases in the next t units and steps are calendar months unless
    `steps` is given (see `clv_model.discount_schedule`).
    """
    ends, factors = discount_schedule(horizon_units, yearly_discount_rate, unit_days, steps)
    purchases = discounted_purchases(purchase_fit, ends, factors, rfm)
    spend = expected_spend(spend_fit, rfm.n_spend_days, rfm.monetary)
    return purchases * spend * np.asarray(margin_share, dtype=np.float64)


def simulate_spend(
    frequency: ArrayLike, params: dict[str, float], rng: np.random.Generator
) -> np.ndarray:
    """Mean value of `frequency` Gamma-Gamma purchase days per customer (0 where frequency 0)."""
    x = np.asarray(frequency, dtype=np.int64)
    nu = rng.gamma(params["q"], 1.0 / params["gamma"], x.size)
    # The mean of x Gamma(p, nu) values is Gamma(p*x, nu*x).
    has = x > 0
    out = np.zeros(x.size)
    out[has] = rng.gamma(params["p"] * x[has], 1.0 / (nu[has] * x[has]))
    return out
