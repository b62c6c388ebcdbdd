"""Read one delimited text file into a DataFrame of strings, losing nothing.

Every cell stays text (`00042`, `NA` and `03.04.2024` arrive as written);
typed conversion happens per column in `load`. The reader decodes leniently
(UTF-8 with or without BOM, else cp1252 with a warning), detects the
delimiter, and uses pyarrow's multi-threaded CSV parser. Rows with the
wrong number of fields are not dropped: they come back as rejects with
their line. Each kept row carries the row number a spreadsheet shows.
"""

from __future__ import annotations

import codecs
import csv
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from winback_cli.errors import ColumnError, InputError
from winback_cli.sniff import decode_bytes, detect_delimiter

ROW = "_row"  # spreadsheet row number of each record (header is row 1)
FILE = "_file"  # the file a parsed order row came from
BLOCK_SIZE = 8 << 20
SAMPLE = 1 << 20  # bytes decoded for sniffing the header and delimiter
MAX_HEADER = 200_000  # characters; real exports' headers are a few thousand at most


@dataclass(frozen=True)
class RawTable:
    """A file's cells as text, with where each row came from."""

    source: str
    frame: pd.DataFrame  # text columns named by header, plus ROW
    headers: tuple[str, ...]
    rejects: pd.DataFrame  # file, row, column, value, reason
    blank_rows: int
    delimiter: str = ","
    warnings: tuple[str, ...] = field(default=())

    @property
    def rows_read(self) -> int:
        return len(self.frame) + len(self.rejects)


REJECT_COLUMNS = ("file", "row", "column", "value", "reason")


def empty_rejects() -> pd.DataFrame:
    """A rejects frame with no rows and the stable columns."""
    return pd.DataFrame(
        {name: pd.Series(dtype="int64" if name == "row" else "str") for name in REJECT_COLUMNS}
    )


@contextmanager
def open_input(path: str) -> Iterator[tuple[BinaryIO, str]]:
    """`path` (or stdin for `-`) opened for reading bytes, and the name to use in messages."""
    if path == "-":
        yield sys.stdin.buffer, "<stdin>"
        return
    try:
        stream = Path(path).open("rb")  # noqa: SIM115 -- closed by the with below
    except FileNotFoundError:
        raise InputError(f"{path}: file not found; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file; name the CSV file(s)") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied; check the file's permissions") from None
    with stream:
        yield stream, path


def read_bytes(path: str) -> tuple[bytes, str]:
    """Bytes of `path` (or stdin for `-`) and the name to use in messages."""
    with open_input(path) as (stream, source):
        return stream.read(), source


def _utf8_body(data: bytes, source: str) -> tuple[bytes, str, tuple[str, ...]]:
    """UTF-8 bytes to parse, a text sample for sniffing, and decoding warnings.

    Valid UTF-8 without NUL bytes (the common case) is parsed as it is, so a
    large file is not held three times (bytes, text, re-encoded bytes); only
    its first megabyte is decoded, for the header and the delimiter.
    """
    if b"\x00" not in data:
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            for start in range(0, len(data), SAMPLE):
                decoder.decode(data[start : start + SAMPLE])
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            pass
        else:
            body = data[3:] if data.startswith(codecs.BOM_UTF8) else data
            return body, body[:SAMPLE].decode("utf-8", errors="ignore"), ()
    decoded = decode_bytes(data, source)
    return decoded.text.encode("utf-8"), decoded.text, decoded.warnings


def _header(text: str, delimiter: str, source: str) -> tuple[list[str], list[str]]:
    """Parse the header record; return cleaned names and warnings."""
    try:
        # The header is the first record; parse only the start of the file.
        names = next(csv.reader(io.StringIO(text[:SAMPLE], newline=""), delimiter=delimiter))
    except (StopIteration, csv.Error) as exc:
        raise InputError(f"{source}, row 1: cannot read the header row ({exc})") from None
    names = [name.strip() for name in names]
    warnings: list[str] = []
    seen: dict[str, int] = {}
    cleaned: list[str] = []
    for position, name in enumerate(names, start=1):
        if not name:
            name = f"column_{position}"
        if name in seen:
            first = seen[name]
            new = f"{name} ({position})"
            warnings.append(
                f"{source}: header '{name}' appears twice (columns {first} and {position}); "
                f"the second is read as '{new}'"
            )
            name = new
        seen.setdefault(name, position)
        cleaned.append(name)
    return cleaned, warnings


def _parse(
    body: bytes, names: list[str], delimiter: str, source: str, *, quoted: bool
) -> tuple[pa.Table, list]:
    """Parse the records of `body`; `quoted`: does it hold a `"` at all?"""
    bad: list = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad.append(row)
        return "skip"

    def attempt(block_size: int) -> pa.Table:
        bad.clear()
        return pacsv.read_csv(
            pa.BufferReader(body),  # no copy, no Python file object in the way
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=block_size),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                # Only a quoted field can hold a line break; without quotes Arrow
                # may split blocks at any line break, which halves the cost of parsing.
                newlines_in_values=quoted,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )

    try:
        try:
            return attempt(BLOCK_SIZE), bad
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc):
                raise
            # One field is larger than a block: read the file as one block.
            return attempt(len(body) + 1), bad
    except pa.ArrowInvalid as exc:
        raise InputError(
            f"{source}: cannot be parsed as '{delimiter}'-delimited text ({exc}); "
            "check for unbalanced quotes"
        ) from None


def _line_breaks(text: str, start: int, end: int) -> int:
    """Line breaks in text[start:end]; CR LF, LF and a lone CR each count once."""
    return (
        text.count("\n", start, end) + text.count("\r", start, end) - text.count("\r\n", start, end)
    )


def _find_line(text: str, line: str, start: int) -> int:
    """Position of the next whole line equal to `line` at or after `start`, or -1."""
    for position in _candidates(text, line, start):
        end = position + len(line)
        if end == len(text) or text[end] in "\r\n":
            return position
    return -1


def _candidates(text: str, line: str, start: int):
    """Positions where `line` starts right after a line break, in order."""
    cursor = start
    while True:
        found = [
            p for p in (text.find("\n" + line, cursor), text.find("\r" + line, cursor)) if p >= 0
        ]
        if not found:
            return
        position = min(found) + 1
        yield position
        cursor = position


def _locate(text: str, rows: list) -> list[int]:
    """Line numbers of rejected raw rows, found as whole lines below the header, in one pass."""
    header_end = min((p for p in (text.find("\n"), text.find("\r")) if p >= 0), default=0)
    cursors: dict[str, int] = {}
    positions = []
    for row in rows:
        position = _find_line(text, row.text, cursors.get(row.text, header_end))
        cursors[row.text] = position + max(len(row.text), 1) if position >= 0 else len(text)
        positions.append(position)
    order = sorted(range(len(rows)), key=lambda k: positions[k])
    lines = [0] * len(rows)
    line, previous = 1, 0
    for k in order:
        if positions[k] < 0:
            continue
        line += _line_breaks(text, previous, positions[k])
        previous = positions[k]
        lines[k] = line
    return lines


def text_columns(table: pa.Table) -> pd.DataFrame:
    """Typed Arrow columns as text, written the way a CSV export shows them."""
    columns = {}
    for name, column in zip(table.column_names, table.itercolumns(), strict=True):
        text = column.cast(pa.string()) if not pa.types.is_string(column.type) else column
        columns[str(name)] = text.fill_null("")
    return pa.table(columns).to_pandas()


def read_parquet(path: str) -> RawTable:
    """Read a Parquet file as text columns, so it goes through the same checks as CSV.

    Typed columns are written out the way a CSV export would show them (dates
    ISO, numbers with a dot); row numbers count records from 1.
    """
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found; check the path") from None
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: cannot be read as Parquet ({exc})") from None
    frame = text_columns(table)
    frame[ROW] = np.arange(1, len(frame) + 1, dtype=np.int64)
    headers = tuple(str(name) for name in table.column_names)
    return RawTable(path, frame, headers, empty_rejects(), 0, ",", ())


def read_table(path: str) -> RawTable:
    """Read a delimited text file (or Parquet, by its suffix); see the module docstring."""
    if path != "-" and path.lower().endswith(".parquet"):
        return read_parquet(path)
    data, source = read_bytes(path)
    return table_from_bytes(data, source)


@dataclass(frozen=True)
class Head:
    """What the start of a file tells: where the header is, its names and the delimiter."""

    body: bytes  # UTF-8 from the header row on
    text: str  # decoded start of `body` (at least the header), for sniffing
    names: list[str]
    delimiter: str
    skipped: int  # lines above the header (Excel's sep= line, blank lines)
    warnings: tuple[str, ...]


def read_head(body: bytes, text: str, source: str) -> Head:
    """Find the header and the delimiter at the start of UTF-8 `body`."""
    body, text, delimiter = _separator_line(body, text)
    body, text, skipped = _leading_blank_lines(body, text)
    if not text.strip():
        raise InputError(f"{source}: the file is empty; export it again with a header row")
    _check_header_size(text, len(body), source)
    delimiter = delimiter or detect_delimiter(text, source)
    names, warnings = _header(text, delimiter, source)
    return Head(body, text, names, delimiter, skipped, tuple(warnings))


def table_from_bytes(data: bytes, source: str) -> RawTable:
    """A whole file's bytes as a RawTable."""
    body, text, decode_warnings = _utf8_body(data, source)
    del data
    head = read_head(body, text, source)
    table, _ = parse_records(head.body, head.text, head, source, skipped=head.skipped)
    if table.frame.empty and table.rejects.empty:
        warnings = (*table.warnings, f"{source}: has a header row but no data rows")
        table = replace(table, warnings=warnings)
    return replace(table, warnings=(*decode_warnings, *head.warnings, *table.warnings))


def parse_records(
    body: bytes, text: str, head: Head, source: str, *, skipped: int, line_offset: int = 0
) -> tuple[RawTable, int]:
    """Parse `body` (the header row, then records) into a RawTable; also count its records.

    `skipped` is how many rows a spreadsheet shows above this body's first
    record besides the header, so a slice of a large file gets true row
    numbers; `line_offset` does the same for lines named in errors.
    """
    names, delimiter = head.names, head.delimiter
    # Only a quoted field can hold a line break; most large exports have no quotes.
    quoted = b'"' in body
    table, bad = _parse(body, names, delimiter, source, quoted=quoted)
    records = table.num_rows + len(bad)
    multiline = (quoted and _has_line_breaks(table)) or any("\n" in row.text for row in bad)
    if (bad or multiline) and len(text) < len(body):
        text = body.decode("utf-8")  # the whole text, to find rows and quotes
    del body
    if multiline:
        _check_quotes(text, delimiter, source, line_offset)
        located = _bad_records(text, delimiter, len(names))
    else:
        located = sorted(zip(_locate(text, bad), [_describe(row) for row in bad], strict=True))
    blank = _blank_rows(table)
    frame = table.to_pandas()
    del table
    # Spreadsheet row numbers: header is row 1; skipped invalid rows still take a row.
    rows = np.arange(2, len(frame) + 2, dtype=np.int64) + skipped
    located = [(line + skipped, what) for line, what in located]
    for line, _ in located:
        rows[rows >= line] += 1
    frame[ROW] = rows
    frame = frame.loc[~blank].reset_index(drop=True)
    frame = _drop_empty_unnamed(frame, names)
    rejects = (
        pd.DataFrame(
            {
                "file": source,
                "row": np.array([line for line, _ in located], dtype=np.int64),
                "column": "",
                "value": [value for _, (value, _) in located],
                "reason": [reason for _, (_, reason) in located],
            }
        )
        if located
        else empty_rejects()
    )
    headers = tuple(c for c in frame.columns if c != ROW)
    raw = RawTable(source, frame, headers, rejects, int(blank.sum()), delimiter, ())
    return raw, records


def _blank_rows(table: pa.Table) -> np.ndarray:
    """Rows whose every field is empty (a blank line, or only delimiters)."""
    import pyarrow.compute as pc

    none = np.zeros(table.num_rows, dtype=bool)
    blank = None
    for column in table.itercolumns():
        empty = pc.equal(pc.binary_length(column), 0)
        blank = empty if blank is None else pc.and_(blank, empty)
        if not pc.any(blank).as_py():  # most files: the first column settles it
            return none
    return none if blank is None else blank.to_numpy(zero_copy_only=False)


def _describe(row: pacsv.InvalidRow) -> tuple[str, str]:
    return row.text[:200], f"has {row.actual_columns} fields, expected {row.expected_columns}"


def _separator_line(body: bytes, text: str) -> tuple[bytes, str, str | None]:
    """Honour Excel's `sep=;` first line: use that delimiter and drop the line."""
    first = text.split("\n", 1)[0].strip()
    if len(first) == 5 and first.lower().startswith("sep="):
        cut = body.find(b"\n") + 1
        return body[cut:], text[text.find("\n") + 1 :], first[4]
    return body, text, None


def _leading_blank_lines(body: bytes, text: str) -> tuple[bytes, str, int]:
    """Drop empty lines above the header; return how many, to keep row numbers right."""
    stripped = text.lstrip("\r\n \t")
    if stripped == text:
        return body, text, 0
    dropped = text[: len(text) - len(stripped)]
    skipped = _line_breaks(dropped, 0, len(dropped))
    cut = len(dropped.encode("utf-8"))
    return body[cut:], stripped, skipped


def _check_header_size(text: str, size: int, source: str) -> None:
    """Refuse a header row too long to be a real export's header."""
    first_break = text.find("\n")
    if (first_break < 0 and size > len(text.encode("utf-8"))) or first_break > MAX_HEADER:
        raise InputError(
            f"{source}, row 1: the header row is longer than {MAX_HEADER:,} characters "
            f"(a file with {text[:MAX_HEADER].count(',') + text[:MAX_HEADER].count(';'):,}+ "
            "columns?); winback reads order and customer exports with at most a few "
            "hundred columns. Export only the columns you need"
        )


def _has_line_breaks(table: pa.Table) -> bool:
    """Does any value hold a line break (a quoted multi-line field)?"""
    import pyarrow.compute as pc

    return any(
        pc.any(pc.match_substring(column, "\n")).as_py()
        for column in table.itercolumns()
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    )


def _check_quotes(text: str, delimiter: str, source: str, line_offset: int = 0) -> None:
    """A quote that never closes would swallow every row after it: refuse the file."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    last_line = 0
    try:
        for _ in reader:
            last_line = reader.line_num
    except csv.Error as error:
        raise InputError(
            f"{source}, line {last_line + 1 + line_offset}: a quoted field opened in this row "
            f"is never closed ({error}); every row after it would be read as one value. Fix: close "
            'the quote (or double it as "" inside a quoted value) and export again'
        ) from None


def _bad_records(text: str, delimiter: str, expected: int) -> list[tuple[int, tuple[str, str]]]:
    """Rows (as a spreadsheet counts them) whose field count is wrong, for multi-line files."""
    found = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for row, record in enumerate(reader, start=1):
        if row > 1 and record and len(record) != expected:
            value = delimiter.join(record)[:200]
            found.append((row, (value, f"has {len(record)} fields, expected {expected}")))
    return found


def _drop_empty_unnamed(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Drop columns without a header whose cells are all empty (trailing `;;`)."""
    empty = [
        name
        for position, name in enumerate(names, start=1)
        if name == f"column_{position}" and (frame[name] == "").all()
    ]
    return frame.drop(columns=empty)


def require_header(raw: RawTable) -> None:
    """Refuse a file whose first row looks like data rather than a header."""
    looks_like_data = [h for h in raw.headers if any(ch.isdigit() for ch in h)]
    if raw.headers and len(looks_like_data) == len(raw.headers):
        raise ColumnError(
            f"{raw.source}, row 1: the first row looks like data "
            f"({', '.join(raw.headers[:4])}), not a header; add a header row"
        )
