"""Property-based fuzzing: whatever a file or a rules value holds, winback answers in words.

The loaders get random bytes and random delimited text (random headers, delimiters,
quoting, line ends and encodings). Each either raises a `WinbackError` or returns
data whose row counts reconcile (rows read = rows used + rows rejected), with every
kept row usable; nothing else may escape. The small parsers (durations, amounts,
dates, percentages, money) raise only the documented `ValueError` or
`WinbackError`. Finally `winback scan` itself runs on generated files: exit code
0, 1 or 2 and never a traceback.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from winback_cli.amounts import parse_amounts, parse_number
from winback_cli.cli import app
from winback_cli.customers import load_customers
from winback_cli.dates import parse_date, parse_dates
from winback_cli.durations import Duration, parse_duration, parse_money, parse_percent
from winback_cli.errors import WinbackError
from winback_cli.load import load_orders
from winback_cli.rules import Rules

TODAY = dt.date(2025, 12, 1)
RULES = Rules()

HEADERS = [
    "order_id",
    "customer_id",
    "order_date",
    "amount",
    "cost",
    "category",
    "status",
    "currency",
    "quantity",
    "Kundennummer",
    "Belegdatum",
    "Umsatz",
    "note",
    "",
]
AMOUNTS = [
    "100.00", "1.234,50", "1,234.50", "-5", "(12.50)", "4380.31-", "1e3", "1,2E+03", "€ 5",
    "$1", "12 EUR", "", " ", "n/a", "1.2.3", "١٢٣", "∞", "NaN", "1e999", "0,5", "1 000,00",
]  # fmt: skip
DATES = [
    "2025-01-10", "10.01.2025", "01/13/2025", "13/01/2025", "01/02/2025", "20250110",
    "2025-02-30", "3025-01-01", "", "gestern", "2025-10-07 09:50:26 +0200", "2025-10-07T09:50",
    "31.02.", "1/1/25", "2199-12-31", "0000-00-00",
]  # fmt: skip
IDS = ["C1", "00042", " C2 ", "", "NA", "k001", "K001", "=cmd|' /C calc'!A0", "é", "C1"]
STATUS = ["completed", "cancelled", "Storniert", "", "EUR", "USD"]

cells = st.one_of(
    st.sampled_from(AMOUNTS + DATES + IDS + STATUS),
    st.text(max_size=10),
    st.text(alphabet=',;\t|"\r\n ', max_size=4),
)


def _quote(cell: str, how: str) -> str:
    if how == "quoted":
        return '"' + cell.replace('"', '""') + '"'
    if how == "broken":  # a quote that opens and never closes
        return '"' + cell
    return cell


TYPED = {
    "customer_id": IDS,
    "Kundennummer": IDS,
    "order_date": DATES,
    "Belegdatum": DATES,
    "amount": AMOUNTS,
    "cost": AMOUNTS,
    "Umsatz": AMOUNTS,
    "status": STATUS,
    "currency": STATUS,
}
FITTING = {
    "customer_id": ["C1", "C2", "C3", "00042"],
    "Kundennummer": ["K1", "K2", "00042"],
    "order_date": ["2025-01-10", "2025-03-02", "2024-11-30", "2025-06-01"],
    "Belegdatum": ["10.01.2025", "02.03.2025", "30.11.2024"],
    "amount": ["100.00", "12.50", "-5.00", "2500"],
    "Umsatz": ["100,00", "12,50", "1.234,56"],
}
REQUIRED = [["customer_id", "order_date", "amount"], ["Kundennummer", "Belegdatum", "Umsatz"]]


@st.composite
def headers(draw) -> list[str]:
    """Mostly a usable header (the required columns plus extras), sometimes anything."""
    if draw(st.integers(0, 9)) < 2:
        return draw(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=7))
    extras = draw(st.lists(st.sampled_from(HEADERS), max_size=3))
    return draw(st.permutations(draw(st.sampled_from(REQUIRED)) + extras))


@st.composite
def delimited_files(draw) -> bytes:
    """A small export: random header, rows of roughly the header's width, random bytes on disk."""
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    header = draw(headers())
    hostile = draw(st.integers(0, 4)) == 0  # stray quotes and odd characters in a fifth
    quoting = st.sampled_from(["plain"] * 12 + ["quoted"] * 3 + ["broken"] * hostile)
    lines = [delimiter.join(header)]
    for _ in range(draw(st.integers(0, 10))):
        width = len(header) + draw(st.sampled_from([0] * 8 + [-1, 1]))
        names = [*header, *[""] * max(0, width - len(header))][: max(0, width)]
        row = [_quote(draw(_cell(name, hostile)), draw(quoting)) for name in names]
        lines.append(delimiter.join(row))
    for _ in range(draw(st.sampled_from([0] * 9 + [1]))):
        lines.insert(0, draw(st.sampled_from([f"sep={delimiter}", "", " "])))
    text = newline.join(lines) + draw(st.sampled_from([newline, ""]))
    encoding = draw(st.sampled_from(["utf-8"] * 4 + ["utf-8-sig", "cp1252", "cp1252", "utf-16"]))
    return text.encode(encoding, errors="replace")


def _cell(column: str, hostile: bool) -> st.SearchStrategy[str]:
    """Mostly a value that fits the column, sometimes an odd one; anything in hostile files."""
    typed = TYPED.get(column)
    if typed is None:
        return cells if hostile else st.text("abc xyzäöüß-./", max_size=8)
    fitting = st.sampled_from(FITTING.get(column, typed))
    choices = [fitting] * 7 + [st.sampled_from(typed)] * 2 + [cells] * hostile
    return st.sampled_from(choices).flatmap(lambda strategy: strategy)


files = st.one_of(delimited_files(), st.binary(max_size=300))


def _write(folder: str, name: str, data: bytes) -> str:
    path = Path(folder) / name
    path.write_bytes(data)
    return str(path)


def _check_orders(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        try:
            orders = load_orders([_write(folder, "orders.csv", data)], RULES, today=TODAY)
        except WinbackError as error:
            assert str(error)  # a message for a person
            return
    frame = orders.frame
    assert orders.rows_read == len(frame) + len(orders.rejects)
    assert (frame["customer_id"] != "").all()
    assert np.isfinite(frame["amount"].to_numpy(dtype="float64")).all()
    assert frame["order_date"].notna().all()
    assert (orders.rejects["reason"] != "").all()
    assert (orders.rejects["row"] >= 2).all()


@given(files)
@example(b"\na\n")  # a blank first line (crashed in what is now bad_rows.has_line_breaks)
@example(b"sep=,\n\na\n")
@example(b'customer_id,order_date,amount\nC1,2025-01-10,"100\n2,C2,2025-02-10,5\n')
def test_order_loader_raises_a_winback_error_or_reconciles(data: bytes):
    _check_orders(data)


@given(st.lists(delimited_files(), min_size=2, max_size=3))
def test_several_order_files_reconcile_together(datas: list[bytes]):
    with tempfile.TemporaryDirectory() as folder:
        paths = [_write(folder, f"orders-{i}.csv", data) for i, data in enumerate(datas)]
        try:
            orders = load_orders(paths, RULES, today=TODAY)
        except WinbackError:
            return
    assert orders.rows_read == len(orders.frame) + len(orders.rejects)


@given(files)
def test_customer_loader_raises_a_winback_error_or_reconciles(data: bytes):
    with tempfile.TemporaryDirectory() as folder:
        try:
            customers = load_customers(_write(folder, "customers.csv", data), RULES)
        except WinbackError as error:
            assert str(error)
            return
    assert customers.rows_read == len(customers.frame) + len(customers.rejects)
    assert customers.frame["customer_id"].is_unique
    assert (customers.frame["customer_id"] != "").all()


# --- the small parsers ----------------------------------------------------------------

anything = st.one_of(
    st.text(max_size=16),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
durationish = st.from_regex(r"\s?[-+]?[0-9]{0,8}([.,][0-9])?\s?(d|w|mo|m|y|days?|months?|)\s?")


@given(st.one_of(anything, durationish))
def test_parse_duration_returns_a_duration_or_raises_value_error(value):
    try:
        duration = parse_duration(value)
    except ValueError as error:
        assert str(error)
        return
    assert isinstance(duration, Duration)
    assert duration.amount >= 1
    assert parse_duration(str(duration)) == duration
    assert duration.before(pd.Timestamp("2025-06-15")) < pd.Timestamp("2025-06-15")


percentish = st.from_regex(r"\s?-?[0-9]{0,4}([.,][0-9]{0,3})?\s?%?\s?")


@given(st.one_of(anything, percentish))
def test_parse_percent_is_a_share_or_raises_value_error(value):
    try:
        share = parse_percent(value)
    except ValueError as error:
        assert str(error)
        return
    assert 0.0 <= share <= 1.0


@given(st.one_of(anything, st.sampled_from(AMOUNTS)))
def test_parse_money_is_finite_or_raises_value_error(value):
    try:
        amount = parse_money(value)
    except ValueError as error:
        assert str(error)
        return
    assert math.isfinite(amount)


@given(st.one_of(st.text(max_size=16), st.sampled_from(AMOUNTS)), st.sampled_from([None, ".", ","]))
def test_parse_number_is_finite_or_raises_value_error(text: str, decimal):
    try:
        number = parse_number(text, decimal=decimal)
    except ValueError:
        return
    assert math.isfinite(number)


@given(
    st.lists(st.one_of(cells, st.sampled_from(AMOUNTS)), max_size=25),
    st.sampled_from([None, ".", ","]),
    st.sampled_from([".", ","]),
)
def test_parse_amounts_gives_a_number_or_a_reason_for_every_value(values, decimal, hint):
    column = pd.Series(values, dtype="str")
    result = parse_amounts(column, decimal=decimal, decimal_hint=hint)
    assert len(result.values) == len(result.problems) == len(values)
    numbers = result.values.to_numpy(dtype="float64")
    fine = (result.problems == "").to_numpy()
    assert np.isfinite(numbers[fine]).all()
    assert np.isnan(numbers[~fine]).all()
    assert result.decimal in (".", ",")


@given(
    st.lists(st.one_of(cells, st.sampled_from(DATES)), max_size=25),
    st.sampled_from([None, None, "%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d %H:%M", "%d.%m.%y", "%Y", "%Q"]),
)
def test_parse_dates_gives_a_day_or_a_reason_or_raises_a_winback_error(values, date_format):
    column = pd.Series(values, dtype="str")
    try:
        result = parse_dates(column, date_format=date_format, source="orders.csv")
    except WinbackError as error:
        assert "orders.csv" in str(error)
        return
    assert len(result.values) == len(values)
    fine = (result.problems == "").to_numpy()
    assert result.values[fine].notna().all()
    assert result.values[~fine].isna().all()


@given(st.one_of(st.text(max_size=16), st.sampled_from(DATES)))
def test_parse_date_returns_a_date_or_raises_value_error(text: str):
    try:
        day = parse_date(text)
    except ValueError as error:
        assert str(error)
        return
    assert isinstance(day, dt.date)


# --- the command line -------------------------------------------------------------------


@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(files, st.sampled_from([(), ("--strict",), ("--format", "json"), ("--as-of", "2025-06-01")]))
def test_scan_on_any_file_exits_0_1_or_2_without_a_traceback(data: bytes, extra: tuple[str, ...]):
    with tempfile.TemporaryDirectory() as folder:
        orders = _write(folder, "orders.csv", data)
        rejects = str(Path(folder) / "rejects.csv")
        result = CliRunner().invoke(
            app, ["scan", orders, "--rejects", rejects, "--status", "all", *extra]
        )
    assert result.exit_code in (0, 1, 2), result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.stdout + result.stderr
    if result.exit_code:
        assert "Error: " in result.stderr
    else:
        assert "rows read from 1 file(s)" in result.stderr
