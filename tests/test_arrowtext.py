"""Arrow text columns: texts spread over rows, percentages as Python writes them."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from winback_cli import arrowtext
from winback_cli.arrowtext import empty_texts, percents, spread, str_series


def test_the_doctests_hold():
    assert doctest.testmod(arrowtext).failed == 0


@given(st.lists(st.tuples(st.booleans(), st.text(max_size=5)), max_size=30))
def test_spread_puts_each_text_at_its_row(rows):
    mask = np.array([hit for hit, _ in rows], dtype=bool)
    texts = pa.array([text for hit, text in rows if hit], pa.large_string())
    expected = [text if hit else "" for hit, text in rows]
    assert spread(texts, mask, len(rows)).to_pylist() == expected


def test_spread_treats_missing_text_as_empty():
    assert spread(pa.array(["a", None]), np.array([0, 2]), 3).to_pylist() == ["a", "", ""]


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=50))
def test_percents_read_like_python(values):
    assert percents(np.array(values, dtype=np.float64)).to_pylist() == [f"{v:.0%}" for v in values]


def test_percents_of_shares_and_exact_halves():
    values = np.concatenate([np.arange(0, 2001) / 2000, np.arange(0, 400) / 200, [-0.0, -0.004]])
    assert percents(values).to_pylist() == [f"{v:.0%}" for v in values.tolist()]


def test_a_str_series_shares_arrows_text():
    import pandas as pd

    series = str_series(pa.array(["x", ""], pa.large_string()), pd.Index([3, 4]))
    assert series.dtype == "str"
    assert series.to_dict() == {3: "x", 4: ""}


@pytest.mark.parametrize("n", [0, 1, 5])
def test_empty_texts_are_a_valid_column_of_empty_strings(n):
    texts = empty_texts(n)
    texts.validate(full=True)
    assert texts.type == pa.large_string()
    assert texts.null_count == 0
    assert texts.to_pylist() == [""] * n
    assert pd.Series(texts, dtype="str").eq("").all()
