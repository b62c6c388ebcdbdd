"""The text helpers of the triggers: dates, money and evidence joined only where a trigger fired."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from winback_cli.money import money_formatter
from winback_cli.trigger_text import Money, _in_row_order, iso_dates, join_fired, join_runs


def test_dates_are_iso_days():
    days = np.array([0, 20_393, -1, 11_016], dtype=np.int64)
    assert iso_dates(days).tolist() == ["1970-01-01", "2025-11-01", "1969-12-31", "2000-02-29"]


def test_dates_match_numpy_over_the_whole_calendar_and_beyond():
    days = np.arange(-719_170, 2_932_905, 17)  # 0000-12 to 10000-01, every 17th day
    days = np.concatenate([days, [-719_162, 2_932_896, np.iinfo(np.int64).min]])  # and NaT
    expected = np.datetime_as_string(days.astype("datetime64[D]"), unit="D")
    assert iso_dates(days).tolist() == expected.tolist()


@given(st.lists(st.integers(-800_000, 3_000_000), max_size=30))
def test_any_days_read_as_numpy_reads_them(days):
    days = np.array(days, dtype=np.int64)
    expected = np.datetime_as_string(days.astype("datetime64[D]"), unit="D")
    assert iso_dates(days).tolist() == expected.tolist()


def test_join_fills_only_fired_rows():
    fired = np.array([True, False, True])
    days = iso_dates(np.array([0, 1, 2]))
    text = join_fired(fired, "last order ", days, ", ", np.array([5, 6, -7]))
    assert text.type == pa.large_string()
    assert text.to_pylist() == ["last order 1970-01-01, 5", "", "last order 1970-01-03, -7"]


def test_join_spells_numbers_as_str_does():
    fired = np.array([True, True, True])
    text = join_fired(fired, np.array([4.1, 20.0, 1e16]), "x; ", np.array([True, False, True]))
    assert text.to_pylist() == ["4.1x; True", "20.0x; False", "1e+16x; True"]


def test_join_formats_money_with_the_locale_or_any_function():
    fired = np.array([False, True, True])
    values = np.array([1.0, 1234.5, -0.5])
    euros = join_fired(fired, "sum ", Money(values, money_formatter("de_DE", "EUR")))
    assert euros.to_pylist() == ["", "sum 1.234,50\xa0€", "sum -0,50\xa0€"]
    plain = join_fired(fired, Money(values, "{:,.2f}".format), " total")
    assert plain.to_pylist() == ["", "1,234.50 total", "-0.50 total"]


def test_join_without_arrays_repeats_the_text():
    assert join_fired(np.array([True, False, True]), "a", 1).to_pylist() == ["a1", "", "a1"]


def test_join_when_nothing_fired_is_all_empty():
    assert join_fired(np.zeros(2, dtype=bool), "a", np.array([1, 2])).to_pylist() == ["", ""]


def test_runs_of_rows_join_end_to_end():
    text = pa.array(["a", "; b", "c", "; d", "; e"], pa.large_string())
    assert join_runs(text, np.array([0, 2])).to_pylist() == ["a; b", "c; d; e"]
    assert join_runs(text.slice(2), np.array([0, 1])).to_pylist() == ["c", "; d; e"]


@st.composite
def trigger_rows(draw) -> tuple[int, list[np.ndarray]]:
    """Rows, and for each trigger the rows it fired for, at most once each, in any order."""
    size = draw(st.integers(0, 40))
    fired = st.sets(st.integers(0, size - 1)) if size else st.just(set())
    triggers = draw(st.lists(fired, max_size=5))
    return size, [np.array(draw(st.permutations(sorted(t))), dtype=np.int64) for t in triggers]


@given(trigger_rows())
def test_pieces_are_put_in_row_order_as_a_stable_sort_would(case):
    size, owners = case
    order, rows = _in_row_order(owners, size)
    everything = np.concatenate([np.zeros(0, dtype=np.int64), *owners])
    expected = np.argsort(everything, kind="stable")
    assert order.tolist() == expected.tolist()
    assert rows.tolist() == everything[expected].tolist()
