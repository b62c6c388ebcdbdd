"""Turn a result DataFrame into CSV, JSON, JSON Lines or XLSX, the same way for every command.

Columns are read by kind (text, int, float, bool, date) and each kind has one
spelling per format: CSV `standard` is `,` / `.` / ISO dates / `true`; CSV
`excel-de` is what a German Excel opens by double-click: `;`, decimal comma,
`DD.MM.YYYY`, `ja`/`nein`, CRLF and (for files) a UTF-8 BOM. Floats never use
an exponent and keep at most 6 decimals. Text cells that a spreadsheet would
run as a formula (starting with `= + - @`, tab or CR) get a leading `'`, as
OWASP advises for CSV injection, in CSV and XLSX and in header names; numbers
are never touched. JSON is left exact because no spreadsheet opens it. The
index is not written (reset it first to keep it). Files are written
atomically via `winback_cli.atomic`.
"""

from __future__ import annotations

from json.encoder import encode_basestring
from pathlib import Path
from typing import Literal, TextIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from winback_cli.atomic import write_atomic
from winback_cli.textbytes import (
    ZERO,
    datetimes,
    digit_count,
    digits,
    either,
    first_bytes,
    fixed_digits,
    join_columns,
    joined,
    pack,
    wrap,
)

CsvStyle = Literal["standard", "excel-de"]
Kind = Literal["text", "int", "float", "bool", "date"]

BOM = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_JSON_SPECIAL = bytes(range(32)) + b'"\\'  # what json.dumps escapes in a string
_TRIGGER_BYTES = np.frombuffer("".join(FORMULA_TRIGGERS).encode(), np.uint8)
_SCALE = 1_000_000  # six decimals
_EXACT_LIMIT = 9e12  # |x| * _SCALE still fits in int64


def neutralise(value: str) -> str:
    """Prefix `'` to text a spreadsheet would run as a formula (OWASP CSV injection).

    >>> neutralise("=1+1"), neutralise("+49 30 1234"), neutralise("Müller")
    ("'=1+1", "'+49 30 1234", 'Müller')
    """
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def to_csv(df: pd.DataFrame, *, style: CsvStyle = "standard", bom: bool = False) -> str:
    """Serialise `df` as CSV text in `style`, with a leading BOM if `bom`."""
    delimiter, terminator = (";", "\r\n") if style == "excel-de" else (",", "\n")
    header = delimiter.join(_quote(neutralise(str(name)), delimiter) for name in df.columns)
    start = ((BOM if bom else "") + header + terminator).encode()
    if not (df.shape[1] and len(df)):
        return start.decode()
    fields = [csv_field(normalise_column(df.iloc[:, i]), style) for i in range(df.shape[1])]
    # The header rides in front of the first field and the terminators behind the last,
    # so the joined lines are the whole text, decoded straight from Arrow's buffer.
    offsets = np.full(len(df) + 1, len(start), dtype=np.int64)
    offsets[0] = 0
    header_first = pa.LargeStringArray.from_buffers(
        len(df), pa.py_buffer(offsets), pa.py_buffer(start)
    )
    fields[0] = pc.binary_join_element_wise(header_first, fields[0], _text(""))
    fields[-1] = pc.binary_join_element_wise(fields[-1], _text(terminator), _text(""))
    return str(joined(pc.binary_join_element_wise(*fields, _text(delimiter))), "utf-8")


def to_json(df: pd.DataFrame) -> str:
    """A JSON array of one object per row: ISO dates, null for missing, numbers as numbers.

    The text is what `json.dumps(records, indent=2, ensure_ascii=False)` gives, built
    column by column so 500k rows take seconds, not half a minute.
    """
    if not len(df):
        return "[]\n"
    layout = {"indent": "    ", "separator": ",\n", "start": "  {\n", "end": "\n  }"}
    return _json_text(df, before="[\n", between=",\n", after="\n]\n", **layout)


def to_jsonl(df: pd.DataFrame) -> str:
    """JSON Lines: one object per row (as `json.dumps` lays it out), each ending in a newline."""
    if not len(df):
        return ""
    layout = {"separator": ", ", "start": "{", "end": "}"}
    return _json_text(df, before="", between="\n", after="\n", **layout)


def write_text_output(
    path: Path | None, text: str, stdout: TextIO, *, force: bool, bom: bool = False
) -> Path | None:
    """Write UTF-8 `text` atomically to `path`, or to `stdout` when no path is given.

    Newlines are written exactly as in `text` (no CRLF translation on Windows).
    The BOM is added when asked for and `text` does not start with one already.
    """
    if bom and not text.startswith(BOM):
        text = BOM + text
    if path is not None:
        return write_atomic(Path(path), text, force=force)
    buffer = getattr(stdout, "buffer", None)
    if buffer is None:
        stdout.write(text)
    else:
        stdout.flush()
        buffer.write(text.encode("utf-8"))
        buffer.flush()
    return None


# --- column kinds -----------------------------------------------------------


def normalise_column(series: pd.Series) -> pd.Series:
    """Give every column one of five canonical dtypes (object and category columns guessed)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        series, dtype = series.astype(object), np.dtype(object)
    if isinstance(dtype, pd.ArrowDtype) and pd.api.types.is_datetime64_any_dtype(dtype):
        return series.astype("datetime64[us]")
    if dtype == np.dtype(object):
        guessed = pd.api.types.infer_dtype(series, skipna=True)
        target = {"boolean": "boolean", "integer": "Int64", "floating": "float64"}
        if guessed in target:
            return series.astype(target[guessed])
        if guessed in ("mixed-integer-float", "decimal"):
            return series.astype("float64")
        if guessed in ("date", "datetime", "datetime64"):
            return pd.to_datetime(series)
    if column_kind(series) == "text":
        return series.astype("str")
    return series


def column_kind(series: pd.Series) -> Kind:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date"
    return "text"


def naive_dates(series: pd.Series) -> pd.Series:
    """Local wall-clock time: the date a person in that time zone saw."""
    return series.dt.tz_localize(None) if series.dt.tz is not None else series


def has_time(dates: pd.Series) -> bool:
    return bool((dates.dropna() != dates.dropna().dt.normalize()).any())


# --- CSV --------------------------------------------------------------------


def csv_field(series: pd.Series, style: CsvStyle) -> pa.Array:
    """One column as CSV field text (quoted where needed), "" for missing."""
    kind, german = column_kind(series), style == "excel-de"
    if kind == "float":
        text = _format_floats(series.to_numpy("float64", na_value=np.nan), "," if german else ".")
    elif kind == "int":
        text = pa.array(series).cast(pa.large_string())
    elif kind == "bool":
        yes, no = ("ja", "nein") if german else ("true", "false")
        text = pc.if_else(pa.array(series, type=pa.bool_()), _text(yes), _text(no))
    elif kind == "date":
        text = _format_dates(series, " ", day_first=german)
    else:
        text = _quote_array(neutralise_text(series), ";" if german else ",")
    return pc.fill_null(text.cast(pa.large_string()), _text(""))


def _format_dates(series: pd.Series, time_separator: str, day_first: bool = False) -> pa.Array:
    """ISO dates (or DD.MM.YYYY), with the time of day only if some value in the column has one.

    Written as bytes (`textbytes.datetimes`); NaT is null, and the rare far
    years go through strftime.
    """
    dates = naive_dates(series)
    with_time = has_time(dates)
    text, odd = datetimes(
        dates.to_numpy(), time_separator=time_separator if with_time else None, day_first=day_first
    )
    if not odd.any():
        return text
    pattern = f"%Y-%m-%d{time_separator}%H:%M:%S" if with_time else "%Y-%m-%d"
    rows = np.flatnonzero(odd)
    other = pa.array(dates.iloc[rows].dt.strftime(pattern), pa.large_string(), from_pandas=True)
    if day_first:  # reorder the ISO text
        other = pc.replace_substring_regex(other, r"^(-?\d+)-(\d\d)-(\d\d)", r"\3.\2.\1")
    position = np.arange(len(dates))
    position[rows] = len(dates) + np.arange(len(rows))
    return pa.concat_arrays([text, other]).take(position)


def neutralise_text(series: pd.Series) -> pa.Array:
    text = pa.array(series, type=pa.large_string(), from_pandas=True)
    risky = np.isin(first_bytes(text), _TRIGGER_BYTES)
    if not risky.any():  # the usual case: nothing to touch
        return text
    return pc.if_else(pa.array(risky), pc.utf8_replace_slice(text, 0, 0, "'"), text)


def _text(value: str) -> pa.Scalar:
    """A large_string scalar: Arrow will not mix string and large_string in one call."""
    return pa.scalar(value, pa.large_string())


def _quote_array(text: pa.Array, delimiter: str) -> pa.Array:
    # Quote \r ourselves: CPython's csv writer left a bare \r unquoted before 3.11.9.
    everything = bytes(joined(text))
    if not any(char.encode() in everything for char in (delimiter, '"', "\r", "\n")):
        return text  # the usual case, found at memchr speed
    needs_quotes = pc.match_substring_regex(text, f'[{delimiter}"\r\n]')
    if b'"' not in everything:  # wrapping is enough
        return wrap(text, pc.fill_null(needs_quotes, False).to_numpy(zero_copy_only=False), '"')
    quote = _text('"')
    quoted = pc.binary_join_element_wise(
        quote, pc.replace_substring(text, '"', '""'), quote, _text("")
    )
    return pc.if_else(needs_quotes, quoted, text)


def _quote(value: str, delimiter: str) -> str:
    if any(char in value for char in (delimiter, '"', "\r", "\n")):
        return '"' + value.replace('"', '""') + '"'
    return value


def _format_floats(values: np.ndarray, decimal: str) -> pa.Array:
    """Plain decimal text with at most 6 decimals and no exponent; null for NaN.

    Written as bytes with integer arithmetic (`textbytes`), so 500k values take
    milliseconds.
    """
    finite = np.isfinite(values)
    exact = finite & (np.abs(values) < _EXACT_LIMIT)
    kept = np.where(exact, values, 0.0)
    # Round half away from zero, as people (and Excel) do; np.rint would round half to even.
    magnitude = np.floor(np.abs(kept) * _SCALE + 0.5).astype(np.int64)
    whole = magnitude // _SCALE
    fraction = (magnitude - whole * _SCALE).astype(np.uint32)
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
    # Rare: huge values and infinities, formatted one by one.
    odd = np.flatnonzero(~exact)
    fixed = [_odd_float(values[i], decimal) for i in odd]
    position = np.arange(len(values))
    position[odd] = len(values) + np.arange(len(odd))
    return pa.concat_arrays([text, pa.array(fixed, pa.large_string())]).take(position)


def _odd_float(value: float, decimal: str) -> str | None:
    if np.isnan(value):
        return None
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    return np.format_float_positional(value, precision=6, trim="-").replace(".", decimal)


# --- JSON -------------------------------------------------------------------


def _json_text(
    df: pd.DataFrame,
    *,
    before: str,
    between: str,
    after: str,
    separator: str,
    start: str,
    end: str,
    indent: str = "",
) -> str:
    """Rows as JSON objects laid out exactly as `json.dumps` would, `between` them.

    One Arrow join per table: the keys, separators and brackets are constant
    parts between the columns' cells, decoded straight from Arrow's buffer.
    """
    if df.shape[1] == 0:
        empty = start[: start.index("{")] + "{}"
        return before + between.join([empty] * len(df)) + after
    rows = len(df)
    opening = pa.concat_arrays(
        [pa.array([before + start], pa.large_string()), pa.repeat(_text(start), rows - 1)]
    )
    closing = pa.concat_arrays(
        [pa.repeat(_text(end + between), rows - 1), pa.array([end + after], pa.large_string())]
    )
    parts: list = [opening]
    for i, name in enumerate(df.columns):
        key = f"{separator if i else ''}{indent}{encode_basestring(str(name))}: "
        # A repeated array, not a scalar: Arrow joins arrays several times faster.
        parts += [pa.repeat(_text(key), rows), _json_cells(normalise_column(df.iloc[:, i]))]
    text = pc.binary_join_element_wise(*parts, closing, _text(""))
    return str(joined(text), "utf-8")


def _json_cells(series: pd.Series) -> pa.Array:
    """Each value as JSON text; null for missing and for ±inf (JSON has no infinity)."""
    kind = column_kind(series)
    if kind == "int":
        text = pa.array(series).cast(pa.large_string())
    elif kind == "bool":
        text = pc.if_else(pa.array(series, type=pa.bool_()), _text("true"), _text("false"))
    elif kind == "float":
        text = _float_reprs(series.to_numpy("float64", na_value=np.nan))
    elif kind == "date":
        text = _json_strings(_format_dates(series, "T"))
    else:
        text = _json_strings(pa.array(series, pa.large_string(), from_pandas=True))
    return pc.fill_null(text.cast(pa.large_string()), _text("null"))


def _float_reprs(values: np.ndarray) -> pa.Array:
    """`repr(value)` of each float, null for NaN and ±inf.

    Between 1e-4 and 4e9, a value that is the nearest float to a decimal with at
    most six places has that decimal as its shortest repr, so the CSV formatter
    writes it (plus '.0' when whole). Other values go through `repr`, once per
    distinct bit pattern.
    """
    size = np.abs(values)
    with np.errstate(invalid="ignore", over="ignore"):
        millionths = np.floor(size * _SCALE + 0.5)
        plain = (size >= 1e-4) & (size < 4e9) & (millionths / _SCALE == size)
        whole = pa.array(plain & (millionths % _SCALE == 0))
    text = _format_floats(np.where(plain, values, 0.0), ".")
    text = pc.if_else(whole, pc.binary_join_element_wise(text, _text(".0"), _text("")), text)
    other = np.flatnonzero(~plain & np.isfinite(values))
    if len(other):
        codes, distinct = pd.factorize(values[other].view(np.int64))
        spelled = pa.array([repr(v) for v in distinct.view(np.float64).tolist()], pa.large_string())
        position = np.arange(len(values))
        position[other] = len(values) + np.arange(len(other))
        text = pa.concat_arrays([text, spelled.take(codes)]).take(position)
    missing = pa.scalar(None, pa.large_string())
    return pc.if_else(pa.array(np.isfinite(values)), text, missing)


def _json_strings(text: pa.Array) -> pa.Array:
    """Quote strings for JSON; only the few with quotes, backslashes or controls are escaped."""
    quote = _text('"')
    encoded = pc.binary_join_element_wise(quote, text, quote, _text(""))
    everything = bytes(joined(text))
    if len(everything.translate(None, _JSON_SPECIAL)) == len(everything):
        return encoded  # the usual case, seen in one pass over the bytes
    special = np.flatnonzero(pc.fill_null(pc.match_substring_regex(text, r'[\x00-\x1f"\\]'), False))
    if not len(special):
        return encoded
    fixed = encoded.to_numpy(zero_copy_only=False).astype(object)
    for i in special:
        fixed[i] = encode_basestring(text[i].as_py())
    return pa.array(fixed, pa.large_string())


def cell_values(series: pd.Series) -> list[object]:
    """Plain Python numbers and booleans; None for missing and for ±inf."""
    if column_kind(series) == "float":
        values = series.to_numpy("float64", na_value=np.nan)
        return with_none(values.tolist(), ~np.isfinite(values))
    return series.to_numpy(object, na_value=None).tolist()


def with_none(values: list[object], missing: np.ndarray) -> list[object]:
    for i in np.flatnonzero(missing):
        values[i] = None
    return values
