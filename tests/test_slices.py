"""Large exports are read in slices: the result must be exactly that of reading them whole.

Every corpus file and example is read with slices of a few bytes (so records,
quoted line breaks, blank lines and bad rows straddle slice borders) and
compared with the whole-file reader: same rows, row numbers, rejects, warnings
and errors.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from unittest.mock import patch

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winback_cli import slices, tables
from winback_cli.errors import AmbiguousDateError, InputError, WinbackError
from winback_cli.load import load_orders
from winback_cli.rules import Rules
from winback_cli.slices import iter_table, last_record_end, record_end
from winback_cli.tables import read_table

ROOT = Path(__file__).parent.parent
FILES = sorted(ROOT.glob("tests/corpus/*/*.csv")) + sorted(ROOT.glob("examples/*.csv"))
TODAY = dt.date(2025, 12, 1)


def _at_least_a_thirtieth(path: Path, size: int) -> int:
    """Tiny slices for the corpus files; the larger examples still get about 30 slices."""
    return max(size, path.stat().st_size // 30)


def _outcome(read):
    try:
        return read(), None
    except WinbackError as error:
        return None, str(error)


@pytest.mark.parametrize("size", [1, 37, 500])
@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_slices_read_like_the_whole_file(path, size):
    size = _at_least_a_thirtieth(path, size)
    whole, whole_error = _outcome(lambda: read_table(str(path)))
    parts, parts_error = _outcome(
        lambda: list(iter_table(str(path), slice_bytes=size, head_bytes=size))
    )
    assert parts_error == whole_error
    if whole is None:
        return
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(frame[list(whole.frame.columns)], whole.frame)
    rejects = pd.concat([p.rejects for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(rejects, whole.rejects.reset_index(drop=True), check_dtype=False)
    assert [w for p in parts for w in p.warnings] == list(whole.warnings)
    assert sum(p.rows_read for p in parts) == whole.rows_read


ORDER_FILES = [p for p in FILES if p.name.startswith("orders")]


@pytest.mark.parametrize("path", ORDER_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_loading_in_slices_gives_the_same_orders(path, monkeypatch):
    rules = Rules()
    whole, whole_error = _outcome(lambda: load_orders([str(path)], rules, today=TODAY))
    monkeypatch.setattr(slices, "SLICE_BYTES", _at_least_a_thirtieth(path, 64))
    monkeypatch.setattr(slices, "HEAD_BYTES", 64)
    parts, parts_error = _outcome(lambda: load_orders([str(path)], rules, today=TODAY))
    assert parts_error == whole_error
    if whole is None:
        return
    pd.testing.assert_frame_equal(parts.frame, whole.frame)
    pd.testing.assert_frame_equal(parts.rejects, whole.rejects)
    assert parts.warnings == whole.warnings
    assert parts.rows_read == whole.rows_read


def test_shopify_orders_straddling_slices_are_filled_down(tmp_path, monkeypatch):
    lines = ["Name,Email,Financial Status,Created at,Subtotal,Lineitem quantity,Lineitem name"]
    for order in range(40):
        lines.append(
            f"#{order},c{order % 7}@example.com,paid,2025-10-07 09:50:26 +0200,45.00,1,Mug"
        )
        lines += [f"#{order},,,,,{k},Spoon" for k in range(order % 4)]
    path = tmp_path / "orders_export.csv"
    path.write_text("\n".join(lines) + "\n")
    whole = load_orders([str(path)], Rules(), today=TODAY)
    monkeypatch.setattr(slices, "SLICE_BYTES", 50)
    parts = load_orders([str(path)], Rules(), today=TODAY)
    pd.testing.assert_frame_equal(parts.frame, whole.frame)
    assert (parts.frame["customer_id"] != "").all()
    assert parts.frame["order_id"].nunique() == 40


def _write(tmp_path, text: str, name: str = "orders.csv") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def test_slashed_dates_decided_early_read_later_slices(tmp_path, monkeypatch):
    rows = ["K1,25/01/2025,10"] + ["K1,02/03/2025,10"] * 30  # later rows alone are ambiguous
    path = _write(tmp_path, "customer_id,order_date,amount\n" + "\n".join(rows) + "\n")
    monkeypatch.setattr(slices, "SLICE_BYTES", 40)
    orders = load_orders([path], Rules(), today=TODAY)
    assert orders.frame["order_date"].dt.month.tolist()[1:] == [3] * 30


def test_slashed_dates_disagreeing_across_slices_are_refused(tmp_path, monkeypatch):
    rows = ["K1,25/01/2025,10"] * 10 + ["K1,01/25/2025,10"] * 10
    path = _write(tmp_path, "customer_id,order_date,amount\n" + "\n".join(rows) + "\n")
    monkeypatch.setattr(slices, "SLICE_BYTES", 40)
    with pytest.raises(AmbiguousDateError, match="slashed dates disagree"):
        load_orders([path], Rules(), today=TODAY)


def test_a_late_non_utf8_byte_switches_to_cp1252_once(tmp_path):
    body = "customer_id;order_date;amount;category\n" + "K1;01.02.2025;1,00;Tee\n" * 50
    path = tmp_path / "orders.csv"
    path.write_bytes(body.encode() + "K2;02.02.2025;2,00;Tee für Zwei\n".encode("cp1252"))
    parts = list(iter_table(str(path), slice_bytes=64, head_bytes=64))
    warnings = [w for p in parts for w in p.warnings]
    assert len(warnings) == 1 and "line 52" in warnings[0]
    assert pd.concat([p.frame for p in parts])["category"].iloc[-1] == "Tee für Zwei"


def test_a_late_nul_byte_names_its_line(tmp_path):
    body = "customer_id,order_date,amount\n" + "K1,2025-02-01,1\n" * 50 + "K2,2025-\x0002-01,1\n"
    path = _write(tmp_path, body)
    with pytest.raises(InputError, match="NUL bytes at line 52"):
        list(iter_table(path, slice_bytes=64, head_bytes=64))


def test_progress_reports_every_byte_and_row(tmp_path):
    body = "customer_id,order_date,amount\n" + "K1,2025-02-01,1\n" * 100
    path = _write(tmp_path, body)
    seen = []
    tables = list(
        iter_table(path, slice_bytes=100, head_bytes=100, progress=lambda b, r: seen.append((b, r)))
    )
    assert len(tables) > 5
    assert sum(b for b, _ in seen) == len(body)
    assert sum(r for _, r in seen) == 100


_FIELD = st.text(alphabet='ab,;"\n\r ', max_size=6)
_RECORDS = st.lists(st.lists(_FIELD, min_size=3, max_size=3), min_size=1, max_size=12)


def _csv_bytes(records: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(records)
    return out.getvalue().encode()


@settings(max_examples=200, deadline=None)
@given(_RECORDS)
def test_cuts_fall_between_records(records):
    data = _csv_bytes(records)
    for stop in range(len(data) + 1):
        parsed = _records(data[: last_record_end(data[:stop])])
        assert parsed == records[: len(parsed)]
    assert _records(data[: record_end(data)]) == records[:1]


@settings(max_examples=200, deadline=None)
@given(_RECORDS)
def test_a_cut_within_a_larger_buffer_is_the_cut_of_that_part(records):
    # The slicer keeps the header and unread bytes around the records it cuts.
    data = _csv_bytes(records)
    before, after = b'a,"b\n', b'\n"x\n'  # a quote and line breaks on either side
    buffer = before + data + after
    for stop in range(len(data) + 1):
        cut = last_record_end(buffer, len(before), len(before) + stop)
        assert cut == last_record_end(data[:stop])


def _records(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(), newline="")))


_CELL = st.text(alphabet='ab1 ,"\n', max_size=4)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_CELL, min_size=3, max_size=3), min_size=1, max_size=10))
def test_any_written_table_reads_back_with_blank_rows_left_out(records):
    # Quote-free files take Arrow's faster path (no line breaks inside values), and
    # blank rows are found column by column: both must agree with Python's csv module.
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([["x", "y", "z"], *records])
    with patch.object(tables, "BLOCK_SIZE", 16):  # Arrow's blocks end inside the records
        raw = slices.table_from_bytes(out.getvalue().encode(), "t.csv")
    kept = [(row, r) for row, r in enumerate(records, start=2) if any(r)]
    assert raw.blank_rows == len(records) - len(kept)
    assert raw.frame[["x", "y", "z"]].values.tolist() == [r for _, r in kept]
    assert raw.frame["_row"].tolist() == [row for row, _ in kept]


def test_a_late_open_quote_names_its_line_after_quoted_one_line_records(tmp_path):
    # Records before it are quoted but on one line each: their lines are counted as records.
    body = "customer_id,order_date,amount\n" + '"K1","2025-02-01","1"\n' * 40
    path = _write(tmp_path, body + '"K2,2025-02-01,1\n' + "K3,2025-02-01,1\n" * 3)
    _, whole_error = _outcome(lambda: read_table(path))
    _, parts_error = _outcome(lambda: list(iter_table(path, slice_bytes=64, head_bytes=64)))
    assert whole_error is not None and "line 42" in whole_error
    assert parts_error == whole_error
