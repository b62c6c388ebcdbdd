"""The bad-input corpus: hostile exports and rules files through `winback scan`, exact outcomes.

One case is one row of `CASES`: the input files (a folder under `tests/corpus/<name>/`
for plain text, or a `make` function that writes binary or huge inputs into the
test's folder), the arguments after `winback scan`, and what must happen: the exit
code, fragments of standard error, the rows of the `--rejects` file and the
reconciliation line `Orders: N rows read from 1 file(s), U used, R rejected`.
Every run gets `--rejects rejects.csv --status all --format csv` and runs in its own
folder, so messages name `orders.csv` as the user typed it. Errors must be one
`Error: …` message that names the file and, where there is one, the row or line;
a run that exits 0 must account for every row it read.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import winback_cli
from winback_cli.cli import app

CORPUS = Path(__file__).parent / "corpus"
H = b"order_id,customer_id,order_date,amount\n"
GOOD = b"1,C1,2025-01-10,100.00\n2,C2,2025-02-10,200.00\n3,C1,2025-03-10,150.00\n"
TODAY = "{today}"  # in expected rejects: the day the scan ran

Reject = tuple[str, int, str, str]  # file, spreadsheet row, column, reason


@dataclass(frozen=True)
class Case:
    """One hostile input and what `winback scan` must do with it."""

    name: str
    args: tuple[str, ...]
    exit: int
    stderr: tuple[str | re.Pattern[str], ...] = ()
    counts: tuple[int, int, int] | None = None  # orders: read, used, rejected
    customer_counts: tuple[int, int, int] | None = None
    rejects: tuple[Reject, ...] | None = None  # None: the rejects file is not checked
    check: Callable[[dict[str, dict[str, str]]], None] | None = None  # on the output rows
    make: Callable[[Path], None] | None = None
    input: bytes | None = None
    slow: bool = False


def scan(*args: str) -> tuple[str, ...]:
    return ("orders.csv", *args)


def rows_of(result_stdout: str) -> dict[str, dict[str, str]]:
    """The CSV on standard output, one dict per customer id."""
    return {row["customer_id"]: row for row in csv.DictReader(io.StringIO(result_stdout))}


def expect(**wanted: dict[str, str]) -> Callable[[dict[str, dict[str, str]]], None]:
    """A check that the named customers have these output values (and only they are listed)."""

    def check(found: dict[str, dict[str, str]]) -> None:
        assert sorted(found) == sorted(wanted), f"customers listed: {sorted(found)}"
        for customer, values in wanted.items():
            shown = {key: found[customer][key] for key in values}
            assert shown == values, f"customer {customer}"

    return check


def ids(*customers: str) -> Callable[[dict[str, dict[str, str]]], None]:
    return expect(**{customer: {} for customer in customers})


# --- generated inputs: binary, badly encoded or huge ---------------------------------


def write(name: str, data: bytes) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / name).write_bytes(data)

    return make


def make_xlsx(folder: Path) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(folder / "orders.xlsx"))
    sheet = workbook.add_worksheet()
    for row, values in enumerate(
        [["customer_id", "order_date", "amount"], ["C1", "2025-01-10", 1]]
    ):
        sheet.write_row(row, 0, values)
    workbook.close()


def make_huge_field(folder: Path) -> None:
    """A 100 MB note in one quoted field of an otherwise ordinary export."""
    with (folder / "orders.csv").open("wb") as handle:
        handle.write(b'order_id,customer_id,order_date,amount,note\n1,C1,2025-01-10,100.00,"')
        chunk = b"x" * (1 << 20)
        for _ in range(100):
            handle.write(chunk)
        handle.write(b'"\n2,C2,2025-02-10,200.00,short note\n')


def make_million_columns(folder: Path) -> None:
    extra = 1_000_000 - 3
    header = b"customer_id,order_date,amount," + b",".join(b"c%d" % i for i in range(extra))
    (folder / "orders.csv").write_bytes(header + b"\nC1,2025-01-10,100.00" + b"," * extra + b"\n")


CP1252_ORDERS = "order_id;customer_id;order_date;amount;category\n1;C1;10.01.2025;100,00;Süßes\n"
CP1252_CUSTOMERS = "customer_id;company\nC1;Müller & Söhne GmbH\nC2;Bäckerei Weiß\n"


def make_cp1252(folder: Path) -> None:
    orders = CP1252_ORDERS + "2;C2;10.02.2025;200,00;Kaffee\n"
    (folder / "orders.csv").write_bytes(orders.encode("cp1252"))
    (folder / "customers.csv").write_bytes(CP1252_CUSTOMERS.encode("cp1252"))


# --- the corpus ------------------------------------------------------------------------

FIELDS_4 = "has {} fields, expected 4"
NO_ROWS = "orders.csv: no usable order rows"
MISSING = "orders.csv: missing required column(s): "
EXCLUDED = "order status is excluded (exclude_status in the rules)"

CASES: list[Case] = [
    # --- file level: nothing usable -------------------------------------------------
    Case("empty_file", scan(), 1, ("Error: orders.csv", "is empty")),
    Case("blank_lines_only", scan(), 1, ("Error: orders.csv", "is empty")),
    Case("header_only", scan(), 1, (f"Error: {NO_ROWS} (0 read, 0 rejected)",)),
    Case("stdin_empty", ("-",), 1, ("Error: <stdin>", "is empty"), input=b""),
    Case("file_not_found", ("missing.csv",), 1, ("Error: missing.csv: file not found",)),
    Case(
        "folder_as_input",  # a folder of monthly exports: its CSV files are read
        ("exports",),
        0,
        counts=(3, 3, 0),
        rejects=(),
        check=ids("C1", "C2"),
    ),
    Case(
        "folder_without_exports",
        ("exports",),
        2,
        ("Error: exports: the folder holds no .parquet or .csv files",),
        make=lambda folder: (folder / "exports").mkdir(),
    ),
    Case(
        "glob_without_match",
        ("exports-*.csv",),
        2,
        ("Error: exports-*.csv: no file matches this pattern",),
    ),
    Case(
        "customers_file_not_found",
        scan("-c", "nobody.csv"),
        1,
        ("Error: nobody.csv: file not found",),
        make=write("orders.csv", H + GOOD),
    ),
    # --- encodings and bytes --------------------------------------------------------
    Case(
        "nul_bytes",
        scan(),
        1,
        ("Error: orders.csv contains NUL bytes at line 3", "Export it as CSV (UTF-8)"),
        make=write("orders.csv", H + b"1,C1,2025-01-10,100.00\n2,C\x002,2025-02-10,200.00\n"),
    ),
    Case(
        "xlsx_given_as_csv",
        ("orders.xlsx",),
        1,
        ("Error: orders.xlsx contains NUL bytes", "spreadsheet or binary file"),
        make=make_xlsx,
    ),
    Case(
        "invalid_utf8",
        scan(),
        1,
        ("Error: orders.csv is neither UTF-8 (line 3) nor Windows-1252: byte 0x81 at line 3",),
        make=write("orders.csv", H + b"1,C1,2025-01-10,100.00\n2,C\x812,2025-02-10,200.00\n"),
    ),
    Case(
        "utf16",
        scan(),
        1,
        ("Error: orders.csv is UTF-16 text", "save it as UTF-8"),
        make=write("orders.csv", (H + GOOD).decode().encode("utf-16")),
    ),
    Case(
        "cp1252_umlauts",
        scan("-c", "customers.csv"),
        0,
        (
            "note: orders.csv was read as Windows-1252 (cp1252) because it is not valid UTF-8 "
            "at line 2",
            "note: customers.csv was read as Windows-1252 (cp1252)",
        ),
        counts=(2, 2, 0),
        customer_counts=(2, 2, 0),
        rejects=(),
        check=expect(C1={"name": "Müller & Söhne GmbH"}, C2={"name": "Bäckerei Weiß"}),
        make=make_cp1252,
    ),
    Case(
        "utf8_bom",
        scan(),
        0,
        counts=(2, 2, 0),
        rejects=(),
        check=expect(C1={"revenue_total": "100"}, C2={"revenue_total": "200"}),
        make=write(
            "orders.csv",
            "\ufeffKundennummer;Belegdatum;Umsatz\nC1;10.01.2025;100,00\nC2;10.02.2025;200,00\n".encode(),
        ),
    ),
    Case(
        "blank_first_line",  # an empty line above the header
        scan(),
        0,
        counts=(2, 2, 0),
        rejects=(),
        check=ids("C1", "C2"),
    ),
    Case("crlf_line_endings", scan(), 0, counts=(3, 3, 0), rejects=(), check=ids("C1", "C2")),
    Case("cr_only_line_endings", scan(), 0, counts=(3, 3, 0), rejects=(), check=ids("C1", "C2")),
    # --- headers and delimiters -----------------------------------------------------
    Case(
        "no_header_ids",
        scan(),
        2,
        ("Error: orders.csv, row 1: the first row looks like data", "add a header row"),
    ),
    Case(
        "no_header_names",
        scan(),
        2,
        (MISSING + "customer_id, order_date, amount", "Headers found: '1', 'Müller'"),
    ),
    Case(
        "wrong_delimiter_colon",
        scan(),
        2,
        (
            MISSING + "customer_id, order_date, amount",
            "Headers found: 'order_id:customer_id:order_date:amount'",
        ),
    ),
    Case(
        "decimal_comma_in_comma_file",
        scan(),
        0,
        counts=(3, 2, 1),
        rejects=(("orders.csv", 2, "", FIELDS_4.format(5)),),
    ),
    Case(
        "mixed_delimiters",
        scan(),
        0,
        counts=(3, 2, 1),
        rejects=(("orders.csv", 3, "", FIELDS_4.format(1)),),
        check=expect(C1={"revenue_total": "250"}),
    ),
    Case(
        "excel_sep_line",  # Excel's "sep=;" directive line, then the real header
        scan(),
        0,
        counts=(2, 2, 0),
        rejects=(),
        check=ids("C1", "C2"),
    ),
    Case(
        "unbalanced_quote_first_row",
        scan(),
        1,
        ("Error: orders.csv", re.compile(r"(row|line) 2\b"), "quote"),
    ),
    Case(
        "unbalanced_quote_mid_file",
        scan(),
        1,
        ("Error: orders.csv", re.compile(r"(row|line) 3\b"), "quote"),
    ),
    Case(
        "stray_quotes_inside_fields",  # 12" Rohr: a quote inside a field is text
        scan(),
        0,
        counts=(3, 3, 0),
        rejects=(),
        check=ids("C1", "C2"),
    ),
    Case(
        "embedded_newlines",  # a quoted two-line field is one spreadsheet row
        scan(),
        0,
        counts=(6, 3, 3),
        rejects=(
            ("orders.csv", 4, "order_date", "impossible date '2025-02-30'"),
            ("orders.csv", 5, "", "has 4 fields, expected 5"),
            ("orders.csv", 6, "amount", "empty amount"),
        ),
    ),
    Case(
        "wrong_field_counts",
        scan(),
        0,
        counts=(4, 2, 2),
        rejects=(
            ("orders.csv", 3, "", FIELDS_4.format(3)),
            ("orders.csv", 4, "", FIELDS_4.format(5)),
        ),
    ),
    Case(
        "short_broken_row",  # its text "C1" also stands in row 2: the row must still be 4
        scan(),
        0,
        counts=(4, 1, 3),
        rejects=(
            ("orders.csv", 2, "amount", "not a number: 'x'"),
            ("orders.csv", 4, "", FIELDS_4.format(1)),
            ("orders.csv", 5, "amount", "empty amount"),
        ),
    ),
    Case(
        "blank_lines_between_rows", scan(), 0, counts=(3, 3, 0), rejects=(), check=ids("C1", "C2")
    ),
    Case(
        "trailing_empty_columns",
        scan(),
        0,
        counts=(3, 3, 0),
        rejects=(),
        check=expect(C1={"revenue_total": "250"}, C2={"revenue_total": "200"}),
    ),
    Case(
        "duplicated_header_names",
        scan(),
        0,
        (
            "note: orders.csv: header 'amount' appears twice (columns 4 and 5); "
            "the second is read as 'amount (5)'",
        ),
        counts=(2, 2, 0),
        rejects=(),
        check=expect(C1={"revenue_total": "100"}, C2={"revenue_total": "200"}),
    ),
    Case(
        "missing_all_required_columns",
        scan(),
        2,
        (MISSING + "customer_id, order_date, amount.", "Headers found: 'Nummer', 'Name', 'Wert'"),
    ),
    Case(
        "missing_one_required_column",
        scan(),
        2,
        (MISSING + "order_date.", "Headers found: 'order_id', 'customer_id', 'amount'"),
    ),
    Case(
        "missing_mapped_column",
        scan("-r", "rules.yaml"),
        2,
        (
            MISSING + "amount (mapped to 'Nettoumsatz' in the rules), "
            "order_date (mapped to 'Belegdatum' or 'Rechnungsdatum' in the rules)",
        ),
    ),
    Case(
        "customers_without_id_column",
        scan("-c", "customers.csv"),
        2,
        ("Error: customers.csv: missing required column(s): customer_id.",),
    ),
    Case(
        "million_columns",
        scan(),
        1,
        ("Error: orders.csv, row 1", "columns"),
        make=make_million_columns,
        slow=True,
    ),
    Case(
        "huge_single_field",
        scan(),
        0,
        counts=(2, 2, 0),
        rejects=(),
        check=expect(C1={"revenue_total": "100"}, C2={"revenue_total": "200"}),
        make=make_huge_field,
        slow=True,
    ),
    # --- dates ----------------------------------------------------------------------
    Case(
        "three_date_formats",
        scan(),
        0,
        counts=(4, 4, 0),
        rejects=(),
        check=expect(
            C1={"first_order": "2025-01-10", "last_order": "2025-03-13"},
            C2={"first_order": "2025-02-11", "last_order": "2025-02-14"},
        ),
    ),
    Case(
        "slashed_dates_ambiguous",
        scan(),
        2,
        (
            "Error: orders.csv, column 'order_date': slashed dates such as '01/02/2025'",
            'set date_format: "%d/%m/%Y" or "%m/%d/%Y"',
        ),
    ),
    Case(
        "slashed_dates_disagree",
        scan(),
        2,
        ("Error: orders.csv, column 'order_date': slashed dates disagree: '13/01/2025'",),
    ),
    Case(
        "impossible_dates",
        scan(),
        0,
        counts=(5, 2, 3),
        rejects=(
            ("orders.csv", 3, "order_date", "impossible date '31.02.2025'"),
            ("orders.csv", 4, "order_date", "impossible date '00.03.2025'"),
            ("orders.csv", 5, "order_date", "impossible date '10.13.2025'"),
        ),
    ),
    Case(
        "far_future_dates",
        scan(),
        0,
        counts=(5, 2, 3),
        rejects=(
            ("orders.csv", 3, "order_date", f"date lies in the future (after {TODAY})"),
            ("orders.csv", 4, "order_date", "implausible year 3025 in '3025-03-10'"),
            ("orders.csv", 5, "order_date", "implausible year 1850 in '1850-01-01'"),
        ),
    ),
    Case(
        "not_a_date",
        scan(),
        0,
        counts=(4, 2, 2),
        rejects=(
            ("orders.csv", 3, "order_date", "not a date: 'gestern'"),
            ("orders.csv", 4, "order_date", "empty date"),
        ),
    ),
    Case(
        "bad_as_of",
        scan("--as-of", "31.02.2025"),
        2,
        ("Error: --as-of: impossible date '31.02.2025'",),
    ),
    # --- amounts and currencies -----------------------------------------------------
    Case(
        "amounts_euro_symbol",
        scan(),
        0,
        counts=(3, 3, 0),
        rejects=(),
        check=expect(C1={"revenue_total": "1333.5"}, C2={"revenue_total": "200"}),
    ),
    Case(
        "amounts_dollar_symbol_usd_rules",
        scan("-r", "rules.yaml"),
        0,
        counts=(3, 3, 0),
        rejects=(),
        check=expect(C1={"revenue_total": "1333.5"}, C2={"revenue_total": "200"}),
    ),
    Case(
        "amounts_dollar_symbol_eur_rules",
        scan(),
        1,
        (
            "Error: orders.csv: amounts carry the currencies USD, but the rules say amounts "
            "are in EUR",
            "set 'currency: USD' in the rules",
        ),
    ),
    Case(
        "scientific_notation",
        scan(),
        0,
        counts=(3, 3, 0),
        rejects=(),
        check=expect(C1={"revenue_total": "1384.5"}, C2={"revenue_total": "200"}),
    ),
    Case(
        "scientific_notation_de",
        scan(),
        0,
        counts=(3, 3, 0),
        rejects=(),
        check=expect(C1={"revenue_total": "1384.5"}, C2={"revenue_total": "250"}),
    ),
    Case(
        "empty_amounts",
        scan(),
        0,
        counts=(5, 3, 2),
        rejects=(
            ("orders.csv", 3, "amount", "empty amount"),
            ("orders.csv", 5, "amount", "empty amount"),
        ),
    ),
    Case(
        "negative_amounts",  # -50.00, (20.00) and SAP's 30.00- are returns
        scan(),
        0,
        counts=(5, 5, 0),
        rejects=(),
        check=expect(
            C1={"orders": "1", "returns": "3", "returns_value": "100", "revenue_total": "0"},
            C2={"returns": "0", "revenue_total": "200"},
        ),
    ),
    Case(
        "not_a_number",
        scan(),
        0,
        counts=(4, 2, 2),
        rejects=(
            ("orders.csv", 3, "amount", "not a number: 'n/a'"),
            ("orders.csv", 4, "amount", "not a number: '1.2.3'"),
        ),
    ),
    Case(
        "ambiguous_number_formats",
        scan(),
        0,
        counts=(4, 3, 1),
        rejects=(
            (
                "orders.csv",
                4,
                "amount",
                "ambiguous number format: '1,234.50' (most values in this column use ',' "
                "as the decimal separator)",
            ),
        ),
    ),
    Case(
        "several_currencies_no_column",
        scan(),
        1,
        ("Error: orders.csv: amounts carry the currencies EUR, GBP, USD", "add a currency column"),
    ),
    Case(
        "several_currencies_with_column",
        scan("-r", "rules.yaml"),
        0,
        counts=(4, 3, 1),
        rejects=(("orders.csv", 3, "currency", "amount is not in EUR (currency in the rules)"),),
        check=expect(C1={"revenue_total": "250"}, C2={"revenue_total": "20"}),
    ),
    Case(
        "bad_cost",
        scan(),
        0,
        counts=(3, 2, 1),
        rejects=(("orders.csv", 3, "cost", "not a number: 'billig'"),),
    ),
    # --- rows and identifiers -------------------------------------------------------
    Case(
        "duplicate_order_rows",
        scan(),
        0,
        ("note: 1 duplicated order row(s) (same order id and values) were counted once",),
        counts=(4, 3, 1),
        rejects=(("orders.csv", 4, "order_id", "duplicate of orders.csv row 2"),),
        check=expect(C1={"orders": "2", "revenue_total": "250"}, C2={"orders": "1"}),
    ),
    Case(
        "duplicate_order_ids_other_values",  # two lines of one order: both count, one order
        scan(),
        0,
        counts=(4, 4, 0),
        rejects=(),
        check=expect(C1={"orders": "2", "revenue_total": "290"}, C2={"orders": "1"}),
    ),
    Case(
        "ids_leading_zeros_and_spaces",
        scan("-c", "customers.csv"),
        0,
        counts=(4, 4, 0),
        customer_counts=(2, 2, 0),
        rejects=(),
        check=expect(
            **{
                "00042": {"orders": "3", "name": "Null-Null-Vier-Zwei GmbH"},
                "42": {"orders": "1", "name": "Zweiundvierzig AG"},
            }
        ),
    ),
    Case(
        "ids_differing_in_case",  # ids are text: k001 and K001 are two customers
        scan("-c", "customers.csv"),
        0,
        counts=(3, 3, 0),
        customer_counts=(2, 2, 0),
        rejects=(),
        check=expect(k001={"orders": "2", "name": "Klein GmbH"}, K001={"name": "Groß GmbH"}),
    ),
    Case(
        "ids_that_look_missing",  # NA, null, None, - and N/A are ids, not missing values
        scan(),
        0,
        counts=(5, 5, 0),
        rejects=(),
        check=ids("NA", "null", "None", "'-", "N/A"),
    ),
    Case(
        "no_customer_id",
        scan(),
        0,
        counts=(4, 2, 2),
        rejects=(
            ("orders.csv", 3, "customer_id", "no customer id"),
            ("orders.csv", 4, "customer_id", "no customer id"),
        ),
    ),
    Case(
        "excluded_status",
        scan(),
        0,
        counts=(4, 2, 2),
        rejects=(("orders.csv", 3, "status", EXCLUDED), ("orders.csv", 4, "status", EXCLUDED)),
    ),
    Case(
        "customers_duplicate_ids",
        scan("-c", "customers.csv"),
        0,
        ("note: customers.csv: 2 row(s) repeat a customer id; the first row of each id is used",),
        counts=(3, 3, 0),
        customer_counts=(4, 2, 2),
        rejects=(
            (
                "customers.csv",
                4,
                "customer_id",
                "duplicate customer id (first at row 2); the first row is used",
            ),
            (
                "customers.csv",
                5,
                "customer_id",
                "duplicate customer id (first at row 3); the first row is used",
            ),
        ),
        check=expect(C1={"name": "Alpha GmbH"}, C2={"name": "Beta AG"}),
    ),
    Case(
        "customers_wrong_field_counts",  # row 2 spans two lines; rows 3 and 4 are broken
        scan("-c", "customers.csv"),
        0,
        counts=(3, 3, 0),
        customer_counts=(4, 2, 2),
        rejects=(
            ("customers.csv", 3, "", "has 2 fields, expected 3"),
            ("customers.csv", 4, "", "has 4 fields, expected 3"),
        ),
    ),
    Case(
        "orders_for_missing_customers",
        scan("-c", "customers.csv"),
        0,
        (
            "note: 1 customer(s) with orders are not in customers.csv; they are scanned "
            "without names",
            "note: 1 customer(s) in customers.csv have no orders",
        ),
        counts=(4, 4, 0),
        customer_counts=(3, 3, 0),
        rejects=(),
        check=expect(C1={"name": "Alpha GmbH"}, C2={"name": "Beta AG"}, C3={"name": ""}),
    ),
    Case(
        "all_rows_rejected",  # the message points to --rejects, so the file must be there
        scan(),
        1,
        (f"Error: {NO_ROWS} (2 read, 2 rejected)",),
        rejects=(
            ("orders.csv", 2, "order_date", "not a date: 'gestern'"),
            ("orders.csv", 3, "amount", "not a number: 'viel'"),
        ),
    ),
    Case(
        "strict_with_rejects",
        scan("--strict"),
        1,
        (
            "Error: --strict: 1 row(s) could not be used: orders.csv, row 3, amount: empty amount",
            "run without --strict",
        ),
        counts=(3, 2, 1),
        rejects=(("orders.csv", 3, "amount", "empty amount"),),
    ),
    # --- rules YAML -----------------------------------------------------------------
    Case(
        "yaml_tabs",
        scan("-r", "rules.yaml"),
        2,
        ("Error: rules.yaml, line 2: tabs are not allowed for indentation in YAML; use spaces",),
    ),
    Case(
        "yaml_unknown_key",
        scan("-r", "rules.yaml"),
        2,
        ("Error: rules.yaml, line 2: unknown key 'trigers'; did you mean 'triggers'?",),
    ),
    Case(
        "yaml_unknown_nested_key",
        scan("-r", "rules.yaml"),
        2,
        ("rules.yaml, line 4: unknown key 'fro' in triggers[0]; did you mean 'for'?",),
    ),
    Case(
        "yaml_unknown_trigger_kind",
        scan("-r", "rules.yaml"),
        2,
        ("Error: rules.yaml, line 2: triggers[0]", "'inactiv'", "'inactive'"),
    ),
    Case(
        "yaml_duplicate_keys",
        scan("-r", "rules.yaml"),
        2,
        ("Error: rules.yaml, line 3: duplicate key 'currency' (first on line 1)",),
    ),
    Case(
        "yaml_no_where_text_is_meant",
        scan("-r", "rules.yaml"),
        2,
        (
            "Error: rules.yaml, line 2: exclude_status[1]",
            "'NO' was read as the boolean false; quote it as \"NO\"",
        ),
    ),
    Case(
        "yaml_on_where_text_is_meant",
        scan("-c", "customers.csv", "-r", "rules.yaml"),
        2,
        ("Error: rules.yaml, line 7", "'on' was read as the boolean true", 'quote it as "on"'),
    ),
    Case(
        "yaml_wrong_types",
        scan("-r", "rules.yaml"),
        2,
        (
            "Error: rules.yaml, line 4: triggers[0].factor",
            "(found: 'twice')",
            "rules.yaml, line 5: triggers[0].min_orders",
            "rules.yaml, line 7: value.min_value_per_year",
        ),
    ),
    Case(
        "yaml_python_object_tag",
        scan("-r", "rules.yaml"),
        2,
        (
            "Error: rules.yaml, line 2: tag '!!python/object/apply:os.system' is not allowed; "
            "rules files hold plain data only",
        ),
    ),
    Case(
        "yaml_python_name_tag",
        scan("-r", "rules.yaml"),
        2,
        (
            "Error: rules.yaml, line 2: tag '!!python/object:winback_cli.rules.Rules' "
            "is not allowed",
        ),
    ),
    Case(
        "trigger_missing_column",
        scan("-c", "customers.csv", "-r", "rules.yaml"),
        2,
        (
            "Error: trigger 'moved_away' reads the column 'moved_abroad', which customers.csv "
            "does not have",
            "Columns found: customer_id, company, email",
        ),
    ),
    Case(
        "duration_in_words",
        scan("-r", "rules.yaml"),
        2,
        ("Error: rules.yaml, line 4: triggers[0].for", "write '6mo' for 6 calendar months"),
    ),
    Case(
        "duration_negative",
        scan("-r", "rules.yaml"),
        2,
        ("Error: rules.yaml, line 4: triggers[0].for", "'-3d': durations are positive"),
    ),
    Case(
        "duration_bare_number",
        scan("-r", "rules.yaml"),
        2,
        (
            "Error: rules.yaml, line 4: triggers[0].for",
            "duration 180 has no unit: write e.g. '180d'",
        ),
    ),
    Case(
        "duration_minutes_unit",
        scan("-r", "rules.yaml"),
        2,
        (
            "Error: rules.yaml, line 4: triggers[0].for",
            "'6m': write '6mo'",
            "'m' could mean minutes",
        ),
    ),
]


PARAMS = [
    pytest.param(case, id=case.name, marks=[pytest.mark.slow] if case.slow else [])
    for case in CASES
]


def _flat(text: str) -> str:
    """Standard error with Rich's line wrapping undone: one space between words."""
    return " ".join(text.split())


def _read_rejects(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("case", PARAMS)
def test_corpus(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if (CORPUS / case.name).is_dir():
        shutil.copytree(CORPUS / case.name, tmp_path, dirs_exist_ok=True)
    if case.make is not None:
        case.make(tmp_path)
    monkeypatch.chdir(tmp_path)
    args = ["scan", *case.args, "--rejects", "rejects.csv", "--status", "all", "--format", "csv"]
    started = dt.date.today()
    result = CliRunner().invoke(app, args, input=case.input)
    days = {started, dt.date.today()}  # a run across midnight may have seen either day
    stderr = _flat(result.stderr)

    assert "Traceback" not in result.stderr + result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == case.exit, stderr
    if case.exit:
        assert "Error: " in result.stderr, stderr
        assert result.stdout == ""  # no half result on standard output
    for fragment in case.stderr:
        if isinstance(fragment, re.Pattern):
            assert fragment.search(stderr), f"{fragment.pattern!r} not in: {stderr}"
        else:
            assert fragment in stderr, f"{fragment!r} not in: {stderr}"
    _check_counts(case, stderr)
    _check_rejects(case, tmp_path / "rejects.csv", days)
    if case.check is not None:
        case.check(rows_of(result.stdout))


def _check_counts(case: Case, stderr: str) -> None:
    if case.counts is not None:
        read, used, rejected = case.counts
        assert read == used + rejected
        line = f"Orders: {read:,} rows read from 1 file(s), {used:,} used, {rejected:,} rejected"
        assert line in stderr, stderr
    elif case.exit == 0:
        pytest.fail("a case that exits 0 must state its reconciled row counts")
    if case.customer_counts is not None:
        read, used, rejected = case.customer_counts
        assert read == used + rejected
        assert f"Customers: {read:,} rows read, {used:,} used, {rejected:,} rejected" in stderr


def _check_rejects(case: Case, path: Path, days: set[dt.date]) -> None:
    if case.rejects is None:
        if case.exit == 2:  # a usage or rules error stops before anything is written
            assert not path.exists()
        return
    assert path.exists(), "--rejects FILE was given but not written"
    found = [
        (row["file"], int(row["row"]), row["column"], row["reason"]) for row in _read_rejects(path)
    ]
    expected = [
        [(*reject[:3], reject[3].replace(TODAY, day.isoformat())) for reject in case.rejects]
        for day in sorted(days)
    ]
    assert found in expected, f"{found} is none of {expected}"
    orders = sum(1 for file, *_ in found if file != "customers.csv")
    if case.counts is not None:
        assert orders == case.counts[2]
    if case.customer_counts is not None:
        assert len(found) - orders == case.customer_counts[2]


def test_the_corpus_covers_at_least_forty_cases_and_every_folder_is_used():
    names = [case.name for case in CASES]
    assert len(names) == len(set(names)) >= 40
    folders = {path.name for path in CORPUS.iterdir() if path.is_dir()}
    unused = folders - set(names) - {"yaml_alias_bomb"}  # run in a subprocess below
    assert not unused, f"corpus folders without a case: {unused}"


def test_python_tags_in_rules_are_never_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    shutil.copytree(CORPUS / "yaml_python_object_tag", tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["rules", "check", "rules.yaml"])
    assert result.exit_code == 2
    assert "tag '!!python/object/apply:os.system' is not allowed" in _flat(result.stderr)
    assert not (tmp_path / "pwned").exists()


def test_yaml_alias_bomb_is_refused_without_expanding_it(tmp_path: Path):
    """Nine levels of nine aliases stand for 387 million values: refuse, never expand them.

    Run as a subprocess so an expansion shows up as a failed run instead of a hung
    suite; the time limit is a guard against hanging, far above a normal run.
    """
    shutil.copytree(CORPUS / "yaml_alias_bomb", tmp_path, dirs_exist_ok=True)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "winback_cli", "rules", "check", "rules.yaml"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "PYTHONPATH": str(Path(winback_cli.__file__).parent.parent)},
        )
    except subprocess.TimeoutExpired:
        pytest.fail("rules check did not finish within 30 s: the aliases were expanded")
    stderr = _flat(result.stderr)
    assert result.returncode == 2, stderr
    assert "Traceback" not in result.stderr
    assert stderr.startswith("Error: rules.yaml, line ")
    assert len(result.stderr) < 20_000  # the message quotes values briefly, not expanded
