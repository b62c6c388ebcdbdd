"""Money text: one value or a whole column, the same characters either way, close to Babel."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from babel.numbers import format_currency
from hypothesis import given
from hypothesis import strategies as st

from winback_cli import money
from winback_cli.money import money_formatter

LOCALES = [
    ("de_DE", "EUR"),
    ("en_US", "USD"),
    ("en_US", "EUR"),
    ("de_CH", "CHF"),
    ("fr_FR", "EUR"),
    ("nl_NL", "EUR"),
]
EDGES = [
    0.0,
    -0.0,
    0.004,
    0.005,
    -0.005,
    -0.001,
    0.125,
    0.375,
    1.005,
    1.015,
    2.675,
    999.995,
    999999.995,
    1234.5,
    -1234.5,
    1e15,
    -1e15,
    4.5e13,
    4.49e13,
    45035996273704.95,
    1e-320,
    math.nan,
    math.inf,
    -math.inf,
]


def test_the_doctests_hold():
    assert doctest.testmod(money).failed == 0


@pytest.mark.parametrize(("locale", "currency"), LOCALES)
def test_a_column_reads_like_each_value_formatted_on_its_own(locale, currency):
    fmt = money_formatter(locale, currency)
    rng = np.random.default_rng(7)
    values = np.concatenate(
        [
            EDGES,
            rng.normal(0, 1000, 3000),
            rng.lognormal(5, 4, 3000) * rng.choice([-1, 1], 3000),
            np.arange(-3000, 3000) / 1000,  # every third decimal, ties included
            np.arange(3000) / 200 + 0.005,
            10.0 ** np.arange(-5, 16),
            10.0 ** np.arange(0, 16) - 0.005,
        ]
    )
    assert fmt.many(values).tolist() == [fmt(float(v)) for v in values]


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=50))
def test_any_floats_read_the_same_in_a_column(values):
    fmt = money_formatter("de_DE", "EUR")
    assert fmt.many(values).tolist() == [fmt(v) for v in values]


@given(st.lists(st.integers(-(10**14), 10**14), max_size=50), st.sampled_from([1, 10, 100, 1000]))
def test_amounts_with_few_decimals_read_the_same_in_a_column(numbers, divisor):
    fmt = money_formatter("fr_FR", "EUR")
    values = [n / divisor for n in numbers]
    assert fmt.many(values).tolist() == [fmt(v) for v in values]


@given(
    st.lists(st.integers(0, 10**12), min_size=1, max_size=50),
    st.sampled_from([2, 3, 4, 8, 200, 400, 1000, 2000]),
)
def test_averages_near_half_cents_read_the_same_in_a_column(cents, divisor):
    # Means of amounts in cents often land on a half cent, or within a float's
    # error of one: the column decides those ties without formatting one by one.
    fmt = money_formatter("en_US", "USD")
    values = np.array(cents, dtype=np.float64) / divisor / (100 if divisor < 100 else 1)
    values = np.concatenate([values, -values])
    assert fmt.many(values).tolist() == [fmt(float(v)) for v in values]


def test_exact_ties_round_half_to_even_in_a_column():
    fmt = money_formatter("en_US", "USD")
    values = np.arange(0, 4096) / 800  # 0.125, 0.375, ... are exact binary ties
    assert fmt.many(values).tolist() == [fmt(float(v)) for v in values]
    assert fmt.many([0.125, 0.375]).tolist() == ["$0.12", "$0.38"]


@pytest.mark.parametrize(("locale", "currency"), LOCALES)
def test_agrees_with_babel_away_from_half_cents(locale, currency):
    fmt = money_formatter(locale, currency)
    rng = np.random.default_rng(3)
    values = np.concatenate([np.round(rng.normal(0, 5000, 300), 2), [0.0, 12345678.9, -0.5]])
    spread = rng.lognormal(3, 3, 300) + 0.01  # above a cent: no "-0,00" from Babel
    values = np.concatenate([values, spread * rng.choice([-1, 1], 300)])
    babel = [format_currency(v, currency, locale=locale) for v in values]
    assert fmt.many(values).tolist() == babel
    assert [fmt(v) for v in values] == babel


def test_differs_from_babel_only_on_purpose():
    fmt = money_formatter("de_DE", "EUR")
    # Python rounds the binary value (1.015 is 1.01499...); Babel rounds the text "1.015".
    assert fmt(1.015) == "1,01\xa0€"
    assert format_currency(1.015, "EUR", locale="de_DE") == "1,02\xa0€"
    # Nothing owed is not shown as owed: no minus on an amount that rounds to zero.
    assert fmt(-0.001) == "0,00\xa0€"
    assert format_currency(-0.001, "EUR", locale="de_DE") == "-0,00\xa0€"


def test_patterns_come_from_babel():
    swiss = money_formatter("de_CH", "CHF")
    assert swiss(-1234.5) == "CHF-1’234.50"
    assert swiss.many([1234567.891]).tolist() == ["CHF\xa01’234’567.89"]
    assert money_formatter("fr_FR", "EUR").many([-1234.5]).tolist() == ["-1\u202f234,50\xa0€"]


def test_an_empty_column_gives_no_text():
    assert money_formatter("en_US", "USD").many([]).tolist() == []
    assert money_formatter("en_US", "USD").column(np.array([])).to_pylist() == []
