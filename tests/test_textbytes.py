"""Column text from bytes: digits, dates and Arrow buffers agree with Python's own spelling."""

from __future__ import annotations

import datetime as dt
import doctest

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from winback_cli import textbytes
from winback_cli.textbytes import (
    civil,
    datetimes,
    digit_count,
    digits,
    either,
    first_bytes,
    fixed_digits,
    join_columns,
    joined,
    pack,
    wrap,
)

INT64 = st.integers(0, np.iinfo(np.int64).max)


def test_the_doctests_hold():
    assert doctest.testmod(textbytes).failed == 0


@given(st.lists(INT64, max_size=40))
def test_digits_spell_integers_as_str_does(numbers):
    array = np.array(numbers, dtype=np.int64)
    assert pack(digits(array)).to_pylist() == [str(n) for n in numbers]
    assert digit_count(array).tolist() == [len(str(n)) for n in numbers]


@given(st.lists(st.integers(0, 999_999), max_size=40))
def test_fixed_digits_pad_with_zeros(numbers):
    assert pack(fixed_digits(np.array(numbers), 6)).to_pylist() == [f"{n:06d}" for n in numbers]


def test_either_and_join_columns_build_rows():
    rows = join_columns([either(np.array([True, False]), "-€", "€"), digits(np.array([5, 10]))])
    assert pack(rows).to_pylist() == ["-€5", "€10"]


@given(st.lists(st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)), max_size=30))
def test_civil_dates_match_the_calendar(dates):
    days = np.array([(d - dt.date(1970, 1, 1)).days for d in dates], dtype=np.int64)
    year, month, day = civil(days)
    assert list(zip(year.tolist(), month.tolist(), day.tolist(), strict=True)) == [
        (d.year, d.month, d.day) for d in dates
    ]


@given(
    st.lists(
        st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9999, 12, 31)),
        max_size=30,
    ),
    st.sampled_from(["s", "ms", "us"]),
)
def test_datetimes_match_strftime(stamps, unit):
    values = pd.Series(stamps, dtype=f"datetime64[{unit}]").to_numpy()
    text, odd = datetimes(values, time_separator="T")
    assert not odd.any()
    expected = [pd.Timestamp(v).strftime("%Y-%m-%dT%H:%M:%S") for v in values]
    assert text.to_pylist() == expected
    german, _ = datetimes(values, day_first=True)
    assert german.to_pylist() == [pd.Timestamp(v).strftime("%d.%m.%Y") for v in values]


def test_datetimes_leave_missing_and_far_years_to_the_caller():
    values = np.array(["2025-03-02T14:05:09", "NaT", "0999-12-31"], dtype="datetime64[s]")
    text, odd = datetimes(values)
    assert text.to_pylist()[0] == "2025-03-02"
    assert odd.tolist() == [False, True, True]


def test_dates_spell_far_years_one_by_one_and_missing_ones_as_null(monkeypatch):
    replaced = []
    replace_rows = textbytes.replace_rows
    monkeypatch.setattr(
        textbytes,
        "replace_rows",
        lambda t, rows, o: replaced.append(len(rows)) or replace_rows(t, rows, o),
    )
    values = np.array(["2025-03-02", "NaT", "0999-12-31", "NaT"], dtype="datetime64[s]")
    text = textbytes.date_texts(pd.Series(values), False, " ", day_first=True)
    assert text.to_pylist() == ["02.03.2025", None, "31.12.0999", None]
    assert replaced == [1]  # the far year only
    # A column can be all NaT (no lifetime value): none of it is spelled one by one.
    nothing = textbytes.date_texts(pd.Series(values[[1, 3]]), False, " ")
    assert nothing.to_pylist() == [None, None]
    assert replaced == [1]


def test_buffers_of_sliced_chunked_and_null_text():
    text = pa.chunked_array([["=a", "b"], [None, "", "+c"]], pa.large_string())
    assert first_bytes(text).tolist() == [ord("="), ord("b"), 0, 0, ord("+")]
    assert bytes(joined(text)) == b"=ab+c"
    sliced = pa.array(["x", "y,z", "w"], pa.large_string()).slice(1)
    assert bytes(joined(sliced)) == b"y,zw"
    assert wrap(sliced, np.array([True, False]), '"').to_pylist() == ['"y,z"', "w"]


def test_wrap_quotes_neighbours_and_keeps_the_rest():
    text = pa.array(["a", "b", "", "c", "d"], pa.large_string())
    wrapped = wrap(text, np.array([True, True, False, False, True]), '"')
    assert wrapped.to_pylist() == ['"a"', '"b"', "", "c", '"d"']
