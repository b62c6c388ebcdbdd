"""Numbers and dates as text for whole columns, without a Python call per value.

Each value becomes one row of a byte matrix whose columns each have one job
(a sign, a digit, a separator); a row leaves a column NUL where it has
nothing to say there, such as a leading zero. The text never contains NUL, so
the non-NUL bytes in row order are exactly the data of an Arrow string array
(`pack`). Money, CSV numbers, CSV dates and trigger evidence are built this
way: hundreds of thousands of values take milliseconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from winback_cli.facts_text import text_buffers

NUL = 0
ZERO = ord("0")
_MILLION = 1_000_000  # six decimals
_EXACT_LIMIT = 9e12  # |x| * _MILLION still fits in int64
_TEN = np.uint32(10)


def pack(data: np.ndarray, lengths: np.ndarray | None = None) -> pa.LargeStringArray:
    """The rows of a uint8 matrix as strings, NUL bytes left out.

    `lengths`, each row's count of other bytes, saves counting them when known.

    >>> pack(np.array([[0, 49, 50], [51, 0, 0]], dtype=np.uint8)).to_pylist()
    ['12', '3']
    """
    kept = data != NUL
    offsets = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum(np.count_nonzero(kept, axis=1) if lengths is None else lengths, out=offsets[1:])
    return pa.LargeStringArray.from_buffers(
        len(data), pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data[kept]))
    )


def digits(numbers: np.ndarray, places: int | None = None) -> np.ndarray:
    """Decimal digits of non-negative integers, right-aligned, leading zeros as NUL.

    The last digit is always kept, so 0 is '0'. `places` defaults to the
    widest number.

    >>> pack(digits(np.array([7, 0, 1234]))).to_pylist()
    ['7', '0', '1234']
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    if places is None:
        places = len(str(int(numbers.max(initial=0))))
    rows = _digit_rows(numbers, places)
    for row in range(places - 1):  # a leading zero becomes NUL: multiplied by False
        np.multiply(rows[row], numbers >= 10 ** (places - 1 - row), out=rows[row])
    return rows.T


def digit_count(numbers: np.ndarray) -> np.ndarray:
    """How many decimal digits each non-negative integer has (0 has one)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    count = np.ones(len(numbers), dtype=np.int64)
    top = int(numbers.max(initial=0))
    for place in range(1, len(str(top))):
        count += numbers >= 10**place
    return count


def fixed_digits(numbers: np.ndarray, places: int) -> np.ndarray:
    """Exactly `places` decimal digits of each number, zero-padded on the left (`%02d`)."""
    return _digit_rows(np.asarray(numbers, dtype=np.int64), places).T


def _digit_rows(numbers: np.ndarray, places: int) -> np.ndarray:
    """Digit characters, one row per place (most significant first), one column per number.

    Nine digits at a time in uint32, whose division by a constant numpy does
    with multiplications: ten times faster than int64 `divmod`.
    """
    out = np.empty((places, len(numbers)), dtype=np.uint8)
    if places > 9:
        high = numbers // 10**9
        out[:-9] = _digit_rows(high, places - 9)
        numbers = numbers - high * 10**9
        places = 9
    rest = numbers.astype(np.uint32)
    quotient, scratch = np.empty_like(rest), np.empty_like(rest)
    for place in range(places):
        np.floor_divide(rest, _TEN, out=quotient)
        np.subtract(rest, np.multiply(quotient, _TEN, out=scratch), out=scratch)
        np.add(scratch, ZERO, out=out[len(out) - 1 - place], casting="unsafe")
        rest, quotient = quotient, rest
    return out


def constant(text: str, rows: int) -> np.ndarray:
    """The UTF-8 bytes of `text` as columns repeated on every row."""
    return np.broadcast_to(np.frombuffer(text.encode(), np.uint8), (rows, len(text.encode())))


def either(choose: np.ndarray, when_true: str, when_false: str) -> np.ndarray:
    """Per row the bytes of one text or the other, NUL-padded on the left to one width."""
    encoded = [text.encode() for text in (when_false, when_true)]
    width = max(map(len, encoded))
    padded = [np.frombuffer(text.rjust(width, b"\0"), np.uint8) for text in encoded]
    return np.where(np.asarray(choose)[:, None], padded[1], padded[0]).astype(np.uint8)


def civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of day numbers since 1970-01-01, proleptic Gregorian.

    Howard Hinnant's `civil_from_days`, in integer arithmetic over arrays.

    >>> [int(part[0]) for part in civil(np.array([20_393]))]
    [2025, 11, 1]
    """
    era, day_of_era = np.divmod(np.asarray(days, dtype=np.int64) + 719_468, 146_097)
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    march_based = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * march_based + 2) // 5 + 1
    month = np.where(march_based < 10, march_based + 3, march_based - 9)
    return year_of_era + era * 400 + (month <= 2), month, day


def _large(value: str | None) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def join_columns(parts: list[np.ndarray]) -> np.ndarray:
    """Side by side, the byte columns of several parts (each rows x width)."""
    joined = np.concatenate([np.asarray(part, dtype=np.uint8) for part in parts], axis=1)
    return np.ascontiguousarray(joined)


def datetimes(
    values: np.ndarray, *, time_separator: str | None = None, day_first: bool = False
) -> tuple[pa.LargeStringArray, np.ndarray]:
    """'2025-03-02' (or '02.03.2025' with `day_first`), with ' 14:05:09' after the separator.

    `values` is a datetime64 array (s, ms, us or ns); the time is cut to whole
    seconds as strftime does. Returns the text and a mask of the rows it could
    not write: NaT, and years outside 1000-9999, whose spelling varies.
    """
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[np.datetime_data(values.dtype)[0]]
    ticks = values.view(np.int64)
    missing = np.isnat(values)
    days, second = np.divmod(np.where(missing, 0, ticks) // per_second, 86_400)
    year, month, day = civil(days)
    rows = len(values)
    date = [fixed_digits(year, 4), constant("-", rows), fixed_digits(month, 2)]
    date += [constant("-", rows), fixed_digits(day, 2)]
    if day_first:
        dot = constant(".", rows)
        date = [date[4], dot, date[2], dot, date[0]]
    if time_separator is not None:
        colon = constant(":", rows)
        date += [constant(time_separator, rows), fixed_digits(second // 3600, 2), colon]
        date += [fixed_digits(second // 60 % 60, 2), colon, fixed_digits(second % 60, 2)]
    return pack(join_columns(date)), missing | (year < 1000) | (year > 9999)


def contiguous(text: pa.Array | pa.ChunkedArray) -> pa.LargeStringArray:
    """One large_string array, whatever Arrow handed back (chunked, or plain string)."""
    if isinstance(text, pa.ChunkedArray):
        text = text.chunk(0) if text.num_chunks == 1 else text.combine_chunks()
    return text.cast(pa.large_string()) if text.type != pa.large_string() else text


def date_texts(
    dates: pd.Series, with_time: bool, time_separator: str, day_first: bool = False
) -> pa.Array:
    """`datetimes` of a naive datetime column; NaT is null, far years go through strftime."""
    separator = time_separator if with_time else None
    values = dates.to_numpy()
    text, odd = datetimes(values, time_separator=separator, day_first=day_first)
    if not odd.any():
        return text
    # NaT can fill a column (no lifetime value): it becomes null all at once.
    missing = np.isnat(values)
    rows = np.flatnonzero(odd & ~missing)
    if len(rows):
        pattern = f"%Y-%m-%d{time_separator}%H:%M:%S" if with_time else "%Y-%m-%d"
        other = pa.array(dates.iloc[rows].dt.strftime(pattern), pa.large_string(), from_pandas=True)
        if day_first:  # reorder the ISO text
            other = pc.replace_substring_regex(other, r"^(-?\d+)-(\d\d)-(\d\d)", r"\3.\2.\1")
        text = replace_rows(text, rows, other)
    return null_where(text, missing) if missing.any() else text


def replace_rows(text: pa.Array, rows: np.ndarray, other: pa.Array) -> pa.Array:
    """`text` with the strings at positions `rows` replaced by `other`, in order."""
    position = np.arange(len(text))
    position[rows] = len(text) + np.arange(len(rows))
    return pa.concat_arrays([contiguous(text), contiguous(other)]).take(position)


def null_where(text: pa.Array, missing: np.ndarray) -> pa.Array:
    """`text` with nulls at the rows where `missing` is True, all at once."""
    return pc.if_else(pa.array(missing), pa.scalar(None, pa.large_string()), text)


def buffers(text: pa.LargeStringArray) -> tuple[np.ndarray, np.ndarray]:
    """(offsets from 0, data bytes) of an Arrow large_string array, without copying data."""
    offsets, data = text_buffers(contiguous(text))
    return offsets - offsets[0], data[offsets[0] : offsets[-1]]


def first_bytes(text: pa.LargeStringArray) -> np.ndarray:
    """The first byte of each string; NUL for empty strings and nulls."""
    text = contiguous(text)
    offsets, data = buffers(text)
    filled = offsets[1:] > offsets[:-1]
    if text.null_count:
        filled &= text.is_valid().to_numpy(zero_copy_only=False)
    first = np.zeros(len(text), dtype=np.uint8)
    first[filled] = data[offsets[:-1][filled]]
    return first


def wrap(text: pa.LargeStringArray, rows: np.ndarray, char: str) -> pa.LargeStringArray:
    """`text` with `char` before and after each string where `rows` holds; nulls become ''."""
    text = pc.fill_null(contiguous(text), _large(""))
    mark = pa.array(["", char], pa.large_string()).take(np.asarray(rows, dtype=np.int8))
    return pc.binary_join_element_wise(mark, text, mark, _large(""))


def joined(text: pa.LargeStringArray) -> memoryview:
    """All strings back to back (nulls as nothing), straight from the data buffer."""
    text = contiguous(text)
    offsets = np.frombuffer(text.buffers()[1], np.int64)
    data = text.buffers()[2]
    if data is None:
        return memoryview(b"")
    return memoryview(data)[offsets[text.offset] : offsets[text.offset + len(text)]]


def plain_decimals(values: np.ndarray, decimal: str) -> pa.Array:
    """Plain decimal text with at most 6 decimals and no exponent; null for NaN.

    Half away from zero, as people (and Excel) round. Huge values and
    infinities, rare, are spelled one by one.
    """
    finite = np.isfinite(values)
    exact = finite & (np.abs(values) < _EXACT_LIMIT)
    kept = np.where(exact, values, 0.0)
    # Round half away from zero, as people (and Excel) do; np.rint would round half to even.
    magnitude = np.floor(np.abs(kept) * _MILLION + 0.5).astype(np.int64)
    whole = magnitude // _MILLION
    fraction = (magnitude - whole * _MILLION).astype(np.uint32)
    decimals = fixed_digits(fraction, 6)
    shown = [decimals[:, 5] != ZERO]  # a decimal is shown if it or one after it is not 0
    for j in reversed(range(5)):
        shown.insert(0, shown[0] | (decimals[:, j] != ZERO))
    for j in range(6):
        np.multiply(decimals[:, j], shown[j], out=decimals[:, j])
    negative = (kept < 0) & (magnitude > 0)
    parts = [either(negative, "-", ""), digits(whole), either(shown[0], decimal, ""), decimals]
    lengths = digit_count(whole) + negative
    for flag in (shown[0], *shown):  # the point, then each decimal
        lengths += flag
    text = pack(join_columns(parts), lengths)
    if exact.all():
        return text
    missing = np.isnan(values)
    # Rare: huge values and infinities, formatted one by one. Missing values can fill
    # whole columns (no lifetime value), so they become nulls all at once.
    odd = np.flatnonzero(~exact & ~missing)
    if len(odd):
        fixed = pa.array([_huge_or_infinite(values[i], decimal) for i in odd], pa.large_string())
        text = replace_rows(text, odd, fixed)
    return null_where(text, missing) if missing.any() else text


def _huge_or_infinite(value: float, decimal: str) -> str:
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    return np.format_float_positional(value, precision=6, trim="-").replace(".", decimal)


def float_reprs(values: np.ndarray) -> pa.Array:
    """`repr(value)` of each float, null for NaN and ±inf.

    Between 1e-4 and 4e9, a value that is the nearest float to a decimal with at
    most six places has that decimal as its shortest repr, so the CSV formatter
    writes it (plus '.0' when whole). Other values go through `repr`, once per
    distinct bit pattern.
    """
    size = np.abs(values)
    with np.errstate(invalid="ignore", over="ignore"):
        millionths = np.floor(size * _MILLION + 0.5)
        plain = (size >= 1e-4) & (size < 4e9) & (millionths / _MILLION == size)
        whole = pa.array(plain & (millionths % _MILLION == 0))
    text = plain_decimals(np.where(plain, values, 0.0), ".")
    text = pc.if_else(whole, pc.binary_join_element_wise(text, _large(".0"), _large("")), text)
    other = np.flatnonzero(~plain & np.isfinite(values))
    if len(other):
        codes, distinct = pd.factorize(values[other].view(np.int64))
        spelled = pa.array([repr(v) for v in distinct.view(np.float64).tolist()], pa.large_string())
        text = replace_rows(text, other, spelled.take(codes))
    return null_where(text, ~np.isfinite(values))
