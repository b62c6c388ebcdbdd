"""The start of a delimited file: Excel's `sep=` line, blank lines, the delimiter, the header.

`read_head` finds where the header row is, which delimiter the file uses
and the column names (blank ones numbered, repeated ones told apart with a
warning), and refuses a header too long to be a real export's.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from winback_cli.bad_rows import line_breaks
from winback_cli.errors import InputError
from winback_cli.sniff import detect_delimiter

SAMPLE = 1 << 20  # bytes decoded for sniffing the header and delimiter
MAX_HEADER = 200_000  # characters; real exports' headers are a few thousand at most


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
    skipped = line_breaks(dropped, 0, len(dropped))
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
