"""Read date columns of one width in place: `2025-10-07`, `07.10.2025`, with an order time.

Large exports write every date alike, so `fixed_days` reads such a column as
a grid of bytes, turns it into numbers YYYYMMDD and checks each distinct day
once, several times faster than `dates`' general reading, which it leaves
every other column to (one odd value is enough). The calendar check and the
kinds of problems are shared with that reading.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from winback_cli.facts_text import fixed_width

FIRST_YEAR, LAST_YEAR = 1900, 2199
OK, EMPTY, NOT_A_DATE, IMPOSSIBLE, IMPLAUSIBLE = range(5)
# Layouts of one width that large exports use (ISO, and German spreadsheets' dotted days),
# read in place as numbers YYYYMMDD: the label, and the text with Y, M, D for the digits.
_FIXED = (("%Y-%m-%d", "YYYY-MM-DD"), ("%d.%m.%Y", "DD.MM.YYYY"))
_CLOCK_LIMITS = (23, 59, 59)  # HH:MM or HH:MM:SS after a date of one width and a space or T
_FIXED_MAX_SPAN = 4_000_000  # YYYYMMDD numbers: four centuries, a 32 MB lookup table


def fixed_days(text: pa.LargeStringArray) -> tuple[np.ndarray, str] | None:
    """The days and format of a column of nothing but sound `YYYY-MM-DD` dates, or of
    nothing but `DD.MM.YYYY` ones, each maybe with a time `HH:MM` or `HH:MM:SS`
    after a space or `T` (as shops export order times); else None.

    The usual large export. Its values all have one width, so numpy reads them
    in place as numbers YYYYMMDD and checks each distinct one, in half the time
    of encoding the distinct texts; any other column, or one with a single odd
    value, takes that general path.
    """
    grid = fixed_width(text)
    if grid is None or grid.shape[1] not in (10, 16, 19):
        return None
    # The first value tells which layout the whole column is checked against.
    label, layout = next((f for f in _FIXED if _fits(grid[0], f[1])), (None, ""))
    if not layout:
        return None
    positions = np.ascontiguousarray(grid.T)  # one row per byte position: fast rows
    if len(positions) > len(layout) and not _sound_clock(positions[len(layout) :]):
        return None
    marks = [i for i, c in enumerate(layout) if c not in "YMD"]
    expected = np.array([ord(layout[i]) for i in marks], dtype=np.uint8)[:, None]
    order = [i for part in "YMD" for i, c in enumerate(layout) if c == part]
    digits = positions[order] - np.uint8(ord("0"))  # other bytes wrap past 9
    if (digits > 9).any() or (positions[marks] != expected).any():
        return None
    number = digits[0].astype(np.int32)
    for row in digits[1:]:
        number = number * 10 + row
    low = int(number.min())
    span = int(number.max()) - low + 1
    if span > _FIXED_MAX_SPAN:
        return None
    seen = np.flatnonzero(np.bincount(number - low)) + low
    kinds, days = calendar_days(seen // 10000, seen // 100 % 100, seen % 100)
    if (kinds != OK).any():
        return None
    table = np.full(span, np.datetime64("NaT"), dtype="datetime64[D]")
    table[seen - low] = days
    return table[number - low], label


def _sound_clock(rows: np.ndarray) -> bool:
    """Are these byte rows, one per position, a space or `T` and then a sound `HH:MM` or
    `HH:MM:SS` in every value? The day is what counts; the general path checks the same.

    >>> _sound_clock(np.array([list(b" 23:59"), list(b"T00:00")], np.uint8).T)
    True
    >>> _sound_clock(np.array([list(b" 24:00")], np.uint8).T)
    False
    """
    if not ((rows[0] == ord(" ")) | (rows[0] == ord("T"))).all():
        return False
    clock = rows[1:]
    if (clock[2::3] != ord(":")).any():
        return False
    digits = np.delete(clock, np.s_[2::3], axis=0) - np.uint8(ord("0"))  # wraps past 9
    if (digits > 9).any():
        return False
    parts = digits[0::2].astype(np.int16) * 10 + digits[1::2]
    return bool((parts <= np.array(_CLOCK_LIMITS[: len(parts)])[:, None]).all())


def _fits(text: np.ndarray, layout: str) -> bool:
    """Do the separators of `layout` stand where it has them in `text` (one value's bytes)?"""
    return all(text[i] == ord(c) for i, c in enumerate(layout) if c not in "YMD")


def calendar_days(years, months, days) -> tuple[np.ndarray, np.ndarray]:
    """Per year/month/day: OK, IMPOSSIBLE or IMPLAUSIBLE, and the day (NaT unless OK)."""
    month_ok = (months >= 1) & (months <= 12)
    first = (years.clip(1, 9999) - 1970) * 12 + np.where(month_ok, months - 1, 0)
    first = first.astype("datetime64[M]").astype("datetime64[D]")
    length = ((first.astype("datetime64[M]") + 1).astype("datetime64[D]") - first).astype(int)
    possible = month_ok & (days >= 1) & (days <= length)
    plausible = (years >= FIRST_YEAR) & (years <= LAST_YEAR)
    kinds = np.where(possible, np.where(plausible, OK, IMPLAUSIBLE), IMPOSSIBLE)
    return kinds, np.where(kinds == OK, first + (days - 1), np.datetime64("NaT"))
