"""Read one delimited text file into a DataFrame of strings, losing nothing.

Every cell stays text (`00042`, `NA` and `03.04.2024` arrive as written);
typed conversion happens per column in `load`. The reader decodes leniently
(UTF-8 with or without BOM, else cp1252 with a warning), detects the
delimiter, and uses pyarrow's multi-threaded CSV parser. Rows with the
wrong number of fields are not dropped: they come back as rejects with
their line. Each kept row carries the row number a spreadsheet shows.
`header_row` finds the header and the delimiter; `bad_rows` locates the
refused rows.
"""

from __future__ import annotations

import codecs
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

from winback_cli.bad_rows import bad_records, check_quotes, describe, has_line_breaks, locate_rows
from winback_cli.errors import ColumnError, InputError
from winback_cli.header_row import SAMPLE, Head, read_head
from winback_cli.sniff import decode_bytes, is_utf8

ROW = "_row"  # spreadsheet row number of each record (header is row 1)
FILE = "_file"  # the file a parsed order row came from
BLOCK_SIZE = 8 << 20


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
    if b"\x00" not in data and is_utf8(data):
        body = data[3:] if data.startswith(codecs.BOM_UTF8) else data
        return body, body[:SAMPLE].decode("utf-8", errors="ignore"), ()
    decoded = decode_bytes(data, source)
    return decoded.text.encode("utf-8"), decoded.text, decoded.warnings


def _parse(
    body: bytes | memoryview, names: list[str], delimiter: str, source: str, *, quoted: bool
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
                # The body is UTF-8 already (`_utf8_body` and `StreamDecoder` checked or
                # re-encoded it), and a field cut at ASCII delimiters stays so; a second
                # check took a fifth of the parse.
                check_utf8=False,
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


def table_from_bytes(data: bytes, source: str) -> RawTable:
    """A whole file's bytes as a RawTable."""
    body, text, decode_warnings = _utf8_body(data, source)
    del data
    head = read_head(body, text, source)
    table, *_ = parse_records(head.body, head.text, head, source, skipped=head.skipped)
    if table.frame.empty and table.rejects.empty:
        warnings = (*table.warnings, f"{source}: has a header row but no data rows")
        table = replace(table, warnings=warnings)
    return replace(table, warnings=(*decode_warnings, *head.warnings, *table.warnings))


def parse_records(
    body: bytes | memoryview,
    text: str,
    head: Head,
    source: str,
    *,
    skipped: int,
    line_offset: int = 0,
    quoted: bool | None = None,
) -> tuple[RawTable, int, bool]:
    """Parse `body` (valid UTF-8: the header row, then records) into a RawTable; also count
    its records, and tell whether a value holds a line break (else a record is a line).

    `skipped` is how many rows a spreadsheet shows above this body's first
    record besides the header, so a slice of a large file gets true row
    numbers; `line_offset` does the same for lines named in errors.
    `quoted` (does `body` hold a `"`?) is looked up when the caller has not.
    """
    names, delimiter = head.names, head.delimiter
    # Only a quoted field can hold a line break; most large exports have no quotes.
    quoted = b'"' in bytes(body) if quoted is None else quoted
    table, bad = _parse(body, names, delimiter, source, quoted=quoted)
    records = table.num_rows + len(bad)
    multiline = (quoted and has_line_breaks(table)) or any("\n" in row.text for row in bad)
    if (bad or multiline) and len(text) < len(body):
        text = str(body, "utf-8")  # the whole text, to find rows and quotes
    del body
    if multiline:
        check_quotes(text, delimiter, source, line_offset)
        located = bad_records(text, delimiter, len(names))
    else:
        located = sorted(zip(locate_rows(text, bad), [describe(row) for row in bad], strict=True))
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
    return raw, records, multiline


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
