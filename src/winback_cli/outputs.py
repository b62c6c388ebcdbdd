"""Turn a result DataFrame into CSV, JSON, JSON Lines or XLSX, the same way for every command.

Columns are read by kind (text, int, float, bool, date) and each kind has one
spelling per format: CSV `standard` is `,` / `.` / ISO dates / `true`; CSV
`excel-de` is what a German Excel opens by double-click: `;`, decimal comma,
`DD.MM.YYYY`, `ja`/`nein`, CRLF and (for files) a UTF-8 BOM. Floats never use
an exponent and keep at most 6 decimals. Text cells that a spreadsheet would
run as a formula (starting with `= + - @`, tab or CR) get a leading `'`, as
OWASP advises for CSV injection, in CSV and XLSX and in header names; numbers
are never touched. JSON is left exact because no spreadsheet opens it
(`json_text` writes it). The index is not written (reset it first to keep
it). Files are written atomically via `winback_cli.atomic`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal, TextIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from winback_cli.atomic import atomic_writer, synced_writes
from winback_cli.parallel import ordered_map
from winback_cli.textbytes import date_texts, first_bytes, joined, plain_decimals, wrap

CsvStyle = Literal["standard", "excel-de"]
Kind = Literal["text", "int", "float", "bool", "date"]

BOM = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER_BYTES = np.frombuffer("".join(FORMULA_TRIGGERS).encode(), np.uint8)
_THREADED_ROWS = 50_000  # below this, starting threads costs more than it saves
_PIECE_ROWS = 32_768  # rows of text joined at a time when writing
_CHUNK_ROWS = 65_536  # rows of a CSV formatted at a time


def neutralise(value: str) -> str:
    """Prefix `'` to text a spreadsheet would run as a formula (OWASP CSV injection).

    >>> neutralise("=1+1"), neutralise("+49 30 1234"), neutralise("Müller")
    ("'=1+1", "'+49 30 1234", 'Müller')
    """
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def to_csv(df: pd.DataFrame, *, style: CsvStyle = "standard", bom: bool = False) -> str:
    """Serialise `df` as CSV text in `style`, with a leading BOM if `bom`."""
    return str(table_bytes(df, "csv", style=style, bom=bom), "utf-8")


def to_json(df: pd.DataFrame) -> str:
    """A JSON array of one object per row: ISO dates, null for missing, numbers as numbers.

    The text is what `json.dumps(records, indent=2, ensure_ascii=False)` gives, built
    column by column so 500k rows take seconds, not half a minute.
    """
    return str(table_bytes(df, "json"), "utf-8")


def to_jsonl(df: pd.DataFrame) -> str:
    """JSON Lines: one object per row (as `json.dumps` lays it out), each ending in a newline."""
    return str(table_bytes(df, "jsonl"), "utf-8")


def table_bytes(
    df: pd.DataFrame,
    fmt: Literal["csv", "json", "jsonl"],
    *,
    style: CsvStyle = "standard",
    bom: bool = False,
) -> memoryview:
    """The UTF-8 bytes of `to_csv`, `to_json` or `to_jsonl`, without the detour through str.

    `style` and `bom` are for CSV. To write them, `table_pieces` saves memory.
    """
    pieces = list(table_pieces(df, fmt, style=style, bom=bom))
    return pieces[0] if len(pieces) == 1 else memoryview(b"".join(pieces))


def table_pieces(
    df: pd.DataFrame,
    fmt: Literal["csv", "json", "jsonl"],
    *,
    style: CsvStyle = "standard",
    bom: bool = False,
) -> Iterator[memoryview]:
    """`table_bytes` in pieces of some thousand rows, each made when it is asked for.

    Hand them to `write_text_output`: for 500k rows this saves decoding and
    encoding a quarter of a gigabyte, and each piece reuses the memory of the
    one before instead of touching new pages (slow, on a virtual machine).
    """
    if fmt == "csv":
        return _csv_pieces(df, style, bom)
    if not len(df):
        return iter([memoryview(b"[]\n" if fmt == "json" else b"")])
    from winback_cli.json_text import json_pieces  # it builds on the column kinds here

    if fmt == "json":
        layout = {"indent": "    ", "separator": ",\n", "start": "  {\n", "end": "\n  }"}
        return json_pieces(df, before="[\n", between=",\n", after="\n]\n", **layout)
    layout = {"separator": ", ", "start": "{", "end": "}"}
    return json_pieces(df, before="", between="\n", after="\n", **layout)


def joined_rows(parts: list[pa.Array], separator: str) -> Iterator[memoryview]:
    """The parts joined element-wise with `separator`, all rows back to back, in pieces.

    For large tables the next pieces are joined on two threads while the caller
    writes this one: joining and writing both run without the GIL.
    """
    rows = len(parts[0])

    def piece(start: int) -> memoryview:
        texts = [part.slice(start, _PIECE_ROWS) for part in parts]
        return joined(pc.binary_join_element_wise(*texts, _text(separator)))

    starts = range(0, rows, _PIECE_ROWS)
    yield from map(piece, starts) if rows < _THREADED_ROWS else ordered_map(piece, starts)


def write_text_output(
    path: Path | None,
    text: str | bytes | memoryview | Iterable[bytes | memoryview],
    stdout: TextIO,
    *,
    force: bool,
    bom: bool = False,
) -> Path | None:
    """Write UTF-8 `text` (or its bytes, or pieces of them) atomically to `path`, or to `stdout`.

    Newlines are written exactly as in `text` (no CRLF translation on Windows).
    The BOM is added when asked for and `text` does not start with one already.
    """
    if isinstance(text, str):
        text = (BOM if bom and not text.startswith(BOM) else "") + text
        pieces: Iterable[bytes | memoryview] = [text.encode("utf-8")]
    else:
        pieces = _with_bom(iter([text] if isinstance(text, bytes | memoryview) else text), bom)
    if path is not None:
        with (
            atomic_writer(Path(path), force=force, mode="wb") as handle,
            synced_writes(handle) as write,
        ):
            for piece in pieces:
                write(piece)
        return Path(path)
    buffer = getattr(stdout, "buffer", None)
    if buffer is not None:
        stdout.flush()
    for piece in pieces:
        if buffer is None:
            stdout.write(str(piece, "utf-8"))
        else:
            buffer.write(piece)
    if buffer is not None:
        buffer.flush()
    return None


def _with_bom(pieces: Iterator[bytes | memoryview], bom: bool) -> Iterator[bytes | memoryview]:
    mark = BOM.encode()
    first = next(pieces, b"")
    if bom and bytes(first[: len(mark)]) != mark:
        yield mark
    yield first
    yield from pieces


def _csv_pieces(df: pd.DataFrame, style: CsvStyle, bom: bool) -> Iterator[memoryview]:
    delimiter, terminator = (";", "\r\n") if style == "excel-de" else (",", "\n")
    header = delimiter.join(_quote(neutralise(str(name)), delimiter) for name in df.columns)
    start = memoryview(((BOM if bom else "") + header + terminator).encode())
    if not (df.shape[1] and len(df)):
        return iter([start])
    columns = [normalise_column(df.iloc[:, i]) for i in range(df.shape[1])]
    # Whether a date column shows the time of day is decided on the whole column.
    timed = [column_kind(c) == "date" and has_time(naive_dates(c)) for c in columns]

    def lines(first: int) -> memoryview:
        fields = [
            csv_field(column.iloc[first : first + _CHUNK_ROWS], style, with_time=with_time)
            for column, with_time in zip(columns, timed, strict=True)
        ]
        fields[-1] = pc.binary_join_element_wise(fields[-1], _text(terminator), _text(""))
        return joined(pc.binary_join_element_wise(*fields, _text(delimiter)))

    # Every chunk of rows is formatted and joined whole, on two threads for large
    # tables: both cores stay busy, and only a few chunks of text exist at a time.
    firsts = range(0, len(df), _CHUNK_ROWS)
    chunks = map(lines, firsts) if len(df) < _THREADED_ROWS else ordered_map(lines, firsts)
    return itertools.chain([start], chunks)


def each_column(df: pd.DataFrame, make) -> list:
    """`make` of each normalised column, two at a time for large tables.

    The work is numpy's and Arrow's, which release the GIL, so a second
    thread nearly halves the time on an otherwise idle second core.
    """
    columns = [normalise_column(df.iloc[:, i]) for i in range(df.shape[1])]
    if len(df) < _THREADED_ROWS:
        return [make(series) for series in columns]
    return list(ordered_map(make, columns))


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
    """Whether some date in the column is not at midnight."""
    values = dates.to_numpy()
    if values.dtype.kind != "M" or dates.dt.tz is not None:
        return bool((dates.dropna() != dates.dropna().dt.normalize()).any())
    per_day = np.timedelta64(1, "D").astype(values.dtype.str.replace("M8", "m8")).astype(np.int64)
    ticks = values.view(np.int64)[~np.isnat(values)]
    return bool((ticks % per_day).any())


# --- CSV --------------------------------------------------------------------


def csv_field(series: pd.Series, style: CsvStyle, *, with_time: bool | None = None) -> pa.Array:
    """One column as CSV field text (quoted where needed), "" for missing.

    Dates show the time of day if `with_time`; by default, if some value has one.
    """
    kind, german = column_kind(series), style == "excel-de"
    if kind == "float":
        text = plain_decimals(series.to_numpy("float64", na_value=np.nan), "," if german else ".")
    elif kind == "int":
        text = pa.array(series).cast(pa.large_string())
    elif kind == "bool":
        yes, no = ("ja", "nein") if german else ("true", "false")
        text = pc.if_else(pa.array(series, type=pa.bool_()), _text(yes), _text(no))
    elif kind == "date":
        text = format_dates(series, " ", day_first=german, with_time=with_time)
    else:
        text = _quote_array(neutralise_text(series), ";" if german else ",")
    return pc.fill_null(text.cast(pa.large_string()), _text(""))


def format_dates(
    series: pd.Series,
    time_separator: str,
    day_first: bool = False,
    with_time: bool | None = None,
) -> pa.Array:
    """ISO dates (or DD.MM.YYYY), with the time of day if `with_time`.

    By default, with it only if some value in the column has one.
    """
    dates = naive_dates(series)
    with_time = has_time(dates) if with_time is None else with_time
    return date_texts(dates, with_time, time_separator, day_first)


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
