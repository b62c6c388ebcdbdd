"""The BG/NBD and MBG/NBD log-likelihood and its gradient, as `clv_model.fit_purchases` needs it.

The optimiser evaluates it a few dozen times over every customer with a
purchase. Each evaluation writes into buffers allocated once per fit
(`PurchaseData`): allocating a dozen fresh arrays of half a million floats
per call costs more in page faults than the arithmetic. For many customers
the element-wise work runs in two halves side by side (`parts`), the sums
over whole arrays after it. The operations, and so the floating-point
results, are those of the plain expressions in the comments: the fit is the
same to the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from winback_cli.parts import halves, in_parts

_BUFFERS = 14  # per-customer arrays one evaluation needs


@dataclass(eq=False)
class PurchaseData:
    """Customers with a purchase: frequency x, recency tx, age T; x's distinct values."""

    x: np.ndarray
    tx: np.ndarray
    T: np.ndarray
    ux: np.ndarray  # distinct x
    inv: np.ndarray  # each customer's row in ux
    per_x: np.ndarray = field(init=False)  # customers per distinct x
    work: list[np.ndarray] = field(init=False, repr=False)
    parts: list[slice] = field(init=False, repr=False)  # customers worked on side by side

    def __post_init__(self) -> None:
        self.per_x = np.bincount(self.inv, minlength=self.ux.size)
        # One array each, like the temporaries they replace (same alignment).
        self.work = [np.empty(self.x.size) for _ in range(_BUFFERS)]
        self.parts = halves(self.x.size)


def purchase_data(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> PurchaseData:
    """The likelihood's inputs for customers with a purchase (frequency as integers)."""
    ux, inv = np.unique(frequency, return_inverse=True)
    return PurchaseData(frequency.astype(np.float64), recency, T, ux.astype(float), inv)


def purchase_nll(logp: np.ndarray, data: PurchaseData, s: int) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood and its gradient in log-parameters.

    Per customer ll = log G(r+x)/G(r) + r log(alpha) - log B(a,b)
    + logaddexp(log B(a, b+x+s) - (r+x) log(alpha+T),
                log B(a+1, b+x+s-1) - (r+x) log(alpha+t_x)),
    the second term absent when x+s = 0 (BG/NBD customers without repeats);
    s is 0 for BG/NBD, 1 for MBG/NBD. Terms that depend on x only are computed
    once per distinct x.
    """
    from scipy import special

    x, tx, T, ux, inv = data.x, data.tx, data.T, data.ux, data.inv
    r, alpha, a, b = np.exp(logp)
    dead_ok = ux + s >= 1
    bx = b + ux + s
    u1 = special.betaln(a, bx)
    u2 = np.where(dead_ok, special.betaln(a + 1, np.where(dead_ok, bx - 1, 1.0)), -np.inf)
    psi_abx = special.digamma(a + bx)
    db1 = special.digamma(bx) - psi_abx
    db2 = np.where(dead_ok, special.digamma(np.where(dead_ok, bx - 1, 1.0)), 0.0) - psi_abx
    da1, da2 = special.digamma(a) - psi_abx, special.digamma(a + 1) - psi_abx
    lg = special.gammaln(r + ux) - special.gammaln(r)
    dr_table = special.digamma(r + ux) - special.digamma(r)

    def per_customer(part: slice) -> None:
        """The per-customer arrays of this evaluation, for the customers in `part`."""
        rx, a_T, a_tx, log1, log2, e1, e2, m, d, w1, w2, weighted, shares, t = (
            buffer[part] for buffer in data.work
        )
        np.add(r, x[part], out=rx)  # rx = r + x
        np.log(np.add(alpha, T[part], out=a_T), out=log1)  # log1 = log(alpha + T)
        np.log(np.add(alpha, tx[part], out=a_tx), out=log2)  # log2 = log(alpha + tx)
        for u, log, e in ((u1, log1, e1), (u2, log2, e2)):  # e = u[inv] - rx * log
            np.subtract(np.take(u, inv[part], out=e), np.multiply(rx, log, out=t), out=e)
        np.logaddexp(e1, e2, out=m)
        np.exp(np.subtract(e1, m, out=d), out=w1)  # w1 = exp(e1 - m); exp never in place
        np.exp(np.subtract(e2, m, out=d), out=w2)
        # weighted = w1 * log1 + w2 * log2
        np.add(np.multiply(w1, log1, out=weighted), np.multiply(w2, log2, out=t), out=weighted)
        # shares = rx * (w1 / (alpha + T) + w2 / (alpha + tx))
        np.add(np.divide(w1, a_T, out=shares), np.divide(w2, a_tx, out=t), out=shares)
        np.multiply(rx, shares, out=shares)

    in_parts(per_customer, data.parts)
    m, w1, w2, weighted, shares = (data.work[i] for i in (7, 9, 10, 11, 12))
    n = x.size
    # Sums over whole arrays, as without parts: the same floats to the last bit.
    # Plain sums, not `@`: BLAS dot products stall on a busy two-core machine.
    w1_x = np.bincount(inv, weights=w1, minlength=ux.size)
    w2_x = np.bincount(inv, weights=w2, minlength=ux.size)
    ll = (data.per_x * lg).sum() + n * (r * np.log(alpha) - special.betaln(a, b)) + m.sum()
    g_r = (data.per_x * dr_table).sum() + n * np.log(alpha) - weighted.sum()
    g_alpha = n * r / alpha - shares.sum()
    psi_ab = special.digamma(a + b)
    g_a = -n * (special.digamma(a) - psi_ab) + (w1_x * da1 + w2_x * da2).sum()
    g_b = -n * (special.digamma(b) - psi_ab) + (w1_x * db1 + w2_x * db2).sum()
    grad = np.array([g_r, g_alpha, g_a, g_b]) * np.exp(logp)
    return -ll / n, -grad / n
