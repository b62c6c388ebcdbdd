"""Read a large export in slices of whole records, so memory does not grow with the file.

A file that fits in one slice is read as before (`tables.table_from_bytes`).
A larger one is read block by block into one buffer that is reused for
every slice: each block is decoded to UTF-8 (`sniff.StreamDecoder`), the
records are cut after the last line break that lies outside a quoted field,
and the piece is parsed with the header in front by the same
code that reads a small file (`tables.parse_records`), with row and line
numbers offset by what came before, so a reject in the tenth slice names its
true spreadsheet row. Parquet files are read a batch of row groups at a time.
`progress(bytes, rows)` is called after each slice with what it consumed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from queue import Empty, Queue
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from winback_cli.errors import InputError
from winback_cli.header_row import SAMPLE, read_head
from winback_cli.sniff import StreamDecoder
from winback_cli.tables import (
    ROW,
    RawTable,
    empty_rejects,
    open_input,
    parse_records,
    table_from_bytes,
    text_columns,
)

SLICE_BYTES = 64 << 20  # about a million order rows
HEAD_BYTES = SAMPLE  # what the delimiter is decided from
PARQUET_ROWS = 1 << 20
Progress = Callable[[int, int], None]  # (bytes consumed, rows read) per slice


def iter_table(
    path: str,
    *,
    slice_bytes: int | None = None,
    head_bytes: int | None = None,
    progress: Progress | None = None,
) -> Iterator[RawTable]:
    """The file's rows as RawTables of at most about `slice_bytes` each; see the module doc.

    The first `head_bytes` (at least the header row) decide the delimiter.
    """
    slice_bytes = slice_bytes or SLICE_BYTES
    head_bytes = head_bytes or HEAD_BYTES
    report = progress or (lambda _bytes, _rows: None)
    if path != "-" and path.lower().endswith(".parquet"):
        yield from _iter_parquet(path, report)
        return
    with open_input(path) as (stream, source):
        size = max(slice_bytes, head_bytes)
        # A byte past the first slice tells whether more follows; read apart and appended,
        # it would copy the whole slice.
        first = stream.read(size + 1)
        more = len(first) > size
        while more and not _holds_header(first):  # the head must hold the whole header row
            piece = stream.read(head_bytes)
            first += piece
            more = bool(piece)
        if not more:
            table = table_from_bytes(first, source)
            report(len(first), table.rows_read)
            yield table
            return
        yield from _iter_slices(first, stream, source, slice_bytes, report)


def _iter_slices(
    first: bytes, stream: BinaryIO, source: str, slice_bytes: int, report: Progress
) -> Iterator[RawTable]:
    decoder = StreamDecoder(source)
    body = decoder.decode(first)
    head = read_head(body, body[:SAMPLE].decode("utf-8", errors="ignore"), source)
    header_end = record_end(head.body)
    start = header_end  # the header stays in front of every slice's records
    # One buffer, reused slice after slice: fresh memory for every block would cost the
    # system a page fault per 4 KB, more than reading and copying the bytes does. Made
    # from the head and then extended, it is not zeroed first where the head goes.
    size = start + max(len(head.body) - start, slice_bytes) + slice_bytes // 4 + 1
    work = bytearray(head.body)
    work += bytes(size - len(work))
    fill = len(head.body)  # bytes in use: the header, then records not parsed yet
    block = bytearray(max(slice_bytes // 4, 1))  # one read; a slice takes about four
    rows_before, lines_before, consumed, yielded = head.skipped, 0, len(first), False
    del body, first
    emitted = 0  # decoder warnings already passed on
    eof = False
    while True:
        # Where the last whole record ends, looked up once per slice (a scan of its bytes).
        ends = 0 if eof or fill - start < slice_bytes else last_record_end(work, start, fill)
        if not eof and not ends:
            got = stream.readinto(block) or 0
            eof = not got
            piece = decoder.decode(block if got == len(block) else block[:got], final=eof)
            work = _room(work, fill, len(piece))
            work[fill : fill + len(piece)] = piece
            fill += len(piece)
            consumed += got
            continue
        cut = fill if eof else start + ends
        if cut > start or not yielded:
            quoted = work.find(b'"', start, cut) >= 0
            # `work` is never resized (`_room` copies instead), so a view of it that the
            # parser still holds cannot make the move below fail.
            body = memoryview(work)[:cut]
            table, records, multiline = parse_records(
                body,
                str(body[:SAMPLE], "utf-8", errors="ignore"),
                head,
                source,
                skipped=rows_before,
                line_offset=lines_before,
                quoted=quoted,
            )
            del body
            notes = () if yielded else head.warnings
            table = replace(table, warnings=(*decoder.warnings[emitted:], *notes))
            emitted = len(decoder.warnings)
            rows_before += records
            # Unless a value holds one, a record is a line; counting line breaks is slower.
            lines_before += _count(work, b"\n", start, cut) if multiline else records
            work[start : start + fill - cut] = work[cut:fill]  # the rest moves up
            fill = start + fill - cut
            yielded = True
            report(consumed, table.rows_read)
            consumed = 0
            yield table
        if eof:
            return


def _room(work: bytearray, fill: int, more: int) -> bytearray:
    """`work`, or a larger copy of its first `fill` bytes, with room for `more` after them."""
    if fill + more <= len(work):
        return work
    larger = bytearray(max(fill + more, len(work) + len(work) // 2))
    larger[:fill] = memoryview(work)[:fill]
    return larger


def _holds_header(data: bytes) -> bool:
    """Does `data` hold a whole header row, after a BOM, Excel's sep= line and blank lines?"""
    data = data.removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n \t")
    if data[:4].lower() == b"sep=":
        data = data[data.find(b"\n") + 1 :].lstrip(b"\r\n \t") if b"\n" in data else b""
    return bool(data) and record_end(data) < len(data)


def record_end(data: bytes) -> int:
    """End (just after its line break) of the first record in `data`, quotes considered."""
    end = data.find(b"\n")
    if end < 0:
        return len(data)
    inside = data.count(b'"', 0, end) % 2
    while inside:
        following = data.find(b"\n", end + 1)
        if following < 0:
            return len(data)
        inside ^= data.count(b'"', end, following) % 2
        end = following
    return end + 1


def last_record_end(data: bytes | bytearray, start: int = 0, end: int | None = None) -> int:
    """End (just after its line break) of the last complete record in `data[start:end]`,
    counted from `start`, or 0.

    `start` is a record boundary. A line break after an odd number of quotes
    lies inside a quoted field (doubled quotes `""` keep the count even).
    """
    end = len(data) if end is None else end
    stop = data.rfind(b"\n", start, end)
    if stop < 0:
        return 0
    inside = _count(data, b'"', start, stop) % 2 if data.find(b'"', start, end) >= 0 else 0
    while inside:
        previous = data.rfind(b"\n", start, stop)
        if previous < 0:
            return 0
        inside ^= data.count(b'"', previous, stop) % 2
        stop = previous
    return stop + 1 - start


def _count(data: bytes | bytearray, byte: bytes, start: int, stop: int) -> int:
    """`data.count(byte, start, stop)` for one byte, in numpy: twice as fast, without the GIL.

    >>> _count(b'a"b"c"', b'"', 1, 5)
    2
    """
    view = np.frombuffer(data, dtype=np.uint8)[start:stop]
    return int(np.count_nonzero(view == byte[0]))


def _iter_parquet(path: str, report: Progress) -> Iterator[RawTable]:
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(path)
        size = Path(path).stat().st_size
        total = max(reader.metadata.num_rows, 1)
        batches = reader.iter_batches(batch_size=PARQUET_ROWS)
        done = 0
        first = True
        for batch in batches:
            table = pa.Table.from_batches([batch])
            frame = text_columns(table)
            frame[ROW] = np.arange(done + 1, done + len(frame) + 1, dtype=np.int64)
            headers = tuple(str(name) for name in table.column_names)
            done += len(frame)
            report(size * len(frame) // total, len(frame))
            first = False
            yield RawTable(path, frame, headers, empty_rejects(), 0, ",", ())
        if first:  # no rows at all: still one (empty) table with the headers
            table = reader.schema_arrow.empty_table()
            yield RawTable(
                path, text_columns(table), tuple(table.column_names), empty_rejects(), 0, ","
            )
    except FileNotFoundError:
        raise InputError(f"{path}: file not found; check the path") from None
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: cannot be read as Parquet ({exc})") from None


def prefetch(items: Iterator[RawTable]) -> Iterator[RawTable]:
    """Produce the next slice in a thread while the caller works on this one.

    pyarrow's parser releases the GIL, so reading overlaps with parsing the
    columns of the slice before; errors surface in the caller, in order. A
    caller that stops early stops the thread too (and the file is closed).
    """
    done = object()
    queue: Queue = Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    break
                queue.put((item, None))
        except BaseException as error:  # handed to the consumer, which raises it
            queue.put((None, error))
        finally:
            items.close()
        queue.put((done, None))

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while True:
            item, error = queue.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting to put
            with suppress(Empty):
                queue.get(timeout=0.05)
