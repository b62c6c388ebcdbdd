"""Date columns as shops and ERPs export them."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winback_cli.dates import parse_date, parse_dates
from winback_cli.errors import AmbiguousDateError, RulesError


def column(*values: str) -> pd.Series:
    return pd.Series(list(values), dtype="str")


OCT_7 = pd.Timestamp("2025-10-07")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("2025-10-07", "%Y-%m-%d"),
        ("2025-10-07 09:50", "%Y-%m-%d"),
        ("2025-10-07 09:50:26", "%Y-%m-%d"),
        ("2025-10-07T09:50:26", "%Y-%m-%d"),
        ("2025-10-07T09:50:26.123456", "%Y-%m-%d"),
        ("2025-10-07 09:50:26 +0200", "%Y-%m-%d"),
        ("2025-10-07T23:50:26-05:00", "%Y-%m-%d"),
        ("2025-10-07T00:10:00Z", "%Y-%m-%d"),
        ("07.10.2025", "%d.%m.%Y"),
        ("7.10.2025", "%d.%m.%Y"),
        ("07.10.2025 09:50", "%d.%m.%Y"),
        ("07.10.25", "%d.%m.%y"),
        ("20251007", "%Y%m%d"),
        ("07-10-2025", "%d-%m-%Y"),
        ("2025/10/07", "%Y/%m/%d"),
        ("  2025-10-07  ", "%Y-%m-%d"),
    ],
)
def test_one_value_per_format(text, label):
    result = parse_dates(column(text))
    assert result.values.iloc[0] == OCT_7
    assert result.problems.iloc[0] == ""
    assert result.formats == (label,)


def test_offsets_keep_the_day_as_written():
    # 23:50 at -05:00 is already the 8th in UTC; the shop's day was the 7th
    result = parse_dates(column("2025-10-07T23:50:00-05:00", "2025-10-07 00:30:00 +0200"))
    assert result.values.tolist() == [OCT_7, OCT_7]


def test_dotted_dates_are_always_day_first():
    # pandas with thousands="." once read 03.04.2024 as the number 3042024
    result = parse_dates(column("03.04.2024", "1.2.2024"))
    assert result.values.tolist() == [pd.Timestamp("2024-04-03"), pd.Timestamp("2024-02-01")]


def test_values_are_days_in_seconds_resolution():
    result = parse_dates(column("2025-10-07 09:50:26"))
    assert result.values.dtype == "datetime64[s]"
    assert result.values.iloc[0] == OCT_7


def test_a_column_may_mix_formats():
    result = parse_dates(column("07.10.2025", "2025-10-08", "09.10.2025", "20251010"))
    assert result.values.dt.day.tolist() == [7, 8, 9, 10]
    assert result.formats == ("%d.%m.%Y", "%Y-%m-%d", "%Y%m%d")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty date"),
        ("  ", "empty date"),
        ("foo", "not a date: 'foo'"),
        ("Tag", "not a date: 'Tag'"),
        ("T 09:50", "not a date: 'T 09:50'"),
        ("2025-10-07 25:00", "not a date: '2025-10-07 25:00'"),
        ("2025-10-07 soon", "not a date: '2025-10-07 soon'"),
        ("07.10.2025.", "not a date: '07.10.2025.'"),
        ("31.02.2025", "impossible date '31.02.2025'"),
        ("29.02.2025", "impossible date '29.02.2025'"),
        ("2025-13-01", "impossible date '2025-13-01'"),
        ("00.10.2025", "impossible date '00.10.2025'"),
        ("01.01.1850", "implausible year 1850 in '01.01.1850'"),
        ("2200-01-01", "implausible year 2200 in '2200-01-01'"),
    ],
)
def test_unreadable_values_are_reported(text, problem):
    result = parse_dates(column("2025-10-07", text))
    assert result.values.iloc[0] == OCT_7
    assert pd.isna(result.values.iloc[1])
    assert result.problems.iloc[1] == problem


def test_first_and_last_plausible_years_and_leap_days():
    result = parse_dates(column("01.01.1900", "31.12.2199", "29.02.2024"))
    assert (result.problems == "").all()
    assert result.values.dt.year.tolist() == [1900, 2199, 2024]


def test_index_and_name_are_kept():
    values = pd.Series(["07.10.2025", ""], index=[5, 9], name="Datum", dtype="str")
    result = parse_dates(values)
    assert result.values.index.tolist() == [5, 9]
    assert result.problems.index.tolist() == [5, 9]
    assert result.values.name == "Datum"


def test_missing_values_from_object_columns_are_empty_dates():
    result = parse_dates(pd.Series(["2025-10-07", None], dtype=object))
    assert result.problems.tolist() == ["", "empty date"]


@pytest.mark.parametrize(
    ("values", "expected", "label"),
    [
        (["31/01/2025", "03/02/2025"], ["2025-01-31", "2025-02-03"], "%d/%m/%Y"),
        (["01/31/2025", "03/02/2025"], ["2025-01-31", "2025-03-02"], "%m/%d/%Y"),
        (["10/07/2025 09:50", "13/07/25"], ["2025-07-10", "2025-07-13"], "%d/%m/%Y"),
        (["01/01/2025", "05/05/2025"], ["2025-01-01", "2025-05-05"], "%d/%m/%Y"),
    ],
)
def test_slashed_order_is_decided_for_the_whole_column(values, expected, label):
    result = parse_dates(column(*values))
    assert result.values.tolist() == [pd.Timestamp(day) for day in expected]
    assert label in result.formats


def test_slashed_dates_that_never_tell_the_order_are_refused():
    values = column("03/04/2025", "05/06/2025", "07/08/2025")
    with pytest.raises(AmbiguousDateError) as caught:
        parse_dates(values, source="orders.csv, column 'Datum'")
    message = str(caught.value)
    assert "orders.csv, column 'Datum'" in message
    assert "'03/04/2025'" in message
    assert "'05/06/2025'" in message
    assert 'date_format: "%d/%m/%Y" or "%m/%d/%Y"' in message
    assert "rules YAML" in message


def test_slashed_dates_in_both_orders_are_refused():
    with pytest.raises(AmbiguousDateError, match=r"'31/01/2025'.*'01/31/2025'"):
        parse_dates(column("31/01/2025", "01/31/2025"), source="orders.csv")


def test_date_format_overrides_detection():
    values = column("03/04/2025", "x", "", "31/02/2025", "01/01/1800", "03/04/2025 10:00")
    result = parse_dates(values, date_format="%d/%m/%Y")
    assert result.values.iloc[0] == pd.Timestamp("2025-04-03")
    assert result.formats == ("%d/%m/%Y",)
    assert result.problems.tolist() == [
        "",
        "not a date in format '%d/%m/%Y': 'x'",
        "empty date",
        "not a date in format '%d/%m/%Y': '31/02/2025'",
        "implausible year 1800 in '01/01/1800'",
        "not a date in format '%d/%m/%Y': '03/04/2025 10:00'",
    ]


def test_date_format_with_offsets_keeps_the_day_as_written():
    values = column("2025-10-07T23:50:26-0500", "2025-10-07T00:10:00+02:00")
    result = parse_dates(values, date_format="%Y-%m-%dT%H:%M:%S%z")
    assert result.values.tolist() == [OCT_7, OCT_7]


@pytest.mark.parametrize("date_format", ["%Q", "date", "%d/%m"])
def test_unusable_date_format_is_a_rules_error(date_format):
    with pytest.raises(RulesError, match=r"orders\.csv"):
        parse_dates(column("07.10.2025"), date_format=date_format, source="orders.csv")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-10-07", dt.date(2025, 10, 7)),
        (" 7.10.2025 ", dt.date(2025, 10, 7)),
        (dt.date(2025, 10, 7), dt.date(2025, 10, 7)),
        (dt.datetime(2025, 10, 7, 9, 50), dt.date(2025, 10, 7)),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10/07/2025", "write it as YYYY-MM-DD"),
        ("yesterday", "cannot read 'yesterday' as a date"),
        ("31.02.2025", "impossible date '31.02.2025'"),
        ("1850-01-01", "implausible year 1850"),
    ],
)
def test_parse_date_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_date(text)


# --- properties -------------------------------------------------------------------------

days = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31))
layouts = st.sampled_from(
    ["%Y-%m-%d", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S+0200", "%d.%m.%Y %H:%M"]
)


@given(st.lists(days, min_size=1, max_size=20), layouts, st.times())
def test_written_dates_read_back(written_days, layout, time):
    stamps = [dt.datetime.combine(day, time) for day in written_days]
    result = parse_dates(column(*(stamp.strftime(layout) for stamp in stamps)))
    assert (result.problems == "").all()
    assert result.values.tolist() == [pd.Timestamp(day) for day in written_days]


@given(st.lists(days, min_size=1, max_size=20))
def test_unpadded_dotted_dates_read_back(written_days):
    result = parse_dates(column(*(f"{d.day}.{d.month}.{d.year}" for d in written_days)))
    assert result.values.tolist() == [pd.Timestamp(day) for day in written_days]


def assert_consistent(result, size: int) -> None:
    assert len(result.values) == len(result.problems) == size
    assert ((result.problems == "") == result.values.notna()).all()


text = st.text(st.characters(exclude_categories=["Cs"]), max_size=25)
dateish = st.text(alphabet="0123456789./-: TZ+", max_size=25)


@given(st.lists(st.one_of(text, dateish), max_size=20))
def test_any_text_gives_a_day_or_a_reason(values):
    try:
        result = parse_dates(column(*values))
    except AmbiguousDateError:
        return
    assert_consistent(result, len(values))


@given(st.lists(st.one_of(text, dateish), max_size=20))
def test_any_text_with_a_date_format_gives_a_day_or_a_reason(values):
    assert_consistent(parse_dates(column(*values), date_format="%d/%m/%Y"), len(values))


def dotted(day: dt.date) -> str:
    return day.strftime("%d.%m.") + f"{day.year:04d}"


def stamped(day: str, separator: str, hour: int, minute: int, second: int | None) -> str:
    clock = f"{hour:02d}:{minute:02d}" + ("" if second is None else f":{second:02d}")
    return f"{day}{separator}{clock}"


# Days with an order time as shops export them: sound ones and ones just out of range.
stamps = st.builds(
    stamped,
    st.one_of(days.map(dt.date.isoformat), days.map(dotted)),
    st.sampled_from([" ", "T"]),
    st.integers(0, 25),
    st.integers(0, 61),
    st.one_of(st.none(), st.integers(0, 61)),
)

# Mostly sound ISO or dotted dates, with now and then a value of the same width that is not one.
fixed_like = st.one_of(
    days.map(dt.date.isoformat),
    days.map(dotted),
    stamps,
    st.builds(  # one byte of a time off
        lambda text, at, byte: text[:at] + byte + text[at + 1 :],
        stamps,
        st.integers(10, 18),
        st.sampled_from(":/x -.T9"),
    ),
    st.dates().map(dt.date.isoformat),  # years the general path calls implausible
    st.dates().map(dotted),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"),  # 2025-02-30, 2025-13-01
    st.from_regex(r"\A[0-9]{2}\.[0-9]{2}\.[0-9]{4}\Z"),  # 30.02.2025, 01.13.2025
    st.text(alphabet="0123456789-/. x", min_size=10, max_size=10),
    st.builds(  # one byte off: `:` follows `9`, so 2025-01-0: must not read as the 10th
        lambda text, at, byte: text[:at] + byte + text[at + 1 :],
        st.one_of(days.map(dt.date.isoformat), days.map(dotted)),
        st.integers(0, 9),
        st.sampled_from(":/x -."),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(fixed_like, min_size=1, max_size=12), st.booleans())
def test_fixed_width_fast_path_reads_like_the_general_path(values, one_kind):
    import winback_cli.dates as dates

    if one_kind:  # a whole column of one layout, as exports are, so the fast path has a go
        values = [v for v in values if (v[2:3], len(v)) == (values[0][2:3], len(values[0]))]
    fast = parse_dates(column(*values))
    original = dates.fixed_days
    dates.fixed_days = lambda _text: None
    try:
        general = parse_dates(column(*values))
    finally:
        dates.fixed_days = original
    pd.testing.assert_series_equal(fast.values, general.values)
    assert fast.problems.tolist() == general.problems.tolist()
    assert fast.formats == general.formats


@pytest.mark.parametrize(
    ("good", "odd"),
    [
        ("31.10.2022", "31.10x2022"),
        ("31.10.2022", "31-10.2022"),
        ("31.10.2022", "2022-10-31"),
        ("2022-10-31", "2022-10.31"),
        ("2022-10-31", "31.10.2022"),
    ],
)
def test_a_column_of_one_width_reads_each_value_by_its_own_separators(good, odd):
    result = parse_dates(column(good, odd))
    general = parse_dates(column(good, odd, "1.1.2023"))  # not of one width: general path
    assert result.values.tolist() == general.values.tolist()[:2]
    assert result.problems.tolist() == general.problems.tolist()[:2]


@pytest.mark.parametrize(
    ("values", "label"),
    [
        (["2025-10-31 14:22:05", "2024-02-29T00:00:59"], "%Y-%m-%d"),
        (["31.10.2025 14:22", "29.02.2024 23:59"], "%d.%m.%Y"),
    ],
)
def test_order_times_of_one_width_take_the_fast_path_and_keep_the_day(values, label):
    import pyarrow as pa

    import winback_cli.dates as dates

    days, found = dates.fixed_days(pa.array(values, pa.large_string()))
    assert found == label
    assert days.astype(str).tolist() == ["2025-10-31", "2024-02-29"]


@pytest.mark.parametrize(
    "odd",
    ["2025-10-31 24:00:00", "2025-10-31 14:60:00", "2025-10-31_14:22:05", "2025-10-31 14x22:05"],
)
def test_a_time_out_of_range_is_left_to_the_general_path(odd):
    import pyarrow as pa

    import winback_cli.dates as dates

    assert dates.fixed_days(pa.array(["2025-10-30 10:00:00", odd], pa.large_string())) is None
    assert parse_dates(column("2025-10-30 10:00:00", odd)).problems.tolist()[1] != ""


def test_german_dates_of_one_width_take_the_fast_path():
    import pyarrow as pa

    import winback_cli.dates as dates

    text = pa.array(["31.10.2022", "01.02.2024"], pa.large_string())
    days, label = dates.fixed_days(text)
    assert label == "%d.%m.%Y"
    assert days.astype(str).tolist() == ["2022-10-31", "2024-02-01"]
