"""Confidence intervals for proportions and their difference, in plain Python.

`wilson` is the score interval of one proportion; `newcombe_difference` is
Newcombe's hybrid score interval for the difference of two independent
proportions (his method 10, 1998), which stays inside [-1, 1] and behaves
well for small groups and rates near 0 or 1, where the textbook Wald
interval `d ± z·sqrt(p1(1-p1)/n1 + p0(1-p0)/n0)` does not. `measure` uses it
for the lift of a campaign against its control group.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # two-sided 95 %: the 97.5 % quantile of the normal distribution


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes out of n (NaN, NaN when n is 0).

    >>> [round(x, 4) for x in wilson(56, 70)]
    [0.6918, 0.877]
    """
    if n <= 0:
        return math.nan, math.nan
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return (centre - half) / scale, (centre + half) / scale


def newcombe_difference(
    k1: int, n1: int, k0: int, n0: int, z: float = Z95
) -> tuple[float, float, float]:
    """p1 - p0 and its 95 % interval by Newcombe's hybrid score method.

    With (l1, u1) and (l0, u0) the Wilson intervals of p1 = k1/n1 and p0 = k0/n0:

        lower = d - sqrt((p1 - l1)² + (u0 - p0)²)
        upper = d + sqrt((u1 - p1)² + (p0 - l0)²)

    Newcombe's own example (56/70 vs 48/80) gives 0.2000 (0.0524 to 0.3339):

    >>> [round(x, 4) for x in newcombe_difference(56, 70, 48, 80)]
    [0.2, 0.0524, 0.3339]
    """
    if n1 <= 0 or n0 <= 0:
        return math.nan, math.nan, math.nan
    p1, p0 = k1 / n1, k0 / n0
    l1, u1 = wilson(k1, n1, z)
    l0, u0 = wilson(k0, n0, z)
    d = p1 - p0
    lower = d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return d, lower, upper
