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

CsvStyle = Literal["standard", "excel-de"]
Kind = Literal["text", "int", "float", "bool", "date"]

BOM = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER_PATTERN = r"^[=+\-@\t\r]"
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
    fields = [csv_field(normalise_column(df.iloc[:, i]), style) for i in range(df.shape[1])]
    lines: list[str] = []
    if fields and len(df):
        lines = pc.binary_join_element_wise(*fields, _text(delimiter)).to_pylist()
    body = terminator.join([header, *lines]) + terminator
    return (BOM if bom else "") + body


def to_json(df: pd.DataFrame) -> str:
    """A JSON array of one object per row: ISO dates, null for missing, numbers as numbers.

    The text is what `json.dumps(records, indent=2, ensure_ascii=False)` gives, built
    column by column so 500k rows take seconds, not half a minute.
    """
    if not len(df):
        return "[]\n"
    rows = _json_objects(df, indent="    ", separator=",\n", start="  {\n", end="\n  }")
    return "[\n" + ",\n".join(rows) + "\n]\n"


def to_jsonl(df: pd.DataFrame) -> str:
    """JSON Lines: one object per row (as `json.dumps` lays it out), each ending in a newline."""
    return "".join(row + "\n" for row in _json_objects(df, separator=", ", start="{", end="}"))


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
        text = _format_dates(series, " ")
        if german:  # reorder the ISO text: much faster than strftime("%d.%m.%Y")
            text = pc.replace_substring_regex(text, r"^(-?\d+)-(\d\d)-(\d\d)", r"\3.\2.\1")
    else:
        text = _quote_array(neutralise_text(series), ";" if german else ",")
    return pc.fill_null(text.cast(pa.large_string()), _text(""))


def _format_dates(series: pd.Series, time_separator: str) -> pa.Array:
    """ISO dates, with the time of day only if some value in the column has one."""
    dates = naive_dates(series)
    pattern = f"%Y-%m-%d{time_separator}%H:%M:%S" if has_time(dates) else "%Y-%m-%d"
    return pa.array(dates.dt.strftime(pattern), type=pa.large_string(), from_pandas=True)


def neutralise_text(series: pd.Series) -> pa.Array:
    text = pa.array(series, type=pa.large_string(), from_pandas=True)
    risky = pc.match_substring_regex(text, _TRIGGER_PATTERN)
    return pc.if_else(risky, pc.utf8_replace_slice(text, 0, 0, "'"), text)


def _text(value: str) -> pa.Scalar:
    """A large_string scalar: Arrow will not mix string and large_string in one call."""
    return pa.scalar(value, pa.large_string())


def _quote_array(text: pa.Array, delimiter: str) -> pa.Array:
    # Quote \r ourselves: CPython's csv writer left a bare \r unquoted before 3.11.9.
    needs_quotes = pc.match_substring_regex(text, f'[{delimiter}"\r\n]')
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

    Done with integer arithmetic in Arrow so 500k values take milliseconds.
    """
    finite = np.isfinite(values)
    exact = finite & (np.abs(values) < _EXACT_LIMIT)
    kept = np.where(exact, values, 0.0)
    # Round half away from zero, as people (and Excel) do; np.rint would round half to even.
    magnitude = np.floor(np.abs(kept) * _SCALE + 0.5).astype(np.int64)
    negative = (kept < 0) & (magnitude > 0)
    whole = pa.array(magnitude // _SCALE).cast(pa.large_string())
    digits = pc.utf8_lpad(pa.array(magnitude % _SCALE).cast(pa.large_string()), 6, "0")
    digits = pc.utf8_rtrim(digits, "0")
    empty = _text("")
    with_point = pc.binary_join_element_wise(_text(decimal), digits, empty)
    fraction = pc.if_else(pc.equal(digits, empty), empty, with_point)
    sign = pc.if_else(pa.array(negative), _text("-"), empty)
    text = pc.binary_join_element_wise(sign, whole, fraction, empty)
    if exact.all():
        return text
    # Rare: huge values and infinities, formatted one by one.
    fixed = text.to_numpy(zero_copy_only=False).astype(object)
    for i in np.flatnonzero(~exact):
        value = values[i]
        if np.isnan(value):
            fixed[i] = None
        elif np.isinf(value):
            fixed[i] = "inf" if value > 0 else "-inf"
        else:
            plain = np.format_float_positional(value, precision=6, trim="-")
            fixed[i] = plain.replace(".", decimal)
    return pa.array(fixed, type=pa.large_string())


# --- JSON -------------------------------------------------------------------


def _json_objects(
    df: pd.DataFrame, *, separator: str, start: str, end: str, indent: str = ""
) -> list[str]:
    """Each row as one JSON object text, laid out exactly as `json.dumps` would."""
    if df.shape[1] == 0:
        return [start[: start.index("{")] + "{}"] * len(df)
    members = [
        pc.binary_join_element_wise(
            _text(f"{indent}{encode_basestring(str(name))}: "),
            _json_cells(normalise_column(df.iloc[:, i])),
            _text(""),
        )
        for i, name in enumerate(df.columns)
    ]
    rows = pc.binary_join_element_wise(*members, _text(separator))
    return pc.binary_join_element_wise(_text(start), rows, _text(end), _text("")).to_pylist()


def _json_cells(series: pd.Series) -> pa.Array:
    """Each value as JSON text; null for missing and for ±inf (JSON has no infinity)."""
    kind = column_kind(series)
    if kind == "int":
        text = pa.array(series).cast(pa.large_string())
    elif kind == "bool":
        text = pc.if_else(pa.array(series, type=pa.bool_()), _text("true"), _text("false"))
    elif kind == "float":
        values = series.to_numpy("float64", na_value=np.nan)
        text = pa.array(list(map(float.__repr__, values.tolist())), pa.large_string())
        text = pc.if_else(pa.array(np.isfinite(values)), text, pa.scalar(None, pa.large_string()))
    elif kind == "date":
        text = _json_strings(_format_dates(series, "T"))
    else:
        text = _json_strings(pa.array(series, pa.large_string(), from_pandas=True))
    return pc.fill_null(text.cast(pa.large_string()), _text("null"))


def _json_strings(text: pa.Array) -> pa.Array:
    """Quote strings for JSON; only the few with quotes, backslashes or controls are escaped."""
    quote = _text('"')
    encoded = pc.binary_join_element_wise(quote, text, quote, _text(""))
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
