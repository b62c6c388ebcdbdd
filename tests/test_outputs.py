"""Result tables as CSV, JSON, JSON Lines and XLSX: read back, safe against formula injection."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winback_cli.errors import OutputError
from winback_cli.outputs import (
    BOM,
    neutralise,
    to_csv,
    to_json,
    to_jsonl,
    write_text_output,
)
from winback_cli.xlsx import excel_sheet_names, write_xlsx


def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": ["Müller GmbH", "=1+1", None, 'Ørsted; "Nord"', "🦊 Fox"],
            "orders": [12, 3, 0, -3, 7],
            "revenue": [1234.5, -5.0, np.nan, 0.1 + 0.2, 1e20],
            "share": [0.25, 0.5, np.nan, 0.125, 1.0],
            "active": [True, False, True, False, True],
            "last_order": pd.to_datetime(
                ["2024-01-05", None, "2024-12-31", "2020-02-29", "2000-01-01"]
            ),
            "visits": pd.array([1, None, 3, 4, 5], dtype="Int64"),
            "vip": pd.array([True, None, False, True, True], dtype="boolean"),
        }
    )


def read_cells(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix(BOM), newline=""), delimiter=delimiter))


# --- neutralise -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+49 30 1234", "'+49 30 1234"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Müller", "Müller"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise_prefixes_only_text_that_starts_like_a_formula(cell: str, safe: str) -> None:
    assert neutralise(cell) == safe


# --- CSV ------------------------------------------------------------------------------


def test_standard_csv_spells_every_kind_plainly() -> None:
    assert to_csv(customers()) == (
        "name,orders,revenue,share,active,last_order,visits,vip\n"
        "Müller GmbH,12,1234.5,0.25,true,2024-01-05,1,true\n"
        "'=1+1,3,-5,0.5,false,,,\n"
        ",0,,,true,2024-12-31,3,false\n"
        '"Ørsted; ""Nord""",-3,0.3,0.125,false,2020-02-29,4,true\n'
        "🦊 Fox,7,100000000000000000000,1,true,2000-01-01,5,true\n"
    )


def test_excel_de_csv_is_what_german_excel_expects() -> None:
    assert to_csv(customers(), style="excel-de") == (
        "name;orders;revenue;share;active;last_order;visits;vip\r\n"
        "Müller GmbH;12;1234,5;0,25;ja;05.01.2024;1;ja\r\n"
        "'=1+1;3;-5;0,5;nein;;;\r\n"
        ";0;;;ja;31.12.2024;3;nein\r\n"
        '"Ørsted; ""Nord""";-3;0,3;0,125;nein;29.02.2020;4;ja\r\n'
        "🦊 Fox;7;100000000000000000000;1;ja;01.01.2000;5;ja\r\n"
    )


def test_excel_de_csv_reads_back_with_pandas() -> None:
    text = to_csv(customers(), style="excel-de", bom=True)
    back = pd.read_csv(io.StringIO(text.removeprefix(BOM)), sep=";", decimal=",")
    assert back["revenue"].tolist()[:2] == [1234.5, -5.0]
    assert back["orders"].tolist() == [12, 3, 0, -3, 7]
    assert back["name"].tolist()[3:] == ['Ørsted; "Nord"', "🦊 Fox"]


def test_the_bom_is_there_exactly_when_asked_for() -> None:
    assert to_csv(customers(), style="excel-de", bom=True).startswith("\ufeffname;")
    assert not to_csv(customers(), style="excel-de").startswith(BOM)
    assert not to_csv(customers(), bom=False).startswith(BOM)
    assert to_csv(customers(), bom=True).count(BOM) == 1


def test_injection_cells_are_neutralised_but_numbers_stay_numbers() -> None:
    df = pd.DataFrame(
        {
            "=cmd|' /C calc'!A0": ["=1+1", "+49 30 1234", "@SUM(A1)", "\tx", "\rx", "-x"],
            "balance": [-5.0, -0.5, 1.0, 2.0, 3.0, 4.0],
            "count": [-5, -1, 0, 1, 2, 3],
        }
    )
    for style, delimiter in (("standard", ","), ("excel-de", ";")):
        rows = read_cells(to_csv(df, style=style), delimiter)
        assert rows[0][0] == "'=cmd|' /C calc'!A0"
        assert [row[0] for row in rows[1:]] == [
            "'=1+1",
            "'+49 30 1234",
            "'@SUM(A1)",
            "'\tx",
            "'\rx",
            "'-x",
        ]
        assert [row[1] for row in rows[1:3]] == ["-5", "-0,5" if style == "excel-de" else "-0.5"]
        assert rows[1][2] == "-5"


def test_floats_never_use_an_exponent_and_keep_six_decimals() -> None:
    df = pd.DataFrame({"x": [1e20, 1.5e-7, 123456789.123456789, -1e-7, 2.5e-6, -1234.5, np.inf]})
    assert read_cells(to_csv(df))[1:] == [
        ["100000000000000000000"],
        ["0"],
        ["123456789.123457"],
        ["0"],
        ["0.000003"],
        ["-1234.5"],
        ["inf"],
    ]
    assert read_cells(to_csv(df, style="excel-de"), ";")[6] == ["-1234,5"]


def test_dates_keep_the_time_only_when_there_is_one() -> None:
    df = pd.DataFrame(
        {
            "day": pd.to_datetime(["2025-03-02", None]),
            "at": pd.to_datetime(["2025-03-02 14:05:09", "2025-03-03 00:00:00"]),
            "berlin": pd.to_datetime(["2025-03-02", "2025-03-03"]).tz_localize("Europe/Berlin"),
        }
    )
    assert to_csv(df).splitlines()[1:] == [
        "2025-03-02,2025-03-02 14:05:09,2025-03-02",
        ",2025-03-03 00:00:00,2025-03-03",
    ]
    assert (
        to_csv(df, style="excel-de").splitlines()[1] == "02.03.2025;02.03.2025 14:05:09;02.03.2025"
    )


def test_object_and_category_columns_are_read_by_what_they_hold() -> None:
    df = pd.DataFrame(
        {
            "dates": pd.Series([dt.date(2024, 5, 1), None], dtype=object),
            "flags": pd.Series([True, None], dtype=object),
            "mixed": pd.Series(["=a", 5], dtype=object),
            "segment": pd.Categorical(["-A", None]),
        }
    )
    assert to_csv(df, style="excel-de").splitlines()[1:] == ["01.05.2024;ja;'=a;'-A", ";;5;"]


def test_a_bare_carriage_return_inside_text_is_quoted() -> None:
    df = pd.DataFrame({"note": ["line one\rline two"], "n": [1]})
    assert read_cells(to_csv(df)) == [["note", "n"], ["line one\rline two", "1"]]


def test_empty_frame_gives_just_the_header() -> None:
    assert (
        to_csv(customers().iloc[:0]) == "name,orders,revenue,share,active,last_order,visits,vip\n"
    )


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(st.text() | st.none(), min_size=1, max_size=8),
    style=st.sampled_from(["standard", "excel-de"]),
)
def test_any_text_survives_the_csv_round_trip_but_the_formula_prefix(
    texts: list[str | None], style: str
) -> None:
    df = pd.DataFrame({"text": pd.Series(texts, dtype="str"), "n": range(len(texts))})
    rows = read_cells(to_csv(df, style=style), ";" if style == "excel-de" else ",")
    expected = [["" if text is None else neutralise(text), str(i)] for i, text in enumerate(texts)]
    assert rows[1:] == expected


# --- JSON -----------------------------------------------------------------------------


def test_json_is_an_array_of_objects_with_nulls_and_iso_dates() -> None:
    records = json.loads(to_json(customers()))
    assert records[0] == {
        "name": "Müller GmbH",
        "orders": 12,
        "revenue": 1234.5,
        "share": 0.25,
        "active": True,
        "last_order": "2024-01-05",
        "visits": 1,
        "vip": True,
    }
    assert records[1]["name"] == "=1+1"  # no spreadsheet opens JSON: left exact
    assert records[1]["last_order"] is records[1]["visits"] is records[1]["vip"] is None
    assert records[2]["revenue"] is None and records[2]["name"] is None
    assert records[4]["name"] == "🦊 Fox"


def test_json_is_laid_out_like_json_dumps_with_indent_2() -> None:
    text = to_json(customers())
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
    assert "Müller" in text and "\\u" not in text


def test_jsonl_has_one_object_per_line() -> None:
    lines = to_jsonl(customers()).splitlines()
    assert len(lines) == 5
    assert [json.loads(line)["orders"] for line in lines] == [12, 3, 0, -3, 7]
    assert lines[0] == json.dumps(json.loads(lines[0]), ensure_ascii=False)


def test_json_of_edge_cases() -> None:
    assert to_json(customers().iloc[:0]) == "[]\n"
    assert to_jsonl(customers().iloc[:0]) == ""
    assert json.loads(to_json(pd.DataFrame({"x": [np.inf, -np.inf]}))) == [{"x": None}] * 2
    assert json.loads(to_json(pd.DataFrame(index=range(2)))) == [{}, {}]
    with_time = pd.DataFrame({"at": pd.to_datetime(["2025-03-02 14:05", "2025-03-03 00:00"])})
    assert json.loads(to_json(with_time))[0] == {"at": "2025-03-02T14:05:00"}


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.text() | st.none(),
            st.floats(allow_nan=True, allow_infinity=False) | st.none(),
            st.integers(-(2**53), 2**53),
            st.booleans(),
        ),
        max_size=6,
    )
)
def test_json_matches_the_standard_library(rows: list[tuple]) -> None:
    df = pd.DataFrame(
        {
            "text": pd.Series([r[0] for r in rows], dtype="str"),
            "value": pd.Series([r[1] for r in rows], dtype="float64"),
            "count": pd.Series([r[2] for r in rows], dtype="int64"),
            "flag": pd.Series([r[3] for r in rows], dtype="bool"),
        }
    )
    records = [
        {
            "text": text,
            "value": None if value is None or np.isnan(value) else value,
            "count": count,
            "flag": flag,
        }
        for text, value, count, flag in rows
    ]
    assert to_json(df) == json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    assert to_jsonl(df) == "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


# --- text output ----------------------------------------------------------------------


def test_text_output_goes_to_a_file_atomically_and_respects_force(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    stdout = io.StringIO()
    assert write_text_output(target, "a;b\r\n", stdout, force=False, bom=True) == target
    assert target.read_bytes() == b"\xef\xbb\xbfa;b\r\n"
    assert stdout.getvalue() == ""
    with pytest.raises(OutputError, match="already exists; use --force"):
        write_text_output(target, "x", stdout, force=False)
    write_text_output(target, BOM + "x", stdout, force=True, bom=True)
    assert target.read_bytes() == b"\xef\xbb\xbfx"


def test_text_output_to_a_stream_keeps_bytes_exact() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii", newline=None)
    assert write_text_output(None, "Müller;1\r\n", stream, force=False) is None
    assert raw.getvalue() == "Müller;1\r\n".encode()
    plain = io.StringIO()
    write_text_output(None, "x\n", plain, force=False, bom=True)
    assert plain.getvalue() == "\ufeffx\n"


# --- XLSX -----------------------------------------------------------------------------


def write_and_open(tmp_path: Path, **sheets: pd.DataFrame):
    path = write_xlsx(
        tmp_path / "report.xlsx", sheets, money_columns=["revenue"], percent_columns=["share"]
    )
    return openpyxl.load_workbook(path)


def test_xlsx_has_bold_frozen_filtered_header_and_number_formats(tmp_path: Path) -> None:
    sheet = write_and_open(tmp_path, Customers=customers())["Customers"]
    assert [cell.value for cell in sheet[1]] == list(customers().columns)
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:H6"
    revenue, share, last_order = sheet["C2"], sheet["D2"], sheet["F2"]
    assert (revenue.value, revenue.number_format) == (1234.5, "#,##0.00")
    assert (share.value, share.number_format) == (0.25, "0.0%")
    assert last_order.value == dt.datetime(2024, 1, 5)
    assert last_order.number_format == "yyyy-mm-dd"
    assert 10 <= sheet.column_dimensions["A"].width <= 50


def test_xlsx_cells_keep_their_types_and_text_is_never_a_formula(tmp_path: Path) -> None:
    sheet = write_and_open(tmp_path, Customers=customers())["Customers"]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert [cell.value for cell in sheet["A"]][1:] == [
        "Müller GmbH",
        "'=1+1",
        None,
        'Ørsted; "Nord"',
        "🦊 Fox",
    ]
    assert sheet["C3"].value == -5 and sheet["C3"].data_type == "n"
    assert [cell.value for cell in sheet["B"]][1:] == [12, 3, 0, -3, 7]
    assert sheet["E2"].value is True and sheet["E3"].value is False
    assert sheet["G3"].value is None and sheet["H3"].value is None


def test_xlsx_neutralises_injection_text_and_headers(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {"=HYPERLINK(1)": ["+49 30 1234", "@SUM(A1)", "\tx", "-x"], "n": [-5.0, 1.0, 2.0, 3.0]}
    )
    sheet = write_and_open(tmp_path, Sheet1=df)["Sheet1"]
    assert sheet["A1"].value == "'=HYPERLINK(1)"
    assert [cell.value for cell in sheet["A"]][1:] == ["'+49 30 1234", "'@SUM(A1)", "'\tx", "'-x"]
    assert sheet["B2"].value == -5
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_long_integers_are_kept_as_text_so_excel_does_not_round_them(tmp_path: Path) -> None:
    df = pd.DataFrame({"customer_id": [1234567890123456789, 1]})
    sheet = write_and_open(tmp_path, ids=df)["ids"]
    assert sheet["A2"].value == "1234567890123456789"


def test_sheet_names_follow_excels_rules(tmp_path: Path) -> None:
    names = excel_sheet_names(["Q1/Q2: [lost]*?", "x" * 40, "X" * 40, "'quoted'", "", "History"])
    assert names == ["Q1_Q2_ _lost___", "x" * 31, "X" * 27 + " (2)", "quoted", "Sheet", "History_"]
    book = write_and_open(tmp_path, **{"a/b": customers(), "A\\B": customers().head(1)})
    assert book.sheetnames == ["a_b", "A_B (2)"]


def test_xlsx_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "report.xlsx"
    target.write_bytes(b"old")
    with pytest.raises(OutputError, match="already exists; use --force"):
        write_xlsx(target, {"a": customers()})
    assert target.read_bytes() == b"old"
    write_xlsx(target, {"a": customers()}, force=True)
    assert openpyxl.load_workbook(target).sheetnames == ["a"]


def test_too_many_rows_for_excel_is_refused_before_writing(tmp_path: Path) -> None:
    huge = pd.DataFrame({"n": np.zeros(1_048_576, dtype="int8")})
    with pytest.raises(OutputError, match=r"1,048,576 rows .* write CSV instead"):
        write_xlsx(tmp_path / "big.xlsx", {"all": huge})
    assert list(tmp_path.iterdir()) == []


def test_large_tables_read_the_same_made_two_columns_and_some_rows_at_a_time(monkeypatch):
    from winback_cli import outputs

    rows = 3000
    df = pd.DataFrame(
        {
            "id": [f"K{i:05d}" for i in range(rows)],
            "note": ["a, b" if i % 7 == 0 else "=x" if i % 3 == 0 else "y" for i in range(rows)],
            "n": range(rows),
            "x": [i / 7 if i % 5 else float("nan") for i in range(rows)],
            "ok": [i % 2 == 0 for i in range(rows)],
            "day": pd.date_range("2024-01-01", periods=rows, freq="D"),
            # Only the last row has a time of day; the whole column shows one.
            "at": pd.date_range("2024-01-01", periods=rows, freq="D")
            + pd.to_timedelta([0] * (rows - 1) + [49_500], unit="s"),
        }
    )
    one_at_a_time = [to_csv(df), to_csv(df, style="excel-de"), to_json(df), to_jsonl(df)]
    monkeypatch.setattr(outputs, "_THREADED_ROWS", 1)
    monkeypatch.setattr(outputs, "_PIECE_ROWS", 700)
    monkeypatch.setattr(outputs, "_CHUNK_ROWS", 700)
    in_pieces = [to_csv(df), to_csv(df, style="excel-de"), to_json(df), to_jsonl(df)]
    assert in_pieces == one_at_a_time
    assert in_pieces[0].splitlines()[1].endswith(",2024-01-01,2024-01-01 00:00:00")
    assert in_pieces[0].splitlines()[-1].endswith(",2032-03-18 13:45:00")


def test_pieces_are_written_as_one_text_with_one_bom(tmp_path, monkeypatch):
    from winback_cli import outputs

    monkeypatch.setattr(outputs, "_PIECE_ROWS", 2)
    monkeypatch.setattr(outputs, "_CHUNK_ROWS", 2)
    df = pd.DataFrame({"id": ["a", "b", "c", "d", "e"], "n": range(5)})
    path = tmp_path / "out.csv"
    pieces = outputs.table_pieces(df, "csv", style="excel-de")
    write_text_output(path, pieces, io.StringIO(), force=False, bom=True)
    assert path.read_bytes() == ("\ufeff" + to_csv(df, style="excel-de")).encode()
    shown = io.StringIO()
    write_text_output(None, outputs.table_pieces(df, "jsonl"), shown, force=False)
    assert shown.getvalue() == to_jsonl(df)
