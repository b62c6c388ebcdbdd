"""Purchase models for customer lifetime value: BG/NBD and MBG/NBD, fitted and scored.

`summarise_purchases` turns one row per customer per purchase day into the
recency-frequency summary (RFM) that the models read. `fit_purchases` fits the
BG/NBD model of Fader, Hardie & Lee (2005, "Counting your customers the easy
way") or the MBG/NBD variant of Batislam, Denizel & Filiztekin (2007), in which
a customer may also drop out right after the first purchase, by maximum
likelihood. `p_alive` and `expected_purchases` score customers;
`discounted_purchases` gives the discounted expected purchases that the CLV in
`gamma_gamma` multiplies by spend; the likelihood is in `purchase_likelihood`.
Time is counted in *units* of `unit_days` days (weeks by default); every
function here is vectorised and pure. scipy is imported where it is used: it
takes about half a second, which `clv.preload_maths` spends in the background
while a scan reads its orders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from winback_cli.errors import InputError
from winback_cli.purchase_likelihood import PurchaseData, purchase_data, purchase_nll

if TYPE_CHECKING:
    from scipy import optimize

PurchaseModel = Literal["bgnbd", "mbgnbd"]
# Below this many repeat customers the four parameters are poorly identified
# (fits then often run to a bound); the caller falls back to heuristics.
MIN_REPEAT_CUSTOMERS = 20
# Log-parameters are bounded to exp(+-LOG_BOUND); a fit that ends near a bound
# has not found an interior optimum and is treated as not converged.
LOG_BOUND = 18.0
DAYS_PER_YEAR = 365.25


class ThinDataError(InputError):
    """Too little data to fit a model, or the fit did not converge: use heuristics."""


@dataclass(frozen=True, eq=False)
class RFM:
    """Per-customer purchase summary, arrays indexed by customer code 0..n_customers-1.

    Customers without any purchase before `as_of` have frequency 0 and NaN
    recency and T (`purchased` is False): fits skip them and their scores are NaN.
    `n_spend_days` counts the repeat days that enter `monetary` (net value > 0).
    """

    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    monetary: np.ndarray
    n_spend_days: np.ndarray
    n_spend_days_left_out: int
    n_customers: int

    @property
    def purchased(self) -> np.ndarray:
        """Boolean mask of customers with at least one purchase day."""
        return np.isfinite(self.T)


@dataclass(frozen=True)
class Fit:
    """A maximum-likelihood fit: model name, parameters and how it went."""

    model: str
    params: dict[str, float]
    log_likelihood: float
    converged: bool
    n_customers: int
    n_repeat_customers: int
    message: str


def summarise_purchases(
    customer: ArrayLike,
    day: ArrayLike,
    value: ArrayLike,
    n_customers: int,
    as_of_day: int,
    unit_days: float = 7.0,
) -> RFM:
    """Reduce purchase days to frequency, recency, T and repeat-day mean value.

    Rows on or after `as_of_day` are ignored (they belong to a later period).
    Rows with the same customer and day are one purchase day, their values summed.
    """
    customer = np.asarray(customer, dtype=np.int64)
    day = np.asarray(day, dtype=np.int64)
    value = np.asarray(value, dtype=np.float64)
    if not customer.shape == day.shape == value.shape or customer.ndim != 1:
        raise ValueError("customer, day and value must be 1-d arrays of one length")
    if customer.size and (customer.min() < 0 or customer.max() >= n_customers):
        raise ValueError(f"customer codes must lie in 0..{n_customers - 1}")
    if not np.isfinite(value).all():
        raise ValueError("value must be finite (no NaN or inf)")
    keep = day < as_of_day
    order = np.lexsort((day[keep], customer[keep]))
    c, d, v = customer[keep][order], day[keep][order], value[keep][order]
    new_day = np.ones(c.size, dtype=bool)
    new_day[1:] = (c[1:] != c[:-1]) | (d[1:] != d[:-1])
    starts = np.flatnonzero(new_day)
    v = np.add.reduceat(v, starts) if starts.size else v
    return summarise_purchase_days(c[starts], d[starts], v, n_customers, as_of_day, unit_days)


def summarise_purchase_days(
    customer: np.ndarray,
    day: np.ndarray,
    value: np.ndarray,
    n_customers: int,
    as_of_day: int,
    unit_days: float = 7.0,
) -> RFM:
    """`summarise_purchases` of rows already distinct and sorted by (customer, day)."""
    days = np.bincount(customer, minlength=n_customers)
    bought = days > 0
    first_at = (np.cumsum(days) - days)[bought]
    first, last = np.full(n_customers, np.nan), np.full(n_customers, np.nan)
    first[bought], last[bought] = day[first_at], day[first_at + days[bought] - 1]
    spend = value > 0
    spend[first_at] = False  # the first purchase day is not a repeat
    n_spend = np.bincount(customer[spend], minlength=n_customers)
    total = np.bincount(customer[spend], weights=value[spend], minlength=n_customers)
    return RFM(
        frequency=np.maximum(days - 1, 0).astype(np.int64),
        recency=(last - first) / unit_days,
        T=(as_of_day - first) / unit_days,
        monetary=np.divide(total, n_spend, out=np.zeros(n_customers), where=n_spend > 0),
        n_spend_days=n_spend.astype(np.int64),
        n_spend_days_left_out=int(len(day) - len(first_at) - n_spend.sum()),
        n_customers=n_customers,
    )


def count_purchase_days(
    customer: ArrayLike, day: ArrayLike, n_customers: int, start_day: int, end_day: int
) -> np.ndarray:
    """Distinct purchase days per customer in [start_day, end_day), e.g. a holdout period."""
    customer, day = np.asarray(customer, dtype=np.int64), np.asarray(day, dtype=np.int64)
    inside = (day >= start_day) & (day < end_day)
    pairs = np.unique(np.stack([customer[inside], day[inside]]), axis=1)
    return np.bincount(pairs[0], minlength=n_customers).astype(np.int64)


# --- likelihood and fit --------------------------------------------------------------


def _shift(model: str) -> int:
    """0 for BG/NBD, 1 for MBG/NBD: the MBG terms are the BG terms with b+x -> b+x+1."""
    if model not in ("bgnbd", "mbgnbd"):
        raise ValueError(f"model must be 'bgnbd' or 'mbgnbd', not {model!r}")
    return int(model == "mbgnbd")


def purchase_log_likelihood(
    params: dict[str, float], rfm: RFM, model: PurchaseModel = "mbgnbd"
) -> float:
    """Total log-likelihood of the customers with a purchase under BG/NBD or MBG/NBD."""
    data = _purchase_data(rfm)
    logp = np.log([params[k] for k in ("r", "alpha", "a", "b")])
    return -purchase_nll(logp, data, _shift(model))[0] * data.x.size


def _purchase_data(rfm: RFM) -> PurchaseData:
    bought = rfm.purchased
    return purchase_data(rfm.frequency[bought], rfm.recency[bought], rfm.T[bought])


def minimise_log_params(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    starts: list[np.ndarray],
    names: tuple[str, ...],
) -> tuple[optimize.OptimizeResult | None, str]:
    """L-BFGS-B over bounded log-parameters, trying `starts` in turn until one converges.

    `fun` returns the mean negative log-likelihood and its gradient. Returns
    (result or None, message). A result counts as converged when the objective
    is finite, no parameter sits at its bound, and the optimiser reports success
    or the gradient is negligible (a line search can give up at the optimum).
    """
    from scipy import optimize

    messages = []
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(names)
    for start in starts:
        try:
            res = optimize.minimize(fun, start, jac=True, method="L-BFGS-B", bounds=bounds)
        except (ValueError, FloatingPointError) as exc:
            messages.append(f"start {np.exp(start).round(3).tolist()}: {exc}")
            continue
        at_bound = [n for n, v in zip(names, res.x, strict=True) if abs(v) > LOG_BOUND - 0.5]
        flat = np.abs(res.jac).max() < 1e-6
        if (res.success or flat) and np.isfinite(res.fun) and not at_bound:
            return res, f"converged after {res.nit} iterations"
        why = f"{', '.join(at_bound)} ran to its limit" if at_bound else str(res.message)
        messages.append(f"start {np.exp(start).round(3).tolist()}: {why}")
    return None, "; ".join(messages)


def fit_purchases(rfm: RFM, model: PurchaseModel = "mbgnbd") -> Fit:
    """Fit BG/NBD or MBG/NBD by maximum likelihood; ThinDataError if it cannot be done."""
    s = _shift(model)
    data = _purchase_data(rfm)
    x, T = data.x, data.T
    n_repeat = int(np.count_nonzero(x > 0))
    if n_repeat < MIN_REPEAT_CUSTOMERS:
        raise ThinDataError(
            f"Only {n_repeat} customers bought on more than one day; the purchase model "
            f"needs at least {MIN_REPEAT_CUSTOMERS}. Use a longer order history."
        )
    # Observed repeat rate per unit; it understates the rate of live customers,
    # which is fine for a start: r / alpha is the mean purchase rate.
    rate = max(x.sum() / max(T.sum(), 1e-9), 1e-6)
    starts = [
        np.log([r0, r0 / rate, a0, b0]) for r0, a0, b0 in ((1, 1, 2), (0.5, 0.5, 1), (2, 2, 8))
    ]
    res, message = minimise_log_params(
        lambda lp: purchase_nll(lp, data, s), starts, ("r", "alpha", "a", "b")
    )
    if res is None:
        raise ThinDataError(
            f"The {model} purchase model did not converge on {x.size} customers ({message})."
        )
    params = dict(zip(("r", "alpha", "a", "b"), np.exp(res.x).tolist(), strict=True))
    return Fit(model, params, float(-res.fun * x.size), True, x.size, n_repeat, message)


# --- scoring -------------------------------------------------------------------------


def _purchase_params(fit: Fit) -> tuple[float, float, float, float, int]:
    p = fit.params
    return p["r"], p["alpha"], p["a"], p["b"], _shift(fit.model)


def p_alive(fit: Fit, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
    """Probability that each customer is still active at T (BG/NBD: 1 without repeats)."""
    from scipy import special

    r, alpha, a, b, s = _purchase_params(fit)
    x = np.asarray(frequency, dtype=np.float64)
    tx, T = np.asarray(recency, dtype=np.float64), np.asarray(T, dtype=np.float64)
    bx = b + x + s - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds_dead = np.log(a) - np.log(bx) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
    alive = special.expit(-log_odds_dead)
    return np.where(x + s > 0, alive, np.where(np.isnan(T), np.nan, 1.0))


def _alive_expected(
    fit: Fit, ts: np.ndarray, x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """E[purchases in (T, T+t] | alive at T, x] for each t in `ts`, per distinct (x, T).

    Returns the table (distinct pairs x len(ts)) and each customer's row in it.

    Closed form (a+b+x+s-1)/(a-1) * (1 - H) with H = ((alpha+T)/(alpha+T+t))^(r+x)
    * 2F1(r+x, b+x+s; a+b+x+s-1; z), z = t/(alpha+T+t). Euler's transformation
    turns H into (1-z)^(a-1) * 2F1(a+b+s-1-r, a-1; a+b+x+s-1; z), whose upper
    parameters stay small for heavy buyers, so the series is well behaved. When a
    and b are both large (a nearly uniform dropout probability) Euler's form
    overflows; there the untransformed form is used, and where both overflow a
    quadrature over the dropout probability (`_alive_expected_quadrature`).
    """
    from scipy import special

    r, alpha, a, b, s = _purchase_params(fit)
    order = np.lexsort((T, x))
    xs, Ts = x[order], T[order]
    new = np.ones(x.size, dtype=bool)
    new[1:] = (xs[1:] != xs[:-1]) | (Ts[1:] != Ts[:-1])
    inverse = np.empty(x.size, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    ux, uT = xs[new][:, None], Ts[new][:, None]
    z = ts[None, :] / (alpha + uT + ts[None, :])

    def closed_form(a: float, b: float) -> np.ndarray:
        c = a + b + ux + s - 1
        with np.errstate(all="ignore"):
            h = (1 - z) ** (a - 1) * special.hyp2f1(a + b + s - 1 - r, a - 1, c, z)
            out = c / (a - 1) * (1 - h)
            bad = np.nonzero(~np.isfinite(out) & np.isfinite(z))
            if bad[0].size:
                xb, zb = ux[bad[0], 0], z[bad]
                cb = c[bad[0], 0]
                hb = (1 - zb) ** (r + xb) * special.hyp2f1(r + xb, b + xb + s, cb, zb)
                out[bad] = cb / (a - 1) * (1 - hb)
        still = np.nonzero(~np.isfinite(out) & np.isfinite(z))
        if still[0].size:
            params = (r, alpha, a, b, s)
            out[still] = _alive_expected_quadrature(
                params, ux[still[0], 0], uT[still[0], 0], ts[still[1]]
            )
        return out

    # a = 1 (and, for BG/NBD customers without repeats, a + b = 1) are removable
    # singularities of the closed form: there, interpolate from either side.
    def closed_form_near_b(a: float) -> np.ndarray:
        return _smooth_through(lambda b_: closed_form(a, b_), b, 1 - a - s)

    out = _smooth_through(closed_form_near_b, a, 1.0)
    return np.maximum(out, 0.0), inverse


def _alive_expected_quadrature(
    params: tuple, x: np.ndarray, T: np.ndarray, t: np.ndarray, nodes: int = 64
) -> np.ndarray:
    """E[(1 - (1 + p t/(alpha+T))^-(r+x)) / p] over p ~ Beta(a, b+x+s), element-wise.

    The same expectation as the closed form (the purchase rate already integrated
    out), by Gauss-Legendre quadrature in the quantiles of p: slower, but it cannot
    overflow, so it serves the few (x, T, t) where the hypergeometric series does.
    """
    from scipy import special

    r, alpha, a, b, s = params
    u, w = np.polynomial.legendre.leggauss(nodes)
    p = special.betaincinv(a, b + x[:, None] + s, (u[None, :] + 1) / 2)
    p = np.maximum(p, np.finfo(float).tiny)
    k = (t / (alpha + T))[:, None]
    g = -np.expm1(-(r + x[:, None]) * np.log1p(p * k)) / p
    return (g * w[None, :]).sum(axis=1) / 2


def _smooth_through(f, value: float, singular: float, step: float = 1e-4) -> np.ndarray:
    """f(value), or near a removable singularity a linear interpolation accurate to O(step^2)."""
    if abs(value - singular) >= step:
        return f(value)
    weight = (value - singular + step) / (2 * step)
    return (1 - weight) * f(singular - step) + weight * f(singular + step)


def _scoring_arrays(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, tx, T = np.broadcast_arrays(
        np.asarray(frequency, dtype=np.float64),
        np.asarray(recency, dtype=np.float64),
        np.asarray(T, dtype=np.float64),
    )
    return x.ravel(), tx.ravel(), T.ravel()


def expected_purchases(
    fit: Fit, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """Conditional expected number of purchases in the next `t` units, per customer."""
    x, tx, TT = _scoring_arrays(frequency, recency, T)
    shape = np.broadcast_shapes(np.shape(frequency), np.shape(recency), np.shape(T))
    table, inverse = _alive_expected(fit, np.array([float(t)]), x, TT)
    return (p_alive(fit, x, tx, TT) * table[inverse, 0]).reshape(shape)


def expected_purchases_new(fit: Fit, t: ArrayLike) -> np.ndarray:
    """Unconditional expected repeat purchases E[X(t)] of a customer who just made a first one."""
    t = np.asarray(t, dtype=np.float64)
    return expected_purchases_grid(fit, t.ravel(), 0.0, 0.0, 0.0)[0].reshape(t.shape)


def expected_purchases_grid(
    fit: Fit, ts: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """Conditional expected purchases for every customer (rows) and horizon in `ts` (columns)."""
    x, tx, TT = _scoring_arrays(frequency, recency, T)
    ts = np.asarray(ts, dtype=np.float64).ravel()
    table, inverse = _alive_expected(fit, ts, x, TT)
    return p_alive(fit, x, tx, TT)[:, None] * table[inverse]


def discount_schedule(
    horizon_units: float,
    yearly_discount_rate: float,
    unit_days: float = 7.0,
    steps: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Step ends (in units) and the discount factor applied to purchases in each step.

    Steps are calendar months (365.25/12 days) unless `steps` is given; purchases
    of a step are discounted from its end: factor = (1 + rate) ** -(end in years).

    >>> ends, factors = discount_schedule(365.25 / 7, 0.10)
    >>> len(ends), round(float(ends[-1] * 7), 2), round(float(factors[-1]), 4)
    (12, 365.25, 0.9091)
    """
    if steps is None:
        steps = max(1, int(np.ceil(horizon_units * unit_days * 12 / DAYS_PER_YEAR - 1e-9)))
    ends = np.linspace(0.0, horizon_units, steps + 1)[1:]
    factors = (1.0 + yearly_discount_rate) ** -(ends * unit_days / DAYS_PER_YEAR)
    return ends, factors


def discounted_purchases(fit: Fit, ends: ArrayLike, factors: ArrayLike, rfm: RFM) -> np.ndarray:
    """Sum over steps of expected purchases in the step times its discount factor."""
    x, tx, T = _scoring_arrays(rfm.frequency, rfm.recency, rfm.T)
    ends = np.asarray(ends, dtype=np.float64).ravel()
    # Discount on the table of distinct (x, T) pairs: customers x steps would not fit
    # in memory for millions of customers and multi-year monthly horizons.
    table, inverse = _alive_expected(fit, ends, x, T)
    in_step = np.diff(table, axis=1, prepend=0.0)
    discounted = (in_step * np.asarray(factors, dtype=np.float64)).sum(axis=1)
    return p_alive(fit, x, tx, T) * discounted[inverse]


def holdout_table(
    fit: Fit, rfm_calibration: RFM, actual_holdout_purchases: ArrayLike, holdout_units: float
) -> pd.DataFrame:
    """Actual vs predicted mean holdout purchases by calibration frequency 0..6, 7+ and total."""
    rfm = rfm_calibration
    bought = rfm.purchased
    x = rfm.frequency[bought]
    actual = np.asarray(actual_holdout_purchases, dtype=np.float64)[bought]
    predicted = expected_purchases(fit, holdout_units, x, rfm.recency[bought], rfm.T[bought])
    bucket = np.minimum(x, 7)
    customers = np.append(np.bincount(bucket, minlength=8), x.size)
    actual_sum = np.append(np.bincount(bucket, weights=actual, minlength=8), actual.sum())
    predicted_sum = np.append(np.bincount(bucket, weights=predicted, minlength=8), predicted.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame(
            {
                "customers": customers.astype(np.int64),
                "actual_mean": actual_sum / customers,
                "predicted_mean": predicted_sum / customers,
            },
            index=pd.Index([*map(str, range(7)), "7+", "total"], name="calibration_frequency"),
        )


# --- simulation (tests and benchmarks) -----------------------------------------------


@dataclass(frozen=True, eq=False)
class SimulatedPurchases:
    """Simulated calibration summary and the repeat purchases in a following holdout."""

    rfm: RFM
    holdout: np.ndarray


def simulate_bgnbd(
    n: int,
    params: dict[str, float],
    T_units: ArrayLike,
    rng: np.random.Generator,
    model: PurchaseModel = "bgnbd",
    holdout_units: float = 0.0,
) -> SimulatedPurchases:
    """Draw customers observed for `T_units` from BG/NBD or MBG/NBD, and a following holdout.

    Every repeat day counts as a spend day; monetary is 0 until `with_monetary`
    sets it (see gamma_gamma.simulate_spend).
    """
    s = _shift(model)
    T = np.broadcast_to(np.asarray(T_units, dtype=np.float64), (n,)).copy()
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    p = np.clip(rng.beta(params["a"], params["b"], n), 1e-12, 1.0)
    # Repeat purchases a customer makes before dropping out: BG/NBD customers
    # cannot drop out before their first repeat, MBG/NBD ones can.
    lifetime = rng.geometric(p) - s
    arrivals = rng.poisson(lam * T)
    x = np.minimum(lifetime, arrivals)
    recency = np.zeros(n)
    has = x > 0
    # Given k arrivals in (0, T], the x-th of them is T times a Beta(x, k-x+1) draw.
    recency[has] = T[has] * rng.beta(x[has], arrivals[has] - x[has] + 1)
    holdout = np.zeros(n, dtype=np.int64)
    alive = lifetime > arrivals
    if holdout_units > 0:
        more = rng.poisson(lam[alive] * holdout_units)
        holdout[alive] = np.minimum(lifetime[alive] - arrivals[alive], more)
    rfm = RFM(x.astype(np.int64), recency, T, np.zeros(n), x.astype(np.int64), 0, n)
    return SimulatedPurchases(rfm, holdout)


def with_monetary(rfm: RFM, monetary: ArrayLike) -> RFM:
    """The same summary with a new repeat-day mean value (e.g. from simulate_spend)."""
    return replace(rfm, monetary=np.asarray(monetary, dtype=np.float64))
