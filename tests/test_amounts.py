"""Money columns as shops, ERPs and spreadsheets write them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winback_cli.amounts import AmountResult, parse_amounts, parse_number


def column(*values: str) -> pd.Series:
    return pd.Series(list(values), dtype="str")


@pytest.mark.parametrize(
    ("text", "expected", "decimal", "currencies"),
    [
        ("1234.56", 1234.56, ".", set()),
        ("1.234,56", 1234.56, ",", set()),
        ("1234,56", 1234.56, ",", set()),
        ("1,234.50", 1234.5, ".", set()),
        ("-12,50", -12.5, ",", set()),
        ("4380.31-", -4380.31, ".", set()),
        ("(123.45)", -123.45, ".", set()),
        ("1.234,50 €", 1234.5, ",", {"EUR"}),
        ("€ 1.234,50", 1234.5, ",", {"EUR"}),
        ("-€ 12,50", -12.5, ",", {"EUR"}),
        ("12,50 € -", -12.5, ",", {"EUR"}),
        ("$1,234.50", 1234.5, ".", {"USD"}),
        ("EUR 12,00", 12.0, ",", {"EUR"}),
        ("eur 12,00", 12.0, ",", {"EUR"}),
        ("£3.50", 3.5, ".", {"GBP"}),
        ("CHF 1'234.50", 1234.5, ".", {"CHF"}),
        ("1'234.50", 1234.5, ".", set()),
        ("1’234.50", 1234.5, ".", set()),
        ("1\u00a0234,50", 1234.5, ",", set()),
        ("1\u202f234,50", 1234.5, ",", set()),
        ("1\u2009234.50", 1234.5, ".", set()),
        ("1.2E+03", 1200.0, ".", set()),
        ("1.5e-2", 0.015, ".", set()),
        ("1,2E3", 1200.0, ",", set()),
        ("+12.5", 12.5, ".", set()),
        ("  12.5\t", 12.5, ".", set()),
        ("1.234.567", 1234567.0, ",", set()),
        ("1,234,567", 1234567.0, ".", set()),
        ("0.125", 0.125, ".", set()),
        ("1234.567", 1234.567, ".", set()),
        ("42", 42.0, ".", set()),
    ],
)
def test_one_value_per_format(text, expected, decimal, currencies):
    result = parse_amounts(column(text))
    assert result.values.iloc[0] == pytest.approx(expected)
    assert result.problems.iloc[0] == ""
    assert result.decimal == decimal
    assert result.currencies == frozenset(currencies)


def test_german_column_with_thousands_only_values_follows_the_evidence():
    result = parse_amounts(column("1.234", "2,50", "1.000.000", "7"))
    assert result.decimal == ","
    assert result.values.tolist() == [1234.0, 2.5, 1_000_000.0, 7.0]


def test_ambiguous_column_follows_the_hint():
    values = column("1.234", "5.000")
    assert parse_amounts(values).values.tolist() == [1.234, 5.0]
    german = parse_amounts(values, decimal_hint=",")
    assert german.decimal == ","
    assert german.values.tolist() == [1234.0, 5000.0]


def test_forced_decimal_wins_over_evidence():
    result = parse_amounts(column("1.234", "12.50"), decimal=",")
    assert result.decimal == ","
    assert result.values.iloc[0] == 1234.0
    assert math.isnan(result.values.iloc[1])
    assert result.problems.iloc[1] == "not a number with ',' as decimal separator: '12.50'"


def test_values_contradicting_the_majority_are_problems_not_guesses():
    result = parse_amounts(column("1.234,56", "2.345,67", "9,99", "1,234.56"))
    assert result.decimal == ","
    assert result.values.iloc[:3].tolist() == [1234.56, 2345.67, 9.99]
    assert math.isnan(result.values.iloc[3])
    assert result.problems.iloc[3] == (
        "ambiguous number format: '1,234.56' "
        "(most values in this column use ',' as the decimal separator)"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty amount"),
        ("   ", "empty amount"),
        ("abc", "not a number: 'abc'"),
        ("12 pcs", "not a number: '12 pcs'"),
        ("--5", "not a number: '--5'"),
        ("-5-", "not a number: '-5-'"),
        ("(5", "not a number: '(5'"),
        ("1 2", "not a number: '1 2'"),
        ("1,23,4", "not a number: '1,23,4'"),
        ("12€34", "not a number: '12€34'"),
        ("1e999", "not a number: '1e999'"),
    ],
)
def test_unreadable_values_are_reported(text, problem):
    result = parse_amounts(column("1.50", text))
    assert result.values.iloc[0] == 1.5
    assert math.isnan(result.values.iloc[1])
    assert result.problems.iloc[1] == problem


def test_long_values_are_shortened_in_problems():
    result = parse_amounts(column("x" * 500))
    assert result.problems.iloc[0] == "not a number: '" + "x" * 40 + "'"


def test_missing_values_from_object_columns_are_empty_amounts():
    result = parse_amounts(pd.Series(["1.5", None, np.nan], dtype=object))
    assert result.values.iloc[0] == 1.5
    assert result.problems.tolist() == ["", "empty amount", "empty amount"]


def test_index_and_name_are_kept():
    values = pd.Series(["1,5", "x"], index=[10, 20], name="Betrag", dtype="str")
    result = parse_amounts(values)
    assert result.values.index.tolist() == [10, 20]
    assert result.problems.index.tolist() == [10, 20]
    assert result.values.name == "Betrag"
    assert result.values.dtype == "float64"


@pytest.mark.parametrize(
    ("values", "expected", "decimal"),
    [
        (["1", "-2.5", "3.25"], [1.0, -2.5, 3.25], "."),
        (["1", "-2,5", "3,25"], [1.0, -2.5, 3.25], ","),
        (["1", "22", "-333"], [1.0, 22.0, -333.0], "."),
        (["1.500", "2.000"], [1.5, 2.0], "."),
        (["1.500", "2.5"], [1.5, 2.5], "."),
    ],
)
def test_plain_columns(values, expected, decimal):
    result = parse_amounts(column(*values))
    assert result.values.tolist() == expected
    assert result.decimal == decimal
    assert (result.problems == "").all()


def test_plain_thousands_with_a_comma_hint_take_the_full_path():
    assert parse_amounts(column("1.500", "2.000"), decimal_hint=",").values.tolist() == [
        1500.0,
        2000.0,
    ]


def test_empty_column():
    result = parse_amounts(column())
    assert len(result.values) == 0
    assert result.decimal == "."


@pytest.mark.parametrize(
    ("text", "decimal", "expected"),
    [
        ("200", ".", 200.0),
        ("1.234,50 €", ",", 1234.5),
        ("12,5", None, 12.5),
        ("1,000.50", None, 1000.5),
        ("€ 99", None, 99.0),
    ],
)
def test_parse_number(text, decimal, expected):
    assert parse_number(text, decimal=decimal) == expected


@pytest.mark.parametrize(
    ("text", "decimal", "message"),
    [
        ("abc", ".", "cannot read 'abc' as a number"),
        ("12,5", ".", "write it like 1234.50"),
        ("1.000", None, "'1.000' is ambiguous"),
        ("", ".", "empty amount"),
    ],
)
def test_parse_number_errors(text, decimal, message):
    with pytest.raises(ValueError, match=message):
        parse_number(text, decimal=decimal)


# --- properties -------------------------------------------------------------------------


def written(cents: int, style: str, thousands: bool, currency: str, minus: str) -> str:
    """An amount the way a person or export tool might write it."""
    whole, fraction = divmod(abs(cents), 100)
    group, point = (".", ",") if style == "de" else (",", ".")
    digits = f"{whole:,}".replace(",", group) if thousands else str(whole)
    number = f"{digits}{point}{fraction:02d}"
    if currency:
        number = f"{currency} {number}" if currency in {"EUR", "$"} else f"{number} {currency}"
    if cents >= 0:
        return number
    return {"lead": f"-{number}", "trail": f"{number}-", "parens": f"({number})"}[minus]


styles = st.tuples(
    st.sampled_from(["de", "en"]),
    st.booleans(),
    st.sampled_from(["", "€", "EUR", "$"]),
    st.sampled_from(["lead", "trail", "parens"]),
)


@given(st.lists(st.integers(-(10**13), 10**13), min_size=1, max_size=30), styles)
def test_written_amounts_read_back(cents, style):
    values = column(*(written(c, *style) for c in cents))
    result = parse_amounts(values)
    assert result.decimal == ("," if style[0] == "de" else ".")
    assert (result.problems == "").all(), result.problems.tolist()
    for got, want in zip(result.values, cents, strict=True):
        assert math.isclose(got, want / 100, rel_tol=1e-12)


def assert_consistent(result, size: int) -> None:
    assert len(result.values) == len(result.problems) == size
    assert ((result.problems == "") == result.values.notna()).all()


text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
amountish = st.text(alphabet="0123456789.,'-+() €$EUReE\u00a0", max_size=15)


@given(st.lists(st.one_of(text, amountish), max_size=20), st.sampled_from([None, ".", ","]))
def test_any_text_gives_a_value_or_a_reason(values, decimal):
    result = parse_amounts(column(*values), decimal=decimal)
    assert_consistent(result, len(values))
    assert result.decimal in {".", ","}


def fully_read(values: list[str], **options) -> AmountResult:
    """What the full reading gives, with the fast path for bare numbers switched off."""
    import winback_cli.amounts as amounts

    original = amounts.parse_bare
    amounts.parse_bare = lambda *args: None
    try:
        return parse_amounts(pd.Series(values, dtype="str"), **options)
    finally:
        amounts.parse_bare = original


def assert_read_alike(values: list[str], **options) -> AmountResult:
    """The fast path reads `values` exactly as the full reading does; its result."""
    fast = parse_amounts(pd.Series(values, dtype="str"), **options)
    full = fully_read(values, **options)
    pd.testing.assert_series_equal(fast.values, full.values)
    assert fast.problems.tolist() == full.problems.tolist()
    assert (fast.decimal, fast.currencies) == (full.decimal, full.currencies)
    return fast


def bare(text: pa.Array, decimal=None, hint=","):
    import winback_cli.amounts as amounts

    return amounts.parse_bare(text, amounts.bytes_in(text), decimal, hint, amounts._SPELLINGS)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet="0123456789.-", min_size=0, max_size=7), min_size=1, max_size=8),
    st.sampled_from([None, ".", ","]),
    st.booleans(),
)
def test_fast_path_reads_plain_numbers_like_the_full_path(values, decimal, commas):
    if commas:
        values = [v.replace(".", ",") for v in values]
    assert_read_alike(values, decimal=decimal)


def grouped(number: int, decimals: int | None, mark: str, sep: str) -> str:
    """`number` with `mark` between groups of three digits, as German exports write it."""
    text = f"{number:,}".replace(",", mark)
    return text if decimals is None else f"{text}{sep}{decimals}"


german_numbers = st.one_of(
    st.builds(
        grouped,
        st.integers(-(10**10), 10**10),
        st.one_of(st.none(), st.integers(0, 999)),
        st.just("."),
        st.just(","),
    ),
    st.text(alphabet="0123456789.,-", min_size=0, max_size=9),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(german_numbers, min_size=1, max_size=8),
    st.sampled_from([None, ".", ","]),
    st.sampled_from([".", ","]),
    st.booleans(),
)
def test_fast_path_reads_thousands_marks_like_the_full_path(values, decimal, hint, english):
    # `1.234,56` and `1,234.56` are bare numbers too: the fast path checks the groups.
    if english:
        values = [v.translate(str.maketrans(".,", ",.")) for v in values]
    assert_read_alike(values, decimal=decimal, decimal_hint=hint)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(german_numbers, min_size=1, max_size=8),
    st.sampled_from(["€", "EUR", "Eur", "$", "CHF"]),
    st.sampled_from(["", " ", "\u00a0"]),
    st.booleans(),
    st.sampled_from([None, ","]),
    st.integers(0, 8),
)
def test_fast_path_reads_a_currency_mark_like_the_full_path(
    values, mark, gap, before, decimal, odd
):
    # `1.234,56 €` as Excel writes a currency cell; one value without the mark, or with
    # it on the other side, leaves the whole column to the full reading.
    values = [f"{mark}{gap}{v}" if before else f"{v}{gap}{mark}" for v in values]
    if odd < len(values):
        values[odd] = values[odd].replace(mark, "", 1) if odd % 2 else f"{mark}{values[odd]}"
    assert_read_alike(values, decimal=decimal, decimal_hint=",")


def test_german_amounts_with_thousands_marks_take_the_fast_path():
    import winback_cli.amounts as amounts

    text = amounts._arrow_text(column("1.234,56", "-12.345.678,9", "17,5", "3"))
    numbers, used, currencies = bare(text)
    assert numbers.to_pylist() == [1234.56, -12345678.9, 17.5, 3.0]
    assert (used, currencies) == (",", frozenset())


@pytest.mark.parametrize(
    ("values", "hint", "iso"),
    [
        (["1.234,56 €", "-7 €"], ",", "EUR"),
        (["EUR 1.234,56", "EUR -7"], ",", "EUR"),
        (["$1,234.56", "$-7"], ".", "USD"),
    ],
)
def test_a_currency_mark_on_every_value_takes_the_fast_path(values, hint, iso):
    import winback_cli.amounts as amounts

    numbers, _, currencies = bare(amounts._arrow_text(column(*values)), hint=hint)
    assert numbers.to_pylist() == [1234.56, -7.0]
    assert currencies == {iso}


@pytest.mark.parametrize("values", [["5 €", ""], ["5 €", "€"], ["5 €", " €"], ["12 €", "€ 3"]])
def test_a_value_without_its_number_or_mark_leaves_the_fast_path(values):
    # The empty value is shorter than the mark: the bytes before it must not pass for one.
    import winback_cli.amounts as amounts

    assert bare(amounts._arrow_text(column(*values))) is None
    assert_read_alike(values, decimal_hint=",")


MISPLACED_MARKS = ["12.34,5", "1.2345,6", "0.123,4", ".123,4", ",5.234", "1.234,567.890"]


@pytest.mark.parametrize(
    "value", [*MISPLACED_MARKS, "1,234.5", "1.234.", "1.23", "-.123", "1234.567", "--1.234"]
)
def test_misplaced_thousands_marks_leave_the_fast_path(value):
    import winback_cli.amounts as amounts

    assert bare(amounts._arrow_text(column("1.234,56", value)), decimal=",") is None


written_amounts = st.builds(
    written,
    st.integers(-(10**9), 10**9),
    st.sampled_from(["de", "en"]),
    st.booleans(),
    st.sampled_from(["", "€", "EUR"]),
    st.sampled_from(["lead", "trail", "parens"]),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(written_amounts, amountish), min_size=1, max_size=12, unique=True),
    st.lists(st.integers(1, 3), min_size=12, max_size=12),
    st.randoms(use_true_random=False),
    st.sampled_from([None, ".", ","]),
)
def test_repeated_values_read_as_if_each_were_read_alone(distinct, times, order, decimal):
    # Values that repeat are read once each, their evidence for the separator counted
    # as often as they occur: the result is that of reading every value.
    import winback_cli.amounts as amounts

    values = [v for v, n in zip(distinct, times, strict=False) for _ in range(n)]
    order.shuffle(values)
    result = parse_amounts(column(*values), decimal=decimal, decimal_hint=",")
    text = amounts._arrow_text(column(*values))
    present = amounts.bytes_in(text)
    if amounts.parse_bare(text, present, decimal, ",", amounts._SPELLINGS) is not None:
        return  # bare numbers: the test above compares that path
    numbers, problems, used, currencies = amounts._read(text, present, decimal, ",")
    floats = np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=float)
    np.testing.assert_array_equal(result.values.to_numpy(), floats)
    assert result.problems.tolist() == problems.to_pylist()
    assert (result.decimal, result.currencies) == (used, currencies)
