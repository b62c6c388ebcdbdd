"""Per-customer facts: the helpers that make them fast keep them right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winback_cli.durations import Duration
from winback_cli.facts import FactNeeds, compute_facts, day_of, to_days
from winback_cli.facts_text import (
    hash_text,
    rank_text,
    stripped,
    take_text,
    text_array,
)

from .facts_reference import (
    AS_OF,
    EXACT_AMOUNTS,
    order_frames,
    random_frame,
    reference_categories,
    reference_customers,
    reference_orders,
    reference_purchase_days,
)


def test_chunked_arrow_columns_are_read_and_customers_come_in_id_order():
    chunked = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([["b", "a"], ["b", "c"]])))
    frame = pd.DataFrame(
        {
            "customer_id": chunked,
            "order_date": pd.to_datetime(["2025-01-02"] * 4).astype("datetime64[s]"),
            "amount": [1.0, 2.0, 3.0, 4.0],
        }
    )
    facts, ids = compute_facts(frame, pd.Timestamp("2025-02-01"))
    assert ids.tolist() == ["a", "b", "c"]
    assert facts.customers["revenue_total"].tolist() == [2.0, 4.0, 4.0]


def _orders(rows):
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"]).astype("datetime64[s]")
    return frame


def test_lines_of_one_order_count_once_and_shared_ids_stay_apart():
    frame = _orders(
        [
            ("A", "1", "2025-01-02", 10.0),
            ("A", "1", "2025-01-02", 5.0),  # two lines, one order
            ("B", "1", "2025-01-03", 7.0),  # the same id used by another customer
            ("B", "", "2025-01-04", 1.0),
            ("B", "", "2025-01-05", 2.0),  # no id: each its own order
        ]
    )
    facts, ids = compute_facts(frame, pd.Timestamp("2025-02-01"))
    table = facts.customers.set_index(ids)
    assert table.loc["A", "orders"] == 1 and table.loc["A", "revenue_total"] == 15.0
    assert table.loc["B", "orders"] == 3
    assert np.isclose(table.loc["A", "aov"], 15.0)


# --- the fast paths against a plain pandas reference -----------------------------------

SIX_MONTHS = Duration(6, "mo")
TEXT = st.characters(exclude_categories=("Cs",))  # Arrow holds UTF-8: no lone surrogates
NEEDS = FactNeeds(windows=(SIX_MONTHS,), reasons_days=SIX_MONTHS.approx_days, clv_unit_days=1.0)


def check_against_reference(frame: pd.DataFrame) -> None:
    facts, ids = compute_facts(frame, AS_OF, NEEDS)
    frame = frame.loc[frame["order_date"] < AS_OF]
    assert ids.tolist() == sorted(frame["customer_id"].unique())
    expected = reference_customers(frame)
    table = facts.customers.set_axis(ids)
    has = table["has_order"].to_numpy()
    np.testing.assert_array_equal(has, expected["orders"].notna())
    shown = table.loc[has]
    wanted = expected.loc[has]
    days = {c: to_days(shown[c]) for c in ("first_order", "last_order")}
    np.testing.assert_array_equal(days["first_order"], wanted["first"])
    np.testing.assert_array_equal(days["last_order"], wanted["last"])
    for column in ("orders", "order_days", "returns"):
        np.testing.assert_array_equal(table[column], expected[column].fillna(0).astype(int))
    np.testing.assert_allclose(table["median_gap_days"], expected["median_gap_days"])
    for column in ("revenue_total", "returns_value"):
        np.testing.assert_allclose(table[column], expected[column], atol=1e-9)
    np.testing.assert_allclose(
        shown["aov"], wanted["order_value"] / wanted["orders"], rtol=1e-12, atol=1e-12
    )
    check_categories(facts, ids, frame)
    check_periods(facts, ids, frame)
    check_purchase_summary(facts, ids, frame)


def check_categories(facts, ids, frame) -> None:
    got = facts.categories.assign(customer_id=ids[facts.categories["code"]])
    got = got.set_index(["customer_id", "category"])[["orders", "last_day"]]
    got.index = got.index.set_levels(got.index.levels[1].astype(str), level=1)
    expected = reference_categories(frame)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_index_type=False)
    # Grouped by customer, then in name order: what category_lapse's evidence relies on.
    table = facts.categories
    keys = list(zip(table["code"], table["category"].astype(str), strict=True))
    assert keys == sorted(keys)


def check_periods(facts, ids, frame) -> None:
    orders = reference_orders(frame)
    end, middle = day_of(AS_OF), day_of(SIX_MONTHS.before(AS_OF))
    start = day_of(SIX_MONTHS.before(SIX_MONTHS.before(AS_OF)))
    window = facts.window(SIX_MONTHS)
    for period, (low, high) in enumerate([(middle, end), (start, middle)]):
        inside = orders.loc[(orders["day"] >= low) & (orders["day"] < high)]
        count = inside.groupby("customer_id").size().reindex(ids, fill_value=0)
        value = inside.groupby("customer_id")["amount"].sum().reindex(ids, fill_value=0.0)
        np.testing.assert_array_equal(window.orders[period], count)
        np.testing.assert_allclose(window.value[period], value, atol=1e-9)
    last = to_days(facts.customers["last_order"]) + 1
    width = SIX_MONTHS.approx_days
    for rows, values, got in [
        (orders, orders["amount"], facts.reasons.value),
        (orders, pd.Series(1.0, index=orders.index), facts.reasons.orders),
    ]:
        code = ids.get_indexer(rows["customer_id"])
        since = last[code] - rows["day"].to_numpy()
        for period, inside in enumerate([since <= width, (since > width) & (since <= 2 * width)]):
            total = np.bincount(code[inside], weights=values.to_numpy()[inside], minlength=len(ids))
            np.testing.assert_allclose(got[period], total, atol=1e-9)
    returns = frame.loc[frame["amount"] < 0]
    code = ids.get_indexer(returns["customer_id"])
    since = last[code] - to_days(returns["order_date"])
    for period, inside in enumerate([since <= width, (since > width) & (since <= 2 * width)]):
        total = np.bincount(code[inside], weights=-returns["amount"][inside], minlength=len(ids))
        np.testing.assert_allclose(facts.reasons.returned[period], total, atol=1e-9)


def check_purchase_summary(facts, ids, frame) -> None:
    value, left_out = reference_purchase_days(frame)
    rfm = facts.purchases.rfm
    assert facts.purchases.returns_left_out == left_out
    by_customer = value.groupby(level=0)
    days = pd.Series(value.index.get_level_values(1), index=value.index)
    first, last = days.groupby(level=0).min(), days.groupby(level=0).max()
    repeat = value.loc[days != days.groupby(level=0).transform("min")]
    spend = repeat.loc[repeat > 0]
    expected = pd.DataFrame(
        {
            "frequency": by_customer.size() - 1,
            "recency": last - first,
            "T": day_of(AS_OF) - first,
            "n_spend_days": spend.groupby(level=0).size(),
            "monetary": spend.groupby(level=0).mean(),
        }
    ).reindex(ids)
    np.testing.assert_array_equal(rfm.frequency, expected["frequency"].fillna(0))
    np.testing.assert_array_equal(rfm.recency, expected["recency"])
    np.testing.assert_array_equal(rfm.T, expected["T"])
    np.testing.assert_array_equal(rfm.n_spend_days, expected["n_spend_days"].fillna(0))
    np.testing.assert_allclose(rfm.monetary, expected["monetary"].fillna(0.0), atol=1e-9)
    assert rfm.n_spend_days_left_out == int((repeat <= 0).sum())


@settings(max_examples=60, deadline=None)
@given(order_frames(amounts=EXACT_AMOUNTS))
def test_facts_match_a_plain_pandas_reference(frame):
    check_against_reference(frame)


@pytest.mark.parametrize("seed", [1, 2])
def test_facts_of_a_bigger_frame_match_the_reference(seed):
    check_against_reference(random_frame(seed).assign(amount=lambda f: f["amount"].round(0)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(TEXT.filter(lambda c: c != "\x00"), max_size=12), min_size=1))
def test_ranked_texts_sort_and_compare_like_the_texts(texts):
    ranked = rank_text(text_array(pd.Series(texts, dtype="str")), 62)
    if ranked is None:  # too wide for one integer: the caller falls back
        return
    key, space = ranked
    assert ((key >= 0) & (key < space)).all()
    by_text = sorted(range(len(texts)), key=lambda i: (texts[i], i))
    assert sorted(range(len(texts)), key=lambda i: (key[i], i)) == by_text


@given(st.lists(st.text(TEXT, max_size=20), min_size=1))
def test_equal_texts_hash_alike(texts):
    twice = texts + texts[::-1]
    hashed = hash_text(text_array(pd.Series(twice, dtype="str")))
    assert hashed[: len(texts)].tolist() == hashed[len(texts) :][::-1].tolist()


@given(st.lists(st.one_of(st.text(max_size=6), st.none()), max_size=8), st.integers(1, 3))
def test_stripped_is_str_strip(texts, chunks):
    # A column read in blocks arrives as several Arrow chunks, each checked on its own.
    parts = [texts[k::chunks] for k in range(chunks)]
    arrow = pa.chunked_array([pa.array(p, pa.large_string()) for p in parts], pa.large_string())
    values = pd.Series(pd.arrays.ArrowStringArray(arrow), dtype="str")
    pd.testing.assert_series_equal(stripped(values), values.str.strip())


def test_customer_ids_too_varied_to_rank_fall_back_to_the_dictionary():
    frame = _orders(
        [(f"{'x' * 30}{i}@example.com", str(i), "2025-01-02", float(i)) for i in range(5, 0, -1)]
    )
    facts, ids = compute_facts(frame, pd.Timestamp("2025-02-01"))
    assert ids.tolist() == sorted(frame["customer_id"])
    assert facts.customers["revenue_total"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_an_as_of_time_after_midnight_keeps_that_morning():
    frame = _orders([("A", "1", "2024-12-02", 10.0), ("A", "2", "2025-02-01", 5.0)])
    frame.loc[1, "order_date"] = pd.Timestamp("2025-02-01 08:00")
    facts, _ = compute_facts(frame, pd.Timestamp("2025-02-01 12:00"))
    table = facts.customers
    assert table["orders"].tolist() == [2] and table["days_since_last_order"].tolist() == [0]
    assert facts.monthly_revenue[0, :2].tolist() == [5.0, 10.0]


def test_no_rows_before_the_as_of_date_give_empty_facts():
    frame = _orders([("A", "1", "2025-03-02", 10.0)])
    facts, ids = compute_facts(frame, pd.Timestamp("2025-02-01"), NEEDS)
    assert len(ids) == 0 and len(facts.customers) == 0 and len(facts.categories) == 0
    assert facts.monthly_revenue.shape == (0, len(facts.month_starts))
    assert facts.window(SIX_MONTHS).orders.shape == (2, 0)
    assert facts.purchases.rfm.n_customers == 0


@given(
    st.lists(st.text(max_size=3), max_size=12).flatmap(
        lambda texts: st.tuples(
            st.just(texts), st.lists(st.integers(0, max(len(texts) - 1, 0)), max_size=20)
        )
    ),
    st.booleans(),
)
def test_take_text_is_arrow_take(case, one_length):
    texts, order = case
    if one_length:  # ids of one length take the fixed-size path
        texts = [(t.encode("ascii", "replace").decode() + "___")[:3] for t in texts]
    if not texts:
        order = []
    array = pa.array(texts, pa.large_string())
    taken = take_text(pa.chunked_array([array[:2], array[2:]]), np.array(order, dtype=np.int64))
    assert taken.equals(array.take(pa.array(order, pa.int64())))


def test_plain_order_numbers_in_numeric_order_take_the_exact_path():
    from winback_cli.facts_orders import line_keys

    keys = line_keys(pd.Series(["9", "10", "10", "11"], dtype="str"), np.zeros(4, np.int64))
    assert keys.exact
    assert keys.key.tolist() == [1, 2, 2, 3]


def test_order_ids_of_one_length_out_of_text_order_still_share_keys():
    # Lengths never fall, but B7 comes back after A1: only text order makes neighbours exact.
    from winback_cli.facts_orders import line_keys

    keys = line_keys(pd.Series(["B7", "A1", "B7"], dtype="str"), np.zeros(3, np.int64))
    assert not keys.exact
    assert keys.key[0] == keys.key[2] != keys.key[1]
