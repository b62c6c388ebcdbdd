"""Read money columns written the way shops, ERPs and spreadsheets write them.

`parse_amounts` turns a column of strings such as `1.234,50 €`, `$1,234.50`,
`4380.31-` (SAP) or `(123.45)` into float64. The decimal separator is decided
once per column from the values that prove it (`1.234,56`, `12,5`,
`1,234,567` can each be read one way only); values like `1.234` that fit
both readings follow that evidence, else the hint. Values that contradict the
column's majority are reported, not guessed. Everything runs as pyarrow
compute kernels over the whole column (over its distinct values, where they
repeat): pandas' `.str.extract` falls back to Python per value and RE2 capture
groups are slow, so the code checks the shape with one capture-free regex and
cuts the number out with trims. Columns of bare numbers, the usual export,
take the faster way of `bare_amounts` to the same result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from winback_cli.arrowtext import empty_texts
from winback_cli.bare_amounts import OTHER, bytes_in, finite, maybe, parse_bare

Separator = Literal[",", "."]

CURRENCIES = {
    "€": "EUR",
    "$": "USD",
    "£": "GBP",
    "EUR": "EUR",
    "USD": "USD",
    "GBP": "GBP",
    "CHF": "CHF",
}

_LARGE = pa.large_string()
_SPACES = " \u00a0\u2007\u2009\u202f\t"  # spreadsheets group thousands with (thin) nbsp
_SP = f"[{_SPACES}]*"
_CUR = r"(?:€|\$|£|(?i:EUR|USD|GBP|CHF))"
_NUM = rf"[0-9.,'’{_SPACES}]*[0-9](?:[eE][-+]?[0-9]+)?"
_PRE, _POST = rf"(?:{_CUR}{_SP})?", rf"(?:{_SP}{_CUR})?"
# One sign at most, where people put it. The currency and sign may only sit at the
# ends, so trimming these characters off a value of this shape leaves the number.
_SHAPE = (
    rf"^(?:[-+−]{_SP}{_PRE}{_NUM}{_POST}|{_PRE}[-+−]{_SP}{_NUM}{_POST}"
    rf"|{_PRE}{_NUM}{_SP}[-−]{_POST}|{_PRE}{_NUM}{_POST}{_SP}[-−]"
    rf"|\({_SP}{_PRE}{_NUM}{_POST}{_SP}\)|{_PRE}{_NUM}{_POST})$"
)
_EDGES = _SPACES + "()+-−€$£EURSDGBPCHFeursdgbpchf"
_MARKS = [*_SPACES, "’"]  # thousands marks besides ' that are removed before the cast
_EXP = r"(?:[eE][-+]?[0-9]+)?"
# With thousands marks the first group has no leading zero, so 0.123 never means 123.
_VALID = {
    ".": rf"^(?:[1-9][0-9]{{0,2}}(?:[,'’{_SPACES}][0-9]{{3}})+|[0-9]*)(?:\.[0-9]+)?{_EXP}$",
    ",": rf"^(?:[1-9][0-9]{{0,2}}(?:[.'’{_SPACES}][0-9]{{3}})+|[0-9]*)(?:,[0-9]+)?{_EXP}$",
}
# Every way a currency mark is written, as `_currencies` and the fast path look for it.
_SPELLINGS = {
    spelling: iso
    for mark, iso in CURRENCIES.items()
    for spelling in {mark, mark.lower(), mark.title()}
}


@dataclass(frozen=True)
class AmountResult:
    """Parsed amounts: NaN and a reason in `problems` wherever a value was unreadable."""

    values: pd.Series
    problems: pd.Series
    decimal: str
    currencies: frozenset[str]


def parse_amounts(
    values: pd.Series, *, decimal: Separator | None = None, decimal_hint: Separator = "."
) -> AmountResult:
    """Parse a column of money strings; `decimal` forces the separator, else it is detected."""
    text = _arrow_text(values)
    present = bytes_in(text)
    fast = parse_bare(text, present, decimal, decimal_hint, _SPELLINGS)
    if fast is not None:
        numbers, used, currencies = fast
        problems = _problems(text, pc.is_null(numbers), None, used)
        return _result(values, numbers, problems, used, currencies)
    encoded = pc.dictionary_encode(text)
    if len(encoded.dictionary) > len(text) // 2:
        return _result(values, *_read(text, present, decimal, decimal_hint))
    # Amounts repeat (prices, cents), and a few `1.234,50` send a whole column here: each
    # distinct text is read once, its evidence for the separator counted as often as it occurs.
    times = np.bincount(encoded.indices.to_numpy(), minlength=len(encoded.dictionary))
    numbers, problems, used, currencies = _read(
        encoded.dictionary, present, decimal, decimal_hint, times
    )
    return _result(
        values, numbers.take(encoded.indices), problems.take(encoded.indices), used, currencies
    )


def parse_number(text: str, decimal: Separator | None = ".") -> float:
    """Read one number from a config value or argument; `decimal=None` detects it.

    >>> parse_number("1.234,50 €", decimal=",")
    1234.5
    """
    column = pd.Series([text], dtype="str")
    result = parse_amounts(column, decimal=decimal)
    if result.problems.iloc[0]:
        example = "1234.50" if result.decimal == "." else "1234,50"
        raise ValueError(
            f"cannot read {text!r} as a number ({result.problems.iloc[0]}); write it like {example}"
        )
    number = float(result.values.iloc[0])
    if decimal is None and parse_amounts(column, decimal_hint=",").values.iloc[0] != number:
        raise ValueError(
            f"{text!r} is ambiguous: the separator may mark thousands or decimals; "
            "write it without a thousands separator and with decimals, e.g. 1000.00"
        )
    return number


def _arrow_text(values: pd.Series) -> pa.Array:
    """The column as a non-null pyarrow large_string array ("" for missing)."""
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.astype("str")
    array = pa.array(values, from_pandas=True)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return pc.fill_null(array.cast(_LARGE), "")


def _read(
    text: pa.Array,
    present: frozenset[int],
    decimal: Separator | None,
    hint: Separator,
    times: np.ndarray | None = None,
) -> tuple[pa.Array, pa.Array, str, frozenset[str]]:
    """Numbers, problems, separator and currencies of any column: the full reading.

    `times` says how often each value occurs, where `text` holds each value once.
    """
    trimmed = pc.utf8_trim_whitespace(text)
    shaped = pc.match_substring_regex(trimmed, _SHAPE)
    core = pc.utf8_trim(trimmed, _EDGES)
    readable = {sep: pc.and_(shaped, pc.match_substring_regex(core, _VALID[sep])) for sep in ".,"}
    used, contradicting = _decide(readable, decimal, hint, times)
    valid = readable[used]
    numbers = _to_float(pc.if_else(valid, core, pa.scalar(None, _LARGE)), used, present)
    numbers = pc.if_else(_negative(trimmed, core, present), pc.negate(numbers), numbers)
    bad = pc.or_(pc.invert(valid), pc.is_null(numbers))
    problems = _problems(trimmed, bad, contradicting, used, forced=decimal is not None)
    return numbers, problems, used, _currencies(trimmed, valid, present)


def _decide(
    readable: dict[str, pa.Array],
    decimal: Separator | None,
    hint: Separator,
    times: np.ndarray | None = None,
):
    """The column's decimal separator, and the values only the other one can read (or None).

    A value readable one way only proves that separator; `1.234` proves neither.
    Each value counts `times` times, where given.
    """
    only = {sep: pc.and_(ok, pc.invert(readable[OTHER[sep]])) for sep, ok in readable.items()}
    counts = {sep: _count(mask, times) for sep, mask in only.items()}
    if decimal is not None:
        used = decimal
    elif counts["."] == counts[","]:
        used = hint
    else:
        used = "." if counts["."] > counts[","] else ","
    other = OTHER[used]
    return used, (only[other] if counts[other] else None)


def _count(mask: pa.Array, times: np.ndarray | None) -> int:
    if times is None:
        return pc.sum(mask).as_py() or 0
    return int(times[mask.to_numpy(zero_copy_only=False)].sum())


def _negative(trimmed: pa.Array, core: pa.Array, present: frozenset[int]) -> pa.Array:
    """Minus before or after the number, or accounting parentheses."""
    signs = maybe(present, "-−(")
    negative = pc.starts_with(trimmed, "(") if "(" in signs else None
    exponents = bool(maybe(present, "eE"))
    for minus in set(signs) - {"("}:
        more = pc.match_substring(trimmed, minus)
        if exponents:  # the core keeps only an exponent's minus: any extra one is the sign
            more = pc.greater(pc.count_substring(trimmed, minus), pc.count_substring(core, minus))
        negative = more if negative is None else pc.or_(negative, more)
    if negative is None:
        return pa.array(np.zeros(len(core), dtype=bool))
    return pc.fill_null(negative, False)


def _to_float(core: pa.Array, sep: str, present: frozenset[int]) -> pa.Array:
    for mark in maybe(present, [OTHER[sep], "'", *_MARKS]):
        core = pc.replace_substring(core, mark, "")
    if sep == ",":
        core = pc.replace_substring(core, ",", ".")
    return finite(pc.cast(core, pa.float64()))


def _problems(text, bad, contradicting, used: str, *, forced: bool = False) -> pa.Array:
    """A reason per value: "" where fine, else a short text quoting the value."""
    empty = pa.scalar("", _LARGE)
    if not pc.any(bad).as_py():
        return empty_texts(len(bad))
    shown = pc.utf8_slice_codeunits(text, 0, 40)
    problems = _quoted("not a number: '", shown, "'")
    if contradicting is not None:
        if forced:
            label, note = f"not a number with '{used}' as decimal separator: '", "'"
        else:
            label = "ambiguous number format: '"
            note = f"' (most values in this column use '{used}' as the decimal separator)"
        problems = pc.if_else(contradicting, _quoted(label, shown, note), problems)
    problems = pc.if_else(pc.equal(pc.binary_length(text), 0), "empty amount", problems)
    return pc.if_else(bad, problems, empty)


def _quoted(before: str, text: pa.Array, after: str) -> pa.Array:
    parts = (pa.scalar(before, _LARGE), text, pa.scalar(after, _LARGE), pa.scalar("", _LARGE))
    return pc.binary_join_element_wise(*parts)


def _currencies(trimmed: pa.Array, valid: pa.Array, present: frozenset[int]) -> frozenset[str]:
    """ISO codes of the currency marks found in readable values."""
    candidates = maybe(present, _SPELLINGS)
    if not candidates:
        return frozenset()
    readable = pc.filter(trimmed, valid)
    return frozenset(
        _SPELLINGS[mark]
        for mark in candidates
        if pc.any(pc.match_substring(readable, mark)).as_py()
    )


def _result(values, numbers, problems, used, currencies=frozenset()) -> AmountResult:
    floats = np.asarray(numbers.to_numpy(zero_copy_only=False), dtype="float64")
    return AmountResult(
        values=pd.Series(floats, index=values.index, name=values.name),
        problems=pd.Series(problems, index=values.index, name=values.name, dtype="str"),
        decimal=used,
        currencies=frozenset(currencies),
    )
