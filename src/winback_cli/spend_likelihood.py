"""The Gamma-Gamma log-likelihood and its gradient, as `gamma_gamma.fit_spend` needs it.

Like `purchase_likelihood`: the optimiser evaluates it a few dozen times over
every customer with repeat spend, so the terms that do not depend on the
parameters are computed once and each evaluation writes into buffers
allocated once per fit (`SpendData`). The operations, and so the
floating-point results, are those of the plain expressions in the comments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_BUFFERS = 7  # per-customer arrays one evaluation needs


@dataclass(eq=False)
class SpendData:
    """Customers with repeat spend: spend-day count x, mean spend m; x's distinct values."""

    x: np.ndarray
    m: np.ndarray
    ux: np.ndarray  # distinct x
    inv: np.ndarray  # each customer's row in ux
    log_m: np.ndarray = field(init=False, repr=False)
    log_x: np.ndarray = field(init=False, repr=False)
    xm: np.ndarray = field(init=False, repr=False)  # x * m
    work: list[np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.log_m, self.log_x, self.xm = np.log(self.m), np.log(self.x), self.x * self.m
        # One array each, like the temporaries they replace (same alignment).
        self.work = [np.empty(self.x.size) for _ in range(_BUFFERS)]


def spend_data(x: np.ndarray, m: np.ndarray) -> SpendData:
    """The likelihood's inputs: x and m as floats, one entry per customer."""
    ux, inv = np.unique(x, return_inverse=True)
    return SpendData(x, m, ux, inv)


def spend_nll(logp: np.ndarray, data: SpendData) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood of mean spend m over x days, and its log-parameter gradient.

    Per customer ll = log G(px+q) - log G(px) - log G(q) + q log(gamma)
    + (px-1) log(m) + px log(x) - (px+q) log(xm+gamma).
    """
    from scipy import special

    x, ux, inv, log_m, log_x = data.x, data.ux, data.inv, data.log_m, data.log_x
    p, q, gamma = np.exp(logp)
    px = p * ux
    lg = special.gammaln(px + q) - special.gammaln(px)
    psi_diff = special.digamma(px + q)
    psi_px = special.digamma(px)
    xm_gamma, log_xm, px_all, pxq, psi, t1, t2 = data.work
    np.log(np.add(data.xm, gamma, out=xm_gamma), out=log_xm)  # log(x * m + gamma)
    np.multiply(p, x, out=px_all)  # p * x
    np.add(px_all, q, out=pxq)  # p * x + q
    n = x.size
    # ((p * x - 1) * log_m + p * x * log_x - pxq * log_xm).sum()
    np.multiply(np.subtract(px_all, 1, out=t1), log_m, out=t1)
    np.add(t1, np.multiply(px_all, log_x, out=t2), out=t1)
    terms = np.subtract(t1, np.multiply(pxq, log_xm, out=t2), out=t1).sum()
    # Plain sums, not `@`: BLAS dot products stall on a busy two-core machine.
    ll = np.take(lg, inv, out=t2).sum() - n * special.gammaln(q) + n * q * np.log(gamma) + terms
    # (x * (psi_diff[inv] - psi_px[inv] + log_m + log_x - log_xm)).sum()
    np.take(psi_diff, inv, out=psi)
    np.subtract(psi, np.take(psi_px, inv, out=t2), out=t1)
    for term in (log_m, log_x):
        np.add(t1, term, out=t1)
    g_p = np.multiply(x, np.subtract(t1, log_xm, out=t1), out=t1).sum()
    g_q = psi.sum() - n * special.digamma(q) + n * np.log(gamma) - log_xm.sum()
    g_gamma = n * q / gamma - np.divide(pxq, xm_gamma, out=t1).sum()  # pxq / (x * m + gamma)
    grad = np.array([g_p, g_q, g_gamma]) * np.exp(logp)
    return -ll / n, -grad / n
