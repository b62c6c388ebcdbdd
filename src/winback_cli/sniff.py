"""Turn a data file's bytes into text and find its delimiter, before any CSV parsing.

Exports come as UTF-8 (with or without BOM) or, from older Windows tools, as
Windows-1252; we read both and say so when we fell back. Files that are not
text at all (spreadsheets, UTF-16, binaries) are refused with the fix. The
delimiter is found by counting `;`, tab, `,` and `|` outside quoted fields on
the first hundred lines and keeping the one the header uses and the rows
repeat; csv.Sniffer and pandas' `sep=None` guess from too little and pick `,`
in `1,5;2,5`.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import numpy as np

from winback_cli.errors import InputError

DELIMITERS = (";", "\t", ",", "|")  # in order of preference when the evidence ties
SAMPLE_LINES = 100
SAMPLE_CHARS = 1_000_000

_BOM = b"\xef\xbb\xbf"
_SAVE_AS_UTF8 = "save it as UTF-8 (Excel: 'CSV UTF-8') and try again"


@dataclass(frozen=True)
class Decoded:
    """A file's text, the encoding it was read with, and notes for the user."""

    text: str
    encoding: str
    warnings: tuple[str, ...] = ()


def decode_bytes(data: bytes, source: str) -> Decoded:
    """Decode strict UTF-8 (BOM dropped), else Windows-1252 with a warning."""
    body = data.removeprefix(_BOM)
    encoding = "utf-8-sig" if len(body) < len(data) else "utf-8"
    if not body.strip():
        raise InputError(f"{source} is empty")
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{source} is UTF-16 text (Excel 'Unicode Text'); {_SAVE_AS_UTF8}")
    nul = body.find(b"\0")
    if nul >= 0:
        raise InputError(
            f"{source} contains NUL bytes at line {_line(body, nul)}; is it a spreadsheet "
            "or binary file? Export it as CSV (UTF-8) and try again"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        return _decode_cp1252(body, source, _line(body, error.start))
    if not text.strip():
        raise InputError(f"{source} is empty")
    return Decoded(text=text, encoding=encoding)


def _decode_cp1252(body: bytes, source: str, bad_line: int) -> Decoded:
    try:
        text = body.decode("cp1252")  # refuses the five bytes cp1252 leaves undefined
    except UnicodeDecodeError as error:
        raise InputError(
            f"{source} is neither UTF-8 (line {bad_line}) nor Windows-1252: byte "
            f"0x{body[error.start]:02X} at line {_line(body, error.start)} means "
            f"nothing in either; {_SAVE_AS_UTF8}"
        ) from None
    if not text.strip():
        raise InputError(f"{source} is empty")
    warning = (
        f"{source} was read as Windows-1252 (cp1252) because it is not valid UTF-8 at line "
        f"{bad_line}; check umlauts and € signs in the result, or {_SAVE_AS_UTF8}"
    )
    return Decoded(text=text, encoding="cp1252", warnings=(warning,))


def _line(data: bytes, position: int) -> int:
    """1-based line number of a byte position, as an editor shows it."""
    return data.count(b"\n", 0, position) + 1


class StreamDecoder:
    """`decode_bytes` for a file read block by block: each block comes back as UTF-8.

    A file stays UTF-8 while its blocks are valid UTF-8; from the first
    invalid byte on it is read as Windows-1252, with the same warning and the
    same errors (naming the line in the whole file) as `decode_bytes`.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.encoding = "utf-8"
        self.warnings: list[str] = []
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._lines = 0  # line breaks in the blocks before this one
        self._held = b""  # the start of a character cut by the end of the last block
        self._started = False

    def decode(self, block: bytes | bytearray, *, final: bool = False) -> bytes | bytearray:
        if not self._started:
            self._started = True
            block = block.removeprefix(_BOM)
            if block.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise InputError(
                    f"{self.source} is UTF-16 text (Excel 'Unicode Text'); {_SAVE_AS_UTF8}"
                )
        nul = block.find(b"\0")
        if nul >= 0:
            raise InputError(
                f"{self.source} contains NUL bytes at line {self._lines + _line(block, nul)}; "
                "is it a spreadsheet or binary file? Export it as CSV (UTF-8) and try again"
            )
        if self._held:
            block, self._held = self._held + block, b""
        if self.encoding == "utf-8" and not block.isascii():  # ASCII is valid UTF-8
            # A character cut by the block's end waits for the next block: if that
            # shows the file is not UTF-8, the bytes are read as cp1252 too.
            whole = len(block) if final else _whole_characters_end(block)
            if is_utf8(memoryview(block)[:whole]) and self._starts_character(block[whole:]):
                self._held = bytes(block[whole:])  # the quick check, a tenth of decoding
            else:  # the decoder has the last word, and finds the first bad byte's line
                try:
                    self._utf8.decode(block, final=final)
                except UnicodeDecodeError as error:
                    self._switch_to_cp1252(self._lines + _line(block, error.start))
                else:
                    self._held = self._utf8.getstate()[0]
                self._utf8.reset()
            if self._held:
                block = block[: len(block) - len(self._held)]
        if self.encoding == "cp1252":
            try:  # the codec refuses the five bytes cp1252 leaves undefined
                block = block.decode("cp1252").encode("utf-8")
            except UnicodeDecodeError as error:
                raise InputError(
                    f"{self.source} is neither UTF-8 nor Windows-1252: byte "
                    f"0x{block[error.start]:02X} at line "
                    f"{self._lines + _line(block, error.start)} means nothing in "
                    f"either; {_SAVE_AS_UTF8}"
                ) from None
        self._lines += newline_count(block)
        return block

    def _starts_character(self, tail: bytes | bytearray) -> bool:
        """Whether `tail` (at most 3 bytes) can begin a UTF-8 character."""
        try:
            self._utf8.decode(tail)
        except UnicodeDecodeError:
            return False
        finally:
            self._utf8.reset()
        return True

    def _switch_to_cp1252(self, bad_line: int) -> None:
        # Blocks before this one were valid UTF-8; read as cp1252 only their
        # non-ASCII bytes would differ, which a cp1252 export does not have.
        self.encoding = "cp1252"
        self.warnings.append(
            f"{self.source} was read as Windows-1252 (cp1252) because it is not valid UTF-8 "
            f"at line {bad_line}; check umlauts and € signs in the result, or {_SAVE_AS_UTF8}"
        )


def is_utf8(data: bytes | bytearray | memoryview) -> bool:
    """Whether `data` is valid UTF-8, as Python's strict decoder judges it, without decoding.

    Arrow's check runs at memory speed; decoding a 16 MB block to a str took ten times as long.
    """
    import pyarrow as pa

    offsets = np.array([0, len(data)], dtype=np.int64)
    text = pa.LargeStringArray.from_buffers(1, pa.py_buffer(offsets), pa.py_buffer(data))
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _whole_characters_end(data: bytes | bytearray) -> int:
    """Where `data` ends without the start of a multi-byte character its end cuts off."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return len(data)
        if byte >= 0xC0:  # a lead byte: 2, 3 or 4 bytes long
            length = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) - back if length > back else len(data)
    return len(data)


def newline_count(data: bytes | bytearray) -> int:
    """`data.count(b"\\n")`, about four times faster on the blocks of a large file.

    CPython counts one byte at a time; numpy compares many at once. A megabyte
    at a time keeps the comparison's scratch array in reused memory.
    """
    view, step = np.frombuffer(data, dtype=np.uint8), 1 << 20
    breaks = (np.count_nonzero(view[at : at + step] == 10) for at in range(0, len(view), step))
    return int(sum(breaks))


def detect_delimiter(text: str, source: str) -> str:
    """The delimiter the header uses and the rows repeat most consistently; `,` if none."""
    sample = text[:SAMPLE_CHARS]
    complete = len(sample) == len(text)
    scored = []
    for preference, delimiter in enumerate(DELIMITERS):
        counts = _counts_per_line(sample, delimiter, complete)
        if not counts:
            raise InputError(f"{source} is empty")
        header = counts[0]
        if header >= 1:
            consistency = sum(count == header for count in counts) / len(counts)
            scored.append((consistency, -preference, delimiter))
    return max(scored)[2] if scored else ","


def _counts_per_line(sample: str, delimiter: str, complete: bool) -> list[int]:
    """Delimiters outside quoted fields on each non-blank logical line of the sample.

    A quote opens a quoted field only at the start of a field, so `12" pipe` stays
    plain text; a quoted field may span lines.
    """
    d = re.escape(delimiter)
    field = re.compile(rf'"[^"]*(?:""[^"]*)*"[^{d}\r\n]*|[^{d}\r\n]*')
    counts: list[int] = []
    position, line_start, count, end = 0, 0, 0, len(sample)
    while len(counts) < SAMPLE_LINES:
        position = field.match(sample, position).end()  # type: ignore[union-attr]  # matches ""
        if position < end and sample[position] == delimiter:
            count, position = count + 1, position + 1
            continue
        if position >= end and not complete:
            break  # the sample cut this line short
        if count or sample[line_start:position].strip(" "):  # a tab may be the delimiter
            counts.append(count)
        if position >= end:
            break
        position += 2 if sample.startswith("\r\n", position) else 1
        line_start, count = position, 0
    return counts
