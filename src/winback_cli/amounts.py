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
cuts the number out with trims.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from winback_cli.arrowtext import empty_texts
from winback_cli.facts_text import text_buffers

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
_AMBIGUOUS = r"^-?[1-9][0-9]{0,2}[.,][0-9]{3}$"
_OTHER = {".": ",", ",": "."}
_PLAIN = b"0123456789.,-"  # the bytes of bare numbers such as -1234.50 or 12,5


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
    present = _bytes_in(text)
    fast = _parse_plain(text, present, decimal, decimal_hint)
    if fast is not None:
        numbers, used = fast
        return _result(values, numbers, _problems(text, pc.is_null(numbers), None, used), used)
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


def _bytes_in(array: pa.Array) -> frozenset[int]:
    """The byte values that occur in the array's text, to skip kernels that cannot matter.

    One pass over the data buffer (which may hold bytes of a sliced-away part: a
    needle then only looks present, which costs time, never correctness): deleting
    the bytes of bare numbers, and a bincount only when something else is left.
    """
    data = array.buffers()[2]
    if data is None or data.size == 0:
        return frozenset()
    raw = data.to_pybytes()
    if not raw.translate(None, _PLAIN):  # the usual bare numbers: a cheaper test
        return frozenset(byte for byte in _PLAIN if byte in raw)
    counts = np.bincount(np.frombuffer(raw, dtype=np.uint8), minlength=256)
    return frozenset(np.flatnonzero(counts).tolist())


def _maybe(present: frozenset[int], needles: Iterable[str]) -> list[str]:
    """The needles whose bytes all occur in the text."""
    return [needle for needle in needles if set(needle.encode()) <= present]


def _parse_plain(
    text: pa.Array, present: frozenset[int], decimal: Separator | None, hint: Separator
) -> tuple[pa.Array, str] | None:
    """Fast path for columns of bare numbers like `-12.5`, `1234,56` or `1.234,56`; None if
    not plain.

    Arrow's cast does the checking: with only digits, one kind of separator and
    `-` in the text it reads exactly the values `-?[0-9]+([.,][0-9]+)?` plus
    `.5` and `-.5`, which the full path reads alike, and `5.`, which it refuses:
    a column with such a value goes there. Thousands marks (German exports
    write `1.234,56`) are checked to group digits by three and then removed.
    """
    if not present <= set(_PLAIN):
        return None
    found = set(_maybe(present, ".,"))
    used = decimal or hint
    if len(found) == 1 and not decimal:
        sep = next(iter(found))
        # A separator that is the hint is used as decimal either way: no need to prove it.
        if sep != hint and _proves_decimal(text, sep):
            used = sep
    mark = _OTHER[used]
    # With every mark grouping thousands, every value is readable with `used` and none
    # only with `mark`, so the full path decides on `used` too: the hint, given or proved.
    if mark in found and not _grouped(text, mark, used):
        return None  # the full path judges the values that are not
    if used in found and _ends_with(text, used):
        return None
    text = _cast_ready(text, mark if mark in found else None, used)
    try:
        return _finite(pc.cast(text, pa.float64())), used
    except pa.ArrowInvalid:
        return None


def _grouped(text: pa.Array, mark: str, sep: str) -> bool:
    """Does every `mark` in these bare numbers group thousands before the decimal `sep`?

    That is 1-3 digits, not starting with 0, then the marks, each followed by
    three digits, as in `-1.234.567,89`: what the full path's shape allows.

    >>> _grouped(pa.array(["1.234,5", "-12.345.678", "7"], pa.large_string()), ".", ",")
    True
    >>> _grouped(pa.array(["12.34,5"], pa.large_string()), ".", ",")
    False
    """
    offsets, data = text_buffers(text)
    low = int(offsets[0])
    marks = np.flatnonzero(data[low : offsets[-1]] == ord(mark)) + low
    if not len(marks):
        return True
    value = np.searchsorted(offsets, marks, side="right") - 1
    end = offsets[value + 1]
    if (marks + 4 > end).any():
        return False
    if ((data[marks[:, None] + np.arange(1, 4)] - np.uint8(ord("0"))) > 9).any():
        return False  # bytes below `0` wrap past 9 as well
    after = marks + 4
    at = data[np.minimum(after, len(data) - 1)]
    if not ((after == end) | (at == ord(mark)) | (at == ord(sep))).all():
        return False
    first = np.r_[True, value[1:] != value[:-1]]
    if ((np.diff(marks) != 4) & ~first[1:]).any():
        return False  # marks of one value four bytes apart: three digits between
    start = offsets[value[first]]
    start = start + (data[start] == ord("-"))
    lead = marks[first] - start
    if ((lead < 1) | (lead > 3)).any() or (data[start] == ord("0")).any():
        return False
    for k in range(3):  # the one to three bytes before the first mark are digits
        inside = start + k < marks[first]
        if ((data[(start + k)[inside]] - np.uint8(ord("0"))) > 9).any():
            return False
    return True


def _cast_ready(text: pa.Array, mark: str | None, sep: str) -> pa.Array:
    """`text` without the thousands `mark`s and with `.` for the decimal `sep`, as Arrow's
    cast reads numbers; made on the buffers, several times faster than replace kernels.

    >>> _cast_ready(pa.array(["1.234,5", "-7"], pa.large_string()), ".", ",").to_pylist()
    ['1234.5', '-7']
    """
    if mark is None and sep == ".":
        return text
    offsets, data = text_buffers(text)
    low = int(offsets[0])
    body = data[low : offsets[-1]]
    starts = offsets - low
    if mark is not None:  # each value starts earlier by the marks before it
        starts = starts - np.searchsorted(np.flatnonzero(body == ord(mark)), starts)
    table = bytes.maketrans(b",", b".") if sep == "," else None
    clean = body.tobytes().translate(table, mark.encode() if mark else b"")
    return pa.LargeStringArray.from_buffers(
        len(text), pa.py_buffer(starts.astype(np.int64)), pa.py_buffer(clean), null_count=0
    )


def _ends_with(text: pa.Array, sep: str) -> bool:
    """Does a value end with `sep` (`5.`)? Arrow reads it as 5, the full path refuses it.

    The last byte of each value, read from the buffers: a third of the time
    of an Arrow kernel.
    """
    offsets, data = text_buffers(text)
    filled = offsets[1:] > offsets[:-1]
    return bool((data[offsets[1:][filled] - 1] == ord(sep)).any())


def _proves_decimal(plain: pa.Array, sep: str) -> bool:
    """True if some plain value can only be read with `sep` as decimal separator."""
    position = pc.find_substring(plain, sep)
    after = pc.subtract(pc.subtract(pc.binary_length(plain), position), 1)
    if pc.any(pc.and_(pc.greater_equal(position, 0), pc.not_equal(after, 3))).as_py():
        return True  # cheap answer for the usual `12.50`; `1.234` needs the regex
    with_sep = pc.sum(pc.greater_equal(position, 0)).as_py() or 0
    return with_sep > (pc.sum(pc.match_substring_regex(plain, _AMBIGUOUS)).as_py() or 0)


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
    only = {sep: pc.and_(ok, pc.invert(readable[_OTHER[sep]])) for sep, ok in readable.items()}
    counts = {sep: _count(mask, times) for sep, mask in only.items()}
    if decimal is not None:
        used = decimal
    elif counts["."] == counts[","]:
        used = hint
    else:
        used = "." if counts["."] > counts[","] else ","
    other = _OTHER[used]
    return used, (only[other] if counts[other] else None)


def _count(mask: pa.Array, times: np.ndarray | None) -> int:
    if times is None:
        return pc.sum(mask).as_py() or 0
    return int(times[mask.to_numpy(zero_copy_only=False)].sum())


def _negative(trimmed: pa.Array, core: pa.Array, present: frozenset[int]) -> pa.Array:
    """Minus before or after the number, or accounting parentheses."""
    signs = _maybe(present, "-−(")
    negative = pc.starts_with(trimmed, "(") if "(" in signs else None
    exponents = bool(_maybe(present, "eE"))
    for minus in set(signs) - {"("}:
        more = pc.match_substring(trimmed, minus)
        if exponents:  # the core keeps only an exponent's minus: any extra one is the sign
            more = pc.greater(pc.count_substring(trimmed, minus), pc.count_substring(core, minus))
        negative = more if negative is None else pc.or_(negative, more)
    if negative is None:
        return pa.array(np.zeros(len(core), dtype=bool))
    return pc.fill_null(negative, False)


def _to_float(core: pa.Array, sep: str, present: frozenset[int]) -> pa.Array:
    for mark in _maybe(present, [_OTHER[sep], "'", *_MARKS]):
        core = pc.replace_substring(core, mark, "")
    if sep == ",":
        core = pc.replace_substring(core, ",", ".")
    return _finite(pc.cast(core, pa.float64()))


def _finite(numbers: pa.Array) -> pa.Array:
    """Overflowing exponents or digit strings give inf: that is no amount either."""
    return pc.if_else(pc.is_finite(numbers), numbers, pa.scalar(None, pa.float64()))


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
    spellings = {
        spelling: iso
        for mark, iso in CURRENCIES.items()
        for spelling in {mark, mark.lower(), mark.title()}
    }
    candidates = _maybe(present, spellings)
    if not candidates:
        return frozenset()
    readable = pc.filter(trimmed, valid)
    return frozenset(
        spellings[mark] for mark in candidates if pc.any(pc.match_substring(readable, mark)).as_py()
    )


def _result(values, numbers, problems, used, currencies=frozenset()) -> AmountResult:
    floats = np.asarray(numbers.to_numpy(zero_copy_only=False), dtype="float64")
    return AmountResult(
        values=pd.Series(floats, index=values.index, name=values.name),
        problems=pd.Series(problems, index=values.index, name=values.name, dtype="str"),
        decimal=used,
        currencies=frozenset(currencies),
    )
