"""Durations, percentages and money amounts as the rules YAML writes them."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from winback_cli.durations import (
    UNIT_DAYS,
    Duration,
    parse_duration,
    parse_money,
    parse_percent,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("180d", Duration(180, "d")),
        ("26w", Duration(26, "w")),
        ("6mo", Duration(6, "mo")),
        ("1y", Duration(1, "y")),
        ("6 mo", Duration(6, "mo")),
        ("6MO", Duration(6, "mo")),
        (" 12 Y ", Duration(12, "y")),
        ("06mo", Duration(6, "mo")),
    ],
)
def test_accepted_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("6 months", "write '6mo' for 6 calendar months"),
        ("6m", "write '6mo' for 6 calendar months"),
        ("12 days", "write '12d'"),
        ("-3d", "durations are positive"),
        ("0d", "is zero"),
        ("1.5y", "use whole numbers, e.g. '18mo'"),
        ("", "A duration is a whole number and a unit"),
        ("180", "a bare number has no unit, write e.g. '180d'"),
        (180, "has no unit: write e.g. '180d'"),
        ("500y", "longer than 100 years"),
        ("soon", "A duration is a whole number and a unit"),
    ],
)
def test_rejected_durations_say_what_to_write(text, hint):
    with pytest.raises(ValueError, match=hint):
        parse_duration(text)


def test_str_and_approx_days():
    assert str(Duration(6, "mo")) == "6mo"
    assert Duration(6, "mo").approx_days == pytest.approx(182.625)
    assert Duration(2, "w").approx_days == 14
    assert Duration(1, "y").approx_days == 365.25


@pytest.mark.parametrize(("amount", "unit"), [(0, "d"), (-1, "w"), (1.5, "y"), (1, "m")])
def test_duration_refuses_impossible_values(amount, unit):
    with pytest.raises(ValueError):
        Duration(amount, unit)


@pytest.mark.parametrize(
    ("duration", "day", "before", "after"),
    [
        ("1mo", "2025-03-31", "2025-02-28", "2025-04-30"),
        ("1mo", "2024-03-31", "2024-02-29", "2024-04-30"),
        ("6mo", "2025-08-31", "2025-02-28", "2026-02-28"),
        ("1y", "2024-02-29", "2023-02-28", "2025-02-28"),
        ("2w", "2025-01-10", "2024-12-27", "2025-01-24"),
        ("180d", "2025-10-07", "2025-04-10", "2026-04-05"),
    ],
)
def test_before_and_after_step_through_the_calendar(duration, day, before, after):
    span = parse_duration(duration)
    assert span.before(pd.Timestamp(day)) == pd.Timestamp(before)
    assert span.after(pd.Timestamp(day)) == pd.Timestamp(after)


def test_before_accepts_a_date():
    assert parse_duration("1mo").before(dt.date(2025, 3, 31)) == pd.Timestamp("2025-02-28")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("50%", 0.5),
        ("12.5 %", 0.125),
        ("12,5%", 0.125),
        ("0%", 0.0),
        ("100%", 1.0),
        (0.5, 0.5),
        (1, 1.0),
        ("0.25", 0.25),
    ],
)
def test_parse_percent(value, expected):
    assert parse_percent(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("50", "write it as '50%'"),
        (50, "write it as '50%'"),
        (-0.1, "between 0% and 100%"),
        ("-5%", "between 0% and 100%"),
        ("150%", "between 0% and 100%"),
        ("abc", "write it like '50%'"),
        (float("nan"), "between 0% and 100%"),
        (True, "expected a percentage"),
    ],
)
def test_parse_percent_errors(value, message):
    with pytest.raises(ValueError, match=message):
        parse_percent(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (200, 200.0),
        (12.5, 12.5),
        ("200 €", 200.0),
        ("1.000,50", 1000.5),
        ("1,000.50", 1000.5),
        ("€ 99", 99.0),
        ("-20", -20.0),
    ],
)
def test_parse_money(value, expected):
    assert parse_money(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1.000", "ambiguous"),
        ("abc", "cannot read amount 'abc'"),
        (float("inf"), "not a finite number"),
        (None, "expected an amount of money"),
    ],
)
def test_parse_money_errors(value, message):
    with pytest.raises(ValueError, match=message):
        parse_money(value)


# --- properties -------------------------------------------------------------------------


@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=12))
def test_any_text_is_a_duration_that_round_trips_or_a_value_error(text):
    try:
        duration = parse_duration(text)
    except ValueError:
        return
    assert parse_duration(str(duration)) == duration


@given(
    st.sampled_from(sorted(UNIT_DAYS)).flatmap(
        lambda unit: st.builds(
            Duration, st.integers(1, int(36525 / UNIT_DAYS[unit])), st.just(unit)
        )
    )
)
def test_every_duration_reads_back_from_its_text(duration):
    assert parse_duration(str(duration)) == duration
    assert duration.before(duration.after(pd.Timestamp("2000-01-31"))) <= pd.Timestamp("2000-01-31")
