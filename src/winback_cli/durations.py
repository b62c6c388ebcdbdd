"""Read the small quantities of the rules YAML: durations, percentages and money.

A duration is a whole number and a unit, `180d`, `26w`, `6mo` or `1y`. The
units are spelled so that nobody can mean minutes by `m`, and a bare number is
refused because a reader cannot tell days from months. Months and years step
through the calendar (31 March minus one month is 28 or 29 February), so a
`6mo` window ends on the same day of the month the way a person counts it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from winback_cli.amounts import parse_number

Unit = Literal["d", "w", "mo", "y"]

UNIT_DAYS: dict[str, float] = {"d": 1.0, "w": 7.0, "mo": 30.4375, "y": 365.25}
MAX_DAYS = 100 * 365.25  # longer spans are typos and would overflow pandas timestamps
_DURATION = re.compile(r"\s*([0-9]+)\s*(d|w|mo|y)\s*", re.IGNORECASE)
_ACCEPTED = "A duration is a whole number and a unit: d (days), w (weeks), mo (months), y (years)."
_WORDS = {"day": "d", "week": "w", "month": "mo", "year": "y", "m": "mo", "mon": "mo"}


@dataclass(frozen=True)
class Duration:
    """A span of calendar time such as six months; `str()` gives `6mo` back."""

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.unit not in UNIT_DAYS:
            raise ValueError(f"unknown duration unit {self.unit!r}; use d, w, mo or y")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 1:
            raise ValueError(f"a duration needs a whole number of at least 1, not {self.amount!r}")

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def approx_days(self) -> float:
        """Length in days, with months and years at their average length."""
        return self.amount * UNIT_DAYS[self.unit]

    def before(self, day: pd.Timestamp | dt.date) -> pd.Timestamp:
        """The day this long before `day`; month ends clamp (31 Mar - 1mo = 28/29 Feb)."""
        return pd.Timestamp(day) - self._offset()

    def after(self, day: pd.Timestamp | dt.date) -> pd.Timestamp:
        """The day this long after `day`; month ends clamp (31 Jan + 1mo = 28/29 Feb)."""
        return pd.Timestamp(day) + self._offset()

    def _offset(self) -> pd.DateOffset:
        name = {"d": "days", "w": "weeks", "mo": "months", "y": "years"}[self.unit]
        return pd.DateOffset(**{name: self.amount})


def parse_duration(text: str | int) -> Duration:
    """Read `180d`, `26w`, `6mo` or `1y` (case and a space between do not matter)."""
    if not isinstance(text, str):
        example = f"{text}d" if isinstance(text, int) and not isinstance(text, bool) else "180d"
        raise ValueError(f"duration {text!r} has no unit: write e.g. '{example}'. {_ACCEPTED}")
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f"cannot read duration {text!r}{_suggest(text)}. {_ACCEPTED}")
    digits, unit = match.group(1).lstrip("0"), match.group(2).lower()
    if not digits:
        raise ValueError(f"duration {text!r} is zero; write at least 1, e.g. '1{unit}'")
    if len(digits) > 6 or int(digits) * UNIT_DAYS[unit] > MAX_DAYS:
        raise ValueError(f"duration {text!r} is longer than 100 years; is the unit right?")
    return Duration(int(digits), unit)  # type: ignore[arg-type]  # the regex allows only Unit


def _suggest(text: str) -> str:
    """A hint for the near misses people write: `6 months`, `6m`, `-3d`, `1.5y`."""
    near = re.fullmatch(r"\s*([-+]?)\s*([0-9.,]+)\s*([a-zA-Z]*)\s*", text)
    if near is None:
        return ""
    sign, number, word = near.groups()
    unit = _WORDS.get(word.lower().rstrip("s"), word.lower())
    if sign == "-":
        return ": durations are positive; the rule itself says whether it looks back or ahead"
    if not number.isdigit():
        smaller = {"y": "'18mo' for a year and a half", "mo": "weeks or days, e.g. '6w'"}
        return f": use whole numbers, e.g. {smaller.get(unit, 'a smaller unit')}"
    if unit == "mo":
        return f": write '{number}mo' for {number} calendar months ('m' could mean minutes)"
    if unit in UNIT_DAYS:
        return f": write '{number}{unit}'"
    if not word:
        return f": a bare number has no unit, write e.g. '{number}d' or '{number}mo'"
    return ""


def parse_percent(value: str | float | int) -> float:
    """A share as a fraction: `"50%"` and `0.5` give 0.5; `50` is refused as unclear."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected a percentage like '50%', not {value!r}")
    if isinstance(value, str) and value.strip().endswith("%"):
        share = _number(value.strip()[:-1], value) / 100
    else:
        share = _number(value, value) if isinstance(value, str) else float(value)
        if math.isfinite(share) and share > 1:
            raise ValueError(
                f"percentage {value!r} is more than 1: write it as '{share:g}%' "
                f"(or as the fraction {share / 100:g})"
            )
    if not math.isfinite(share) or share < 0 or share > 1:
        raise ValueError(f"percentage {value!r} must lie between 0% and 100%, e.g. '50%'")
    return share


def _number(text: str, original: object) -> float:
    try:
        return parse_number(text, decimal=None)
    except ValueError:
        raise ValueError(
            f"cannot read percentage {original!r}; write it like '50%' or '12.5%'"
        ) from None


def parse_money(value: str | int | float) -> float:
    """A money amount from the rules: `200`, `"200 €"`, `"1.000,50"`, `"1,000.50"`."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected an amount of money like 200 or '200 €', not {value!r}")
    if isinstance(value, str):
        try:
            return parse_number(value, decimal=None)
        except ValueError as error:
            raise ValueError(f"cannot read amount {value!r}: {error}") from None
    if not math.isfinite(value):
        raise ValueError(f"amount {value!r} is not a finite number; write it like 200 or '200 €'")
    return float(value)
