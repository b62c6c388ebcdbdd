"""Rows the CSV parser could not use, found again in the text to name their rows.

pyarrow's parser hands back a refused row (wrong number of fields) as its
text, without a line number. `locate_rows` finds those texts as whole lines
below the header, in one pass, so a reject names the row a spreadsheet
shows. A file whose values span lines is checked with Python's csv module
instead (`bad_records`), after `check_quotes` has refused a quote that
never closes.
"""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from winback_cli.errors import InputError
from winback_cli.facts_text import may_hold


def line_breaks(text: str, start: int, end: int) -> int:
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


def locate_rows(text: str, rows: list) -> list[int]:
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
        line += line_breaks(text, previous, positions[k])
        previous = positions[k]
        lines[k] = line
    return lines


def describe(row: pacsv.InvalidRow) -> tuple[str, str]:
    """The refused row's text (its first 200 characters) and why it was refused."""
    return row.text[:200], f"has {row.actual_columns} fields, expected {row.expected_columns}"


def has_line_breaks(table: pa.Table) -> bool:
    """Does any value hold a line break (a quoted multi-line field)?

    A scan of each text chunk's bytes answers most columns; only where a line
    break is among them (maybe in bytes outside the chunk) does a kernel look.
    """
    return any(
        may_hold(chunk, b"\n") and pc.any(pc.match_substring(chunk, "\n")).as_py()
        for column in table.itercolumns()
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        for chunk in column.chunks
    )


def check_quotes(text: str, delimiter: str, source: str, line_offset: int = 0) -> None:
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


def bad_records(text: str, delimiter: str, expected: int) -> list[tuple[int, tuple[str, str]]]:
    """Rows (as a spreadsheet counts them) whose field count is wrong, for multi-line files."""
    found = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for row, record in enumerate(reader, start=1):
        if row > 1 and record and len(record) != expected:
            value = delimiter.join(record)[:200]
            found.append((row, (value, f"has {len(record)} fields, expected {expected}")))
    return found
