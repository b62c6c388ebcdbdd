"""Read date columns as shops and ERPs export them, without guessing day and month.

`parse_dates` recognises each value's pattern (ISO `2025-10-07`, dotted
`07.10.2025`, slashed `10/07/2025`, SAP `20251007`, `07-10-2025`, each with an
optional time and UTC offset) and keeps the calendar day as written: an
offset never moves the date, because `09:50 +0200` was the 7th for the shop.
Dotted and dashed dates are day-first; slashed dates are ordered once for the
whole column from a value whose day is over 12, and refused with
`AmbiguousDateError` when no value tells. Date parts repeat a lot, so each
distinct one is parsed once (pyarrow dictionary encoding) and numbers are
turned into dates with numpy calendar arithmetic rather than per-value
`strptime`, which takes 20 s for 10 million values. A column of one width,
the usual large export, takes `fixed_dates`' faster way to the same result.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from winback_cli.arrowtext import empty_texts
from winback_cli.errors import AmbiguousDateError, RulesError
from winback_cli.facts_text import may_hold
from winback_cli.fixed_dates import (
    EMPTY,
    FIRST_YEAR,
    IMPLAUSIBLE,
    IMPOSSIBLE,
    LAST_YEAR,
    NOT_A_DATE,
    OK,
    calendar_days,
    fixed_days,
)

_LARGE = pa.large_string()
_TIME = (
    r"(?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:[.,][0-9]{1,9})?)?"
    r"(?: ?[AaPp]\.?[Mm]\.?)?(?: ?(?:Z|UTC|GMT|[+-][0-9]{2}(?::?[0-9]{2})?))?"
)
_STAMP = rf"^[^ T]+(?:(?:T| +){_TIME})?$"  # the date token itself is checked on its own
_D, _M, _Y4, _Y2 = (
    r"(?P<d>[0-9]{1,2})",
    r"(?P<m>[0-9]{1,2})",
    r"(?P<y>[0-9]{4})",
    r"(?P<y>[0-9]{2})",
)
_A, _B = r"(?P<a>[0-9]{1,2})", r"(?P<b>[0-9]{1,2})"
# label, pattern of the date token; slashed patterns use a/b until the column's order is known
_GROUPS = (
    ("%Y-%m-%d", rf"^{_Y4}-{_M}-{_D}$"),
    ("%d.%m.%Y", rf"^{_D}\.{_M}\.{_Y4}$"),
    ("%d.%m.%y", rf"^{_D}\.{_M}\.{_Y2}$"),
    ("%Y%m%d", r"^(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})$"),
    ("%d-%m-%Y", rf"^{_D}-{_M}-{_Y4}$"),
    ("%Y/%m/%d", rf"^{_Y4}/{_M}/{_D}$"),
    ("/%Y", rf"^{_A}/{_B}/{_Y4}$"),
    ("/%y", rf"^{_A}/{_B}/{_Y2}$"),
)
_OFFSET = r" ?(?:Z|[+-][0-9]{2}:?[0-9]{2})$"


@dataclass(frozen=True)
class DateResult:
    """Parsed days (NaT where unreadable, with the reason in `problems`) and formats seen."""

    values: pd.Series
    problems: pd.Series
    formats: tuple[str, ...]


@dataclass(frozen=True)
class _Parsed:
    """Per distinct date token: its day, problem kind and year (for the message)."""

    days: np.ndarray
    kinds: np.ndarray
    years: np.ndarray
    labels: np.ndarray


def parse_dates(
    values: pd.Series,
    *,
    date_format: str | None = None,
    source: str = "",
    day_first: bool | None = None,
) -> DateResult:
    """Parse a column of date strings; `date_format` (strptime) overrides the detection.

    `day_first` orders slashed dates when no value here tells (the rest of a
    file that was already read may have told).
    """
    text = _arrow_text(values)
    fixed = fixed_days(text) if date_format is None else None
    if fixed is not None:
        days, label = fixed
        return _result(values, days, empty_texts(len(days)), (label,))
    text = pc.utf8_trim_whitespace(text)
    if date_format is not None:
        return _parse_with_format(values, text, date_format, source)
    token, stamp_ok = _date_token(text)
    encoded = pc.dictionary_encode(token)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    parsed = _parse_tokens(encoded.dictionary, source, day_first)
    kinds = parsed.kinds[codes]
    blank = pc.equal(text, "").to_numpy(zero_copy_only=False)
    kinds = np.where(blank, EMPTY, np.where(kinds == EMPTY, NOT_A_DATE, kinds))  # like "Tag"
    if stamp_ok is not None:
        kinds = np.where((kinds == OK) & ~stamp_ok, NOT_A_DATE, kinds)
    days = np.where(kinds == OK, parsed.days[codes], np.datetime64("NaT"))
    counts = np.bincount(codes[kinds == OK], minlength=len(parsed.kinds))
    formats = _formats_by_use(parsed.labels, counts)
    problems = _problems(text, kinds, parsed.years[codes], "not a date: '")
    return _result(values, days, problems, formats)


def parse_date(text: str | dt.date) -> dt.date:
    """Read one day from an argument or config value: ISO `2025-10-07` or `07.10.2025`."""
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    stripped = str(text).strip()
    if not re.fullmatch(
        r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}", stripped
    ):
        raise ValueError(
            f"cannot read {text!r} as a date; write it as YYYY-MM-DD (e.g. 2025-10-07) "
            "or DD.MM.YYYY (e.g. 07.10.2025)"
        )
    result = parse_dates(pd.Series([stripped], dtype="str"))
    if result.problems.iloc[0]:
        raise ValueError(f"{result.problems.iloc[0]}; write a real day such as 2025-10-07")
    return result.values.iloc[0].date()


def _arrow_text(values: pd.Series) -> pa.Array:
    """The column as a non-null pyarrow large_string array ("" for missing)."""
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.astype("str")
    array = pa.array(values, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return pc.fill_null(array.cast(_LARGE), "")


def _date_token(text: pa.Array) -> tuple[pa.Array, np.ndarray | None]:
    """The date before a time of day, and whether that time part is well formed."""
    has_t = may_hold(text, b"T") and pc.any(pc.match_substring(text, "T")).as_py()
    if not has_t and not (may_hold(text, b" ") and pc.any(pc.match_substring(text, " ")).as_py()):
        return text, None
    stamp_ok = pc.match_substring_regex(text, _STAMP).to_numpy(zero_copy_only=False)
    spaced = pc.replace_substring(text, "T", " ") if has_t else text
    return pc.list_element(pc.split_pattern(spaced, " ", max_splits=1), 0), stamp_ok


def _parse_tokens(tokens: pa.Array, source: str, day_first: bool | None = None) -> _Parsed:
    """Parse each distinct date token with the group its pattern belongs to."""
    size = len(tokens)
    parsed = _Parsed(
        days=np.full(size, np.datetime64("NaT"), dtype="datetime64[D]"),
        kinds=np.full(size, NOT_A_DATE, dtype=np.int8),
        years=np.zeros(size, dtype=np.int64),
        labels=np.full(size, "", dtype=object),
    )
    parsed.kinds[pc.equal(tokens, "").to_numpy(zero_copy_only=False)] = EMPTY
    slashed = []
    for label, pattern in _GROUPS:
        mask = pc.match_substring_regex(tokens, pattern).to_numpy(zero_copy_only=False)
        if not mask.any():
            continue
        parts = pc.extract_regex(pc.filter(tokens, mask), pattern)
        numbers = {name: _ints(parts.field(name)) for name in _fields(pattern)}
        if label.startswith("/"):
            slashed.append((label, mask, numbers, pc.filter(tokens, mask)))
        else:
            _store(parsed, mask, label, numbers["y"], numbers["m"], numbers["d"])
    if slashed:
        day_first = _slashed_order(slashed, source, day_first)
        for label, mask, numbers, _ in slashed:
            day, month = ("a", "b") if day_first else ("b", "a")
            order = "%d/%m" if day_first else "%m/%d"
            _store(parsed, mask, order + label, numbers["y"], numbers[month], numbers[day])
    return parsed


def _fields(pattern: str) -> list[str]:
    """Names of the capture groups of a pattern, in order."""
    return re.findall(r"\(\?P<(\w+)>", pattern)


def _ints(strings: pa.Array) -> np.ndarray:
    return pc.cast(strings, pa.int64()).to_numpy(zero_copy_only=False)


def _store(parsed: _Parsed, mask: np.ndarray, label: str, years, months, days) -> None:
    """Turn year/month/day numbers into days, marking impossible and implausible ones."""
    if label.endswith("%y"):
        years = years + 2000  # two-digit years in order exports are this century
    kinds, parsed.days[mask] = calendar_days(years, months, days)
    parsed.kinds[mask] = kinds
    parsed.years[mask] = years
    parsed.labels[mask] = label


def _slashed_order(slashed: list, source: str, known: bool | None = None) -> bool:
    """True for day-first. A day is the part over 12; without one, `known` or the user says."""
    firsts, seconds, undecided = [], [], []
    for _, _, numbers, tokens in slashed:
        a, b, shown = numbers["a"], numbers["b"], tokens.to_numpy(zero_copy_only=False)
        firsts += list(shown[(a > 12) & (a <= 31) & (b >= 1) & (b <= 12)][:1])
        seconds += list(shown[(b > 12) & (b <= 31) & (a >= 1) & (a <= 12)][:1])
        undecided += list(shown[(a != b) & (a >= 1) & (a <= 12) & (b >= 1) & (b <= 12)][:2])
    where = f"{source}: " if source else ""
    fix = 'set date_format: "%d/%m/%Y" or "%m/%d/%Y" for this column in the rules YAML'
    if firsts and seconds:
        raise AmbiguousDateError(
            f"{where}slashed dates disagree: '{firsts[0]}' has the day first but "
            f"'{seconds[0]}' has the month first; {fix}"
        )
    if firsts or seconds:
        return bool(firsts)
    if not undecided:
        return True  # every value reads the same either way (like 01/01/2025)
    if known is not None:
        return known
    examples = " and ".join(f"'{value}'" for value in undecided[:2])
    raise AmbiguousDateError(
        f"{where}slashed dates such as {examples} can be read day-first or month-first "
        f"and no value has a part over 12 to tell; {fix}"
    )


def _formats_by_use(labels: np.ndarray, counts: np.ndarray) -> tuple[str, ...]:
    """Labels of the groups that produced days, the most used first."""
    use: dict[str, float] = {}
    for label, count in zip(labels, counts, strict=True):
        if label and count:
            use[label] = use.get(label, 0) + count
    return tuple(sorted(use, key=lambda label: -use[label]))


def _parse_with_format(values: pd.Series, text: pa.Array, fmt: str, source: str) -> DateResult:
    """Every value in the user's strptime format; offsets are dropped, not applied."""
    core = fmt.replace("%z", "").strip()
    _check_format(core, fmt, source)
    bare = pc.replace_substring_regex(text, _OFFSET, "") if "%z" in fmt else text
    encoded = pc.dictionary_encode(bare)
    uniques = pd.Series(encoded.dictionary, dtype="str")
    stamps = pd.to_datetime(uniques, format=core, errors="coerce")
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_localize(None)
    years = stamps.dt.year.fillna(0).to_numpy(dtype=np.int64)
    kinds = np.where(
        stamps.isna(),
        NOT_A_DATE,
        np.where((years >= FIRST_YEAR) & (years <= LAST_YEAR), OK, IMPLAUSIBLE),
    )
    kinds[(uniques == "").to_numpy()] = EMPTY
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    day_values = stamps.to_numpy().astype("datetime64[D]")
    days = np.where(kinds[codes] == OK, day_values[codes], np.datetime64("NaT"))
    problems = _problems(text, kinds[codes], years[codes], f"not a date in format '{fmt}': '")
    return _result(values, days, problems, (fmt,) if (kinds == OK).any() else ())


def _check_format(core: str, fmt: str, source: str) -> None:
    """A format without day, month and year, or that cannot read back its own output."""
    where = f"{source}: " if source else ""
    if not (re.search("%[Yy]", core) and re.search("%[mbB]", core) and "%d" in core):
        raise RulesError(
            f"{where}date_format {fmt!r} needs a day (%d), a month (%m) and a year (%Y); "
            'write it like "%d/%m/%Y" or "%m/%d/%Y"'
        )
    sample = dt.datetime(2025, 10, 7, 9, 50, 26)
    try:
        pd.to_datetime(pd.Series([sample.strftime(core)]), format=core)
    except (ValueError, TypeError) as error:
        raise RulesError(
            f"{where}date_format {fmt!r} is not a usable strptime format ({error}); "
            'write it like "%d/%m/%Y" or "%Y-%m-%d %H:%M"'
        ) from None


def _problems(text: pa.Array, kinds: np.ndarray, years: np.ndarray, unreadable: str) -> pa.Array:
    """One reason per value ("" when fine), quoting the value as written."""
    problems = empty_texts(len(kinds))
    if (kinds == OK).all():
        return problems
    shown = pc.utf8_slice_codeunits(text, 0, 40)
    messages = {
        EMPTY: lambda: pa.scalar("empty date", _LARGE),
        NOT_A_DATE: lambda: _join(unreadable, shown, "'"),
        IMPOSSIBLE: lambda: _join("impossible date '", shown, "'"),
        IMPLAUSIBLE: lambda: _join(
            "implausible year ", pc.cast(pa.array(years), _LARGE), " in '", shown, "'"
        ),
    }
    for kind, message in messages.items():
        mask = kinds == kind
        if mask.any():
            problems = pc.if_else(pa.array(mask), message(), problems)
    return problems


def _join(*parts: str | pa.Array) -> pa.Array:
    """Concatenate texts and text arrays value by value."""
    arrow = [pa.scalar(part, _LARGE) if isinstance(part, str) else part for part in parts]
    return pc.binary_join_element_wise(*arrow, pa.scalar("", _LARGE))


def _result(values: pd.Series, days: np.ndarray, problems: pa.Array, formats) -> DateResult:
    return DateResult(
        values=pd.Series(days.astype("datetime64[s]"), index=values.index, name=values.name),
        problems=pd.Series(problems, index=values.index, name=values.name, dtype="str"),
        formats=tuple(formats),
    )
