"""Facts of disjoint groups of customers, merged, equal the facts of all customers at once.

This is what lets a scan read orders in partitions: memory grows with the
customers of one partition, and the answer does not change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winback_cli.facts import FactNeeds, Facts, compute_facts, to_days
from winback_cli.facts_merge import merge_facts
from winback_cli.rules import load_rules
from winback_cli.triggers import evaluate

from .facts_reference import AS_OF, order_frames, random_frame

RULES, _ = load_rules(None)
NEEDS = FactNeeds.from_rules(RULES)


def in_parts(frame: pd.DataFrame, group_of: dict[str, int], needs: FactNeeds = NEEDS):
    """Facts of each group of customers, all with the first day of the whole frame."""
    first_day = int(to_days(frame.loc[frame["order_date"] < AS_OF, "order_date"]).min())
    groups = frame["customer_id"].map(group_of)
    return [
        compute_facts(frame.loc[groups == g], AS_OF, needs, first_day=first_day)
        for g in sorted(set(group_of.values()))
    ]


def assert_same_facts(got: Facts, expected: Facts) -> None:
    pd.testing.assert_frame_equal(got.customers, expected.customers)
    np.testing.assert_array_equal(got.monthly_revenue, expected.monthly_revenue)
    np.testing.assert_array_equal(got.month_starts, expected.month_starts)
    pd.testing.assert_frame_equal(got.categories, expected.categories)
    assert set(got.windows) == set(expected.windows)
    for duration, sums in expected.windows.items():
        np.testing.assert_array_equal(got.windows[duration].orders, sums.orders)
        np.testing.assert_array_equal(got.windows[duration].value, sums.value)
    for name in ("orders", "value", "returned"):
        np.testing.assert_array_equal(getattr(got.reasons, name), getattr(expected.reasons, name))
    mine, theirs = got.purchases, expected.purchases
    assert mine.returns_left_out == theirs.returns_left_out
    for name in ("frequency", "recency", "T", "monetary", "n_spend_days"):
        np.testing.assert_array_equal(getattr(mine.rfm, name), getattr(theirs.rfm, name))
    assert mine.rfm.n_spend_days_left_out == theirs.rfm.n_spend_days_left_out
    assert mine.rfm.n_customers == theirs.rfm.n_customers


def assert_same_triggers(got: Facts, expected: Facts) -> None:
    """The scan's order triggers fire alike, with the same evidence."""
    results = [
        evaluate(
            RULES.triggers,
            facts,
            pd.DataFrame({"_known": np.zeros(len(facts.customers), dtype=bool)}),
            customer_source=None,
        )
        for facts in (got, expected)
    ]
    pd.testing.assert_frame_equal(results[0].fired, results[1].fired)
    pd.testing.assert_frame_equal(results[0].evidence, results[1].evidence)
    np.testing.assert_array_equal(results[0].status, results[1].status)


@settings(max_examples=100, deadline=None)
@given(order_frames(), st.integers(1, 4), st.randoms(use_true_random=False))
def test_merged_partitions_equal_the_whole(frame, k, random):
    if not (frame["order_date"] < AS_OF).any():
        return
    customers = sorted(frame["customer_id"].unique())
    group_of = {c: random.randrange(k) for c in customers}
    whole, ids = compute_facts(frame, AS_OF, NEEDS)
    merged, merged_ids = merge_facts(in_parts(frame, group_of))
    pd.testing.assert_index_equal(merged_ids, ids)
    assert_same_facts(merged, whole)
    assert_same_triggers(merged, whole)


@pytest.mark.parametrize(("seed", "k"), [(1, 2), (2, 5), (3, 13)])
def test_merged_partitions_of_a_bigger_frame_equal_the_whole(seed, k):
    frame = random_frame(seed)
    rng = np.random.default_rng(seed)
    group_of = {c: int(rng.integers(k)) for c in frame["customer_id"].unique()}
    whole, ids = compute_facts(frame, AS_OF, NEEDS)
    merged, merged_ids = merge_facts(in_parts(frame, group_of))
    pd.testing.assert_index_equal(merged_ids, ids)
    assert_same_facts(merged, whole)
    assert_same_triggers(merged, whole)


def test_a_customer_in_two_parts_is_refused():
    frame = random_frame(4, rows=200, customers=20)
    part = compute_facts(frame, AS_OF, NEEDS)
    with pytest.raises(ValueError, match="disjoint"):
        merge_facts([part, part])


def test_parts_computed_differently_are_refused():
    frame = random_frame(5, rows=200, customers=20)
    first = frame["customer_id"] < "K00010"
    a = compute_facts(frame.loc[first], AS_OF, NEEDS)
    b = compute_facts(frame.loc[~first], AS_OF, FactNeeds())
    with pytest.raises(ValueError, match="computed alike"):
        merge_facts([a, b])


def test_an_empty_part_changes_nothing():
    frame = random_frame(6, rows=300, customers=30)
    whole = compute_facts(frame, AS_OF, NEEDS)
    first_day = int(to_days(frame["order_date"]).min())
    empty = compute_facts(frame.iloc[:0], AS_OF, NEEDS, first_day=first_day)
    merged, ids = merge_facts([empty, whole, empty])
    pd.testing.assert_index_equal(ids, whole[1])
    assert_same_facts(merged, whole[0])
