"""Join facts computed on disjoint sets of customers into the facts of all of them.

Facts hold only per-customer results, so facts of partitions (each customer
in exactly one, all with the same as-of date and month buckets, see
`compute_facts(..., first_day=)`) join by stacking and putting the customers
back in id order. The result equals what `compute_facts` gives on all rows
at once: same customer order, same numbers, category names renumbered over
the union of the partitions' categories.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from winback_cli.facts import Facts, PurchaseSummary
from winback_cli.facts_reduce import PeriodSums
from winback_cli.facts_text import text_array
from winback_cli.parallel import OrderedPool


def merge_facts(parts: Sequence[tuple[Facts, pd.Index]]) -> tuple[Facts, pd.Index]:
    """Facts and customer ids of all customers from those of disjoint partitions."""
    if not parts:
        raise ValueError("merge_facts needs at least one part")
    facts = [f for f, _ in parts]
    _check_alike(facts)
    ids = pa.concat_arrays([text_array(pd.Series(i, dtype="str")) for _, i in parts])
    order = pc.sort_indices(ids).to_numpy()
    merged_ids = ids.take(pa.array(order))
    if len(merged_ids) > 1 and not pc.all(pc.not_equal(merged_ids[1:], merged_ids[:-1])).as_py():
        raise ValueError("merge_facts needs disjoint parts: a customer id is in two of them")
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    offsets = np.cumsum([0, *(len(f.customers) for f in facts)])
    first = facts[0]
    # The pieces are independent numpy work, which releases the GIL: two at a time.
    with OrderedPool() as pool:
        customers = pool.submit(_customers, facts, order)
        monthly = pool.submit(_rows, [f.monthly_revenue for f in facts], order)
        categories = pool.submit(_categories, facts, position, offsets)
        windows = {
            d: pool.submit(_sums, [f.windows[d] for f in facts], order) for d in first.windows
        }
        reasons = (
            None if first.reasons is None else pool.submit(_sums, [f.reasons for f in facts], order)
        )
        purchases = None if first.purchases is None else pool.submit(_purchases, facts, order)
        result = replace(
            first,
            customers=customers.result(),
            monthly_revenue=monthly.result(),
            categories=categories.result(),
            windows={d: job.result() for d, job in windows.items()},
            reasons=None if reasons is None else reasons.result(),
            purchases=None if purchases is None else purchases.result(),
        )
    return result, pd.Index(pd.array(merged_ids, dtype="str"), name="customer_id")


def _rows(arrays: list[np.ndarray], order: np.ndarray) -> np.ndarray:
    return np.concatenate(arrays)[order]


def _customers(facts: list[Facts], order: np.ndarray) -> pd.DataFrame:
    customers = pd.concat([f.customers for f in facts], ignore_index=True)
    return customers.take(order).reset_index(drop=True)


def _check_alike(facts: list[Facts]) -> None:
    first = facts[0]
    for other in facts[1:]:
        same = (
            other.as_of == first.as_of
            and np.array_equal(other.month_starts, first.month_starts)
            and (other.has_cost, other.has_category) == (first.has_cost, first.has_category)
            and set(other.windows) == set(first.windows)
            and other.reasons_days == first.reasons_days
            and _unit(other) == _unit(first)
        )
        if not same:
            raise ValueError(
                "merge_facts needs parts computed alike: same as-of date, same first_day "
                "(month buckets), same columns and the same FactNeeds"
            )


def _unit(facts: Facts) -> float | None:
    return None if facts.purchases is None else facts.purchases.unit_days


def _categories(facts: list[Facts], position: np.ndarray, offsets: np.ndarray) -> pd.DataFrame:
    """Category rows with customer codes renumbered, still grouped by customer then name."""
    tables = [f.categories for f in facts]
    names = np.unique(
        np.concatenate([t["category"].cat.categories.to_numpy(dtype=object) for t in tables])
    )
    code = np.concatenate(
        [
            position[offset + t["code"].to_numpy()]
            for t, offset in zip(tables, offsets, strict=False)
        ]
    )
    number = np.concatenate(
        [
            np.searchsorted(names, t["category"].cat.categories.to_numpy(dtype=object))[
                t["category"].cat.codes.to_numpy()
            ]
            for t in tables
        ]
    )
    order = np.argsort(code, kind="stable")  # a customer's rows stay in name order

    def joined(column: str) -> np.ndarray:
        return np.concatenate([t[column].to_numpy() for t in tables])[order]

    return pd.DataFrame(
        {
            "code": code[order],
            "category": pd.Categorical.from_codes(number[order], categories=names),
            "orders": joined("orders"),
            "last_day": joined("last_day"),
        }
    )


def _sums(parts: list[PeriodSums], order: np.ndarray) -> PeriodSums:
    def joined(name: str) -> np.ndarray | None:
        arrays = [getattr(p, name) for p in parts]
        return None if arrays[0] is None else np.concatenate(arrays, axis=1)[:, order]

    return PeriodSums(joined("orders"), joined("value"), joined("returned"))


def _purchases(facts: list[Facts], order: np.ndarray) -> PurchaseSummary:
    summaries = [f.purchases for f in facts]
    rfms = [s.rfm for s in summaries]
    fields = ("frequency", "recency", "T", "monetary", "n_spend_days")
    rfm = replace(
        rfms[0],
        **{name: np.concatenate([getattr(r, name) for r in rfms])[order] for name in fields},
        n_spend_days_left_out=sum(r.n_spend_days_left_out for r in rfms),
        n_customers=sum(r.n_customers for r in rfms),
    )
    left_out = sum(s.returns_left_out for s in summaries)
    return PurchaseSummary(summaries[0].unit_days, rfm, left_out)
