"""Benchmark the CLV maths on simulated customers: summary, fits and scores.

Simulates customers from BG/NBD (CDNOW parameters, first purchases spread over
two years) and Gamma-Gamma spend, turns them into one row per purchase day,
then times summarise_purchases, the BG/NBD, MBG/NBD and Gamma-Gamma fits, and
scoring of p_alive, expected purchases and a one-year CLV; then the same rows as
an order table through `facts` and the glue of `winback_cli.clv` (what a scan
runs: returns onto purchase days, both fits, every score column). Prints the
wall time of each step and the peak resident memory so far.

    PYTHONPATH=src python bench/bench_clv.py --customers 500000
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from winback_cli.clv import fit_clv
from winback_cli.clv_model import (
    expected_purchases,
    fit_purchases,
    p_alive,
    simulate_bgnbd,
    summarise_purchases,
)
from winback_cli.facts import FactNeeds, compute_facts
from winback_cli.gamma_gamma import clv, fit_spend
from winback_cli.rules import ClvRules

CDNOW = {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43}
SPEND = {"p": 6.25, "q": 3.74, "gamma": 15.44}
AS_OF_DAY = 20_000


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def timed(label: str, step: Callable[[], object]) -> object:
    start = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - start
    print(f"{label:<42} {seconds:8.2f} s   peak RSS {peak_rss_mib():7.0f} MiB", flush=True)
    return result


def purchase_rows(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """One row per simulated purchase (customer, day, value), first purchases over two years."""
    T_days = rng.integers(1, 731, n)
    sim = simulate_bgnbd(n, CDNOW, T_days / 7.0, rng).rfm
    first = AS_OF_DAY - T_days
    last = first + np.round(sim.recency * 7).astype(np.int64)
    repeats = sim.frequency
    # First day, last day, and the other repeat days uniformly in between.
    middle_owner = np.repeat(np.arange(n), np.maximum(repeats - 1, 0))
    span = (last - first)[middle_owner]
    middle_day = first[middle_owner] + np.floor(rng.random(span.size) * (span + 1)).astype(int)
    has_repeat = np.flatnonzero(repeats > 0)
    customer = np.concatenate([np.arange(n), has_repeat, middle_owner])
    day = np.concatenate([first, last[has_repeat], middle_day])
    nu = rng.gamma(SPEND["q"], 1.0 / SPEND["gamma"], n)
    value = rng.gamma(SPEND["p"], 1.0 / nu[customer])
    # About 2 % of purchases are returns that net the day negative.
    value[rng.random(value.size) < 0.02] *= -0.5
    order = rng.permutation(customer.size)
    return customer[order], day[order], value[order]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n = args.customers
    rng = np.random.default_rng(args.seed)
    print(f"customers: {n:,}")

    customer, day, value = timed("simulate purchase rows", lambda: purchase_rows(n, rng))
    print(f"rows: {customer.size:,}")
    rfm = timed(
        "summarise_purchases",
        lambda: summarise_purchases(customer, day, value, n, AS_OF_DAY, unit_days=7.0),
    )
    bg = timed("fit BG/NBD", lambda: fit_purchases(rfm, "bgnbd"))
    print(f"  {bg.params}  ({bg.message})")
    mbg = timed("fit MBG/NBD", lambda: fit_purchases(rfm, "mbgnbd"))
    print(f"  {mbg.params}  ({mbg.message})")
    spend = timed("fit Gamma-Gamma", lambda: fit_spend(rfm))
    print(f"  {spend.params}  ({spend.message})")
    timed("p_alive (BG/NBD)", lambda: p_alive(bg, rfm.frequency, rfm.recency, rfm.T))
    timed(
        "expected purchases, next 52 weeks (BG/NBD)",
        lambda: expected_purchases(bg, 52.0, rfm.frequency, rfm.recency, rfm.T),
    )
    year = 365.25 / 7
    value_1y = timed("CLV, 1 year in 12 steps (BG/NBD)", lambda: clv(bg, spend, rfm, year, 0.10))
    timed("CLV, 3 years in 36 steps (BG/NBD)", lambda: clv(bg, spend, rfm, 3 * year, 0.10))
    print(f"mean one-year CLV: {np.nanmean(value_1y):.2f}")

    frame = pd.DataFrame(
        {
            "customer_id": customer,
            "order_date": day.astype("datetime64[D]").astype("datetime64[s]"),
            "amount": value,
            "cost": np.where(value > 0, value * 0.6, 0.0),
        }
    )
    as_of = pd.Timestamp(np.datetime64(AS_OF_DAY, "D"))
    needs = FactNeeds(clv_unit_days=ClvRules().unit_days)
    facts, _ = timed("facts.compute_facts (with RFM)", lambda: compute_facts(frame, as_of, needs))
    result = timed("clv.fit_clv: glue, fits, all scores", lambda: fit_clv(facts, ClvRules()))
    print(f"  mean one-year CLV in margin (MBG/NBD): {np.nanmean(result.scores['clv']):.2f}")


if __name__ == "__main__":
    main()
