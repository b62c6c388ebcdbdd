"""Data never becomes code: spreadsheet formulas in what winback writes, and letter templates.

Customer ids, names, notes, header names and rejected values come from files other
people wrote. Every CSV (standard and excel-de) and XLSX that winback writes must
neutralise text cells that begin with `=`, `+`, `-`, `@`, tab or carriage return
(OWASP CSV injection: a leading `'`), while real numbers, negative ones included,
stay numbers. Each file is read back the way a spreadsheet or a script would.

Letter templates are text other people wrote too: known server-side template
injection payloads in a user template folder must be refused with a clear error,
before any draft is written or anything recorded in the ledger, and a template
may not produce a letter of any size.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

import winback_cli
from winback_cli.cli import app

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^-?[0-9]+(?:[.,][0-9]+)?$")

ORDERS = (
    "customer_id,order_date,amount,category\n"
    "=1+1,2025-01-10,100.00,=cmd|' /C calc'!A0\n"
    "=1+1,2025-02-10,-150.50,Kaffee\n"
    "+4930123,2025-01-15,200.00,Tee\n"
    "-A7,2025-02-15,80.00,Tee\n"
    "@SUM(A1),2025-03-01,60.00,Tee\n"
    "C5,2025-03-02,=2+3,Tee\n"
    "C6,2025-03-03,40.00,Tee\n"
)
CUSTOMERS = (
    "customer_id,company,note,=HEADER\n"
    '=1+1,"=HYPERLINK(""http://evil"",""klick"")",+1 555,x\n'
    "+4930123,@evil,-2+3,y\n"
    '-A7,"\tTabbed GmbH","\tnote",z\n'
    '@SUM(A1),Normal AG,"\rnote",w\n'
    "C6,Plain KG,-5,v\n"
)
# What a spreadsheet must show for the hostile cells: text, behind a leading quote.
EXPECTED = {
    "'=1+1": {"name": '\'=HYPERLINK("http://evil","klick")', "note": "'+1 555"},
    "'+4930123": {"name": "'@evil", "note": "'-2+3"},
    "'-A7": {"note": "'\tnote"},
    "'@SUM(A1)": {"note": "'\rnote"},
    "C6": {"name": "Plain KG", "note": "'-5"},
}


@pytest.fixture
def exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "orders.csv").write_text(ORDERS, encoding="utf-8", newline="")
    (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8", newline="")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def scan(*args: str):
    base = ["scan", "orders.csv", "-c", "customers.csv", "--status", "all"]
    result = CliRunner().invoke(app, [*base, *args])
    assert result.exit_code == 0, result.stderr
    return result


def assert_safe(rows: list[dict[str, object]]) -> None:
    """No text cell starts like a formula; only plain numbers may start with a minus."""
    for row in rows:
        for column, value in row.items():
            assert not str(column).startswith(TRIGGERS), f"header {column!r}"
            if isinstance(value, str) and value.startswith(TRIGGERS):
                assert NUMBER.match(value), f"{column}: {value!r} would run as a formula"


def assert_expected(rows: list[dict[str, object]], negative: object) -> None:
    by_id = {str(row["customer_id"]): row for row in rows}
    for customer, values in EXPECTED.items():
        assert {key: by_id[customer][key] for key in values} == values, customer
    assert "'=HEADER" in rows[0]
    assert by_id["'=1+1"]["revenue_total"] == negative  # a negative number stays a number


def read_csv(text: str, delimiter: str = ",") -> list[dict[str, object]]:
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


def test_standard_csv_on_stdout_neutralises_text_but_not_numbers(exports: Path):
    rows = read_csv(scan("--format", "csv").stdout)
    assert_safe(rows)
    assert_expected(rows, "-50.5")


def test_excel_de_csv_file_neutralises_text_but_not_numbers(exports: Path):
    scan("--format", "csv", "--csv-style", "excel-de", "-o", "scan.csv")
    raw = (exports / "scan.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM, so Excel opens it as UTF-8
    rows = read_csv(raw.decode("utf-8-sig"), delimiter=";")
    assert_safe(rows)
    assert_expected(rows, "-50,5")


def test_xlsx_neutralises_text_and_keeps_numbers_as_numbers(exports: Path):
    scan("-o", "scan.xlsx")
    sheet = load_workbook(exports / "scan.xlsx").active
    cells = list(sheet.iter_rows())
    assert all(cell.data_type != "f" for row in cells for cell in row)  # no formula cells
    header = [cell.value for cell in cells[0]]
    rows = [dict(zip(header, (cell.value for cell in row), strict=True)) for row in cells[1:]]
    rows = [{key: _xlsx_text(value) for key, value in row.items()} for row in rows]
    assert_safe(rows)
    assert_expected(rows, -50.5)
    numbers = [row["revenue_total"] for row in rows]
    assert all(isinstance(value, int | float) for value in numbers)


def _xlsx_text(value: object) -> object:
    """Cell text as Excel shows it: OOXML stores a CR as `_x000D_`, which openpyxl keeps."""
    if value is None:
        return ""
    return value.replace("_x000D_", "\r") if isinstance(value, str) else value


@pytest.mark.parametrize("style", ["standard", "excel-de"])
def test_rejected_values_are_neutralised_in_the_rejects_file(exports: Path, style: str):
    scan("--format", "csv", "--csv-style", style, "--rejects", "rejects.csv")
    text = (exports / "rejects.csv").read_text(encoding="utf-8-sig")
    rows = read_csv(text, delimiter=";" if style == "excel-de" else ",")
    assert rows == [
        {
            "file": "orders.csv",
            "row": "7",
            "column": "amount",
            "value": "'=2+3",
            "reason": "not a number: '=2+3'",
        }
    ]


def test_json_keeps_the_text_exactly_because_no_spreadsheet_opens_it(exports: Path):
    rows = json.loads(scan("--format", "json").stdout)
    by_id = {row["customer_id"]: row for row in rows}
    assert by_id["=1+1"]["name"] == '=HYPERLINK("http://evil","klick")'
    assert by_id["=1+1"]["revenue_total"] == -50.5


# --- templates: server-side template injection ------------------------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BUNDLED_TEMPLATES = Path(winback_cli.__file__).parent / "data" / "templates"
BLOCKED = "blocked: access to attribute"

PAYLOADS = [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", f"{BLOCKED} '__class__' of 'str'"),
    (
        "{{ ().__class__.__bases__[0].__subclasses__()[100].__init__.__globals__['sys']"
        ".modules['os'].system('touch pwned') }}",
        f"{BLOCKED} '__class__' of 'tuple'",
    ),
    ("{{ self.__init__.__globals__ }}", f"{BLOCKED} '__init__' of 'TemplateReference'"),
    ("{{ self._TemplateReference__context }}", f"{BLOCKED} '_TemplateReference__context'"),
    ("{{ cycler.__init__.__globals__.os.popen('touch pwned').read() }}", f"{BLOCKED} '__init__'"),
    ("{{ joiner.__init__.__globals__.os.popen('touch pwned').read() }}", f"{BLOCKED} '__init__'"),
    ("{{ namespace.__init__.__globals__.os.popen('touch pwned') }}", f"{BLOCKED} '__init__'"),
    (
        "{% set ns = namespace() %}{% set ns.x = cycler.__init__ %}{{ ns.x.__globals__ }}",
        f"{BLOCKED} '__init__'",
    ),
    ("{{ lipsum.__globals__['os'].popen('touch pwned').read() }}", f"{BLOCKED} '__globals__'"),
    ("{{ lipsum|attr('__globals__') }}", f"{BLOCKED} '__globals__' of 'function'"),
    ("{{ ''|attr('__class__') }}", f"{BLOCKED} '__class__' of 'str'"),
    ("{{ customer|attr('__class__')|attr('__mro__') }}", "'__mro__'"),
    ("{{ '{0.__class__.__mro__}'.format(customer) }}", f"{BLOCKED} '__class__' of 'dict'"),
    ("{{ '{c.__class__}'.format_map({'c': customer}) }}", f"{BLOCKED} '__class__' of 'dict'"),
    ("{{ customer.__class__.__init__.__globals__ }}", f"{BLOCKED} '__init__'"),
    ("{{ offer.__class__ }}", f"{BLOCKED} '__class__' of 'dict'"),
    ("{{ greeting.__class__.__base__.__subclasses__() }}", f"{BLOCKED} '__class__' of 'str'"),
    ("{{ customer.update({'name': 'x'}) }}", f"{BLOCKED} 'update' of 'dict'"),
    (
        "{{ request.application.__globals__.__builtins__.__import__('os').popen('id') }}",
        "'request' is undefined",
    ),
    ("{{ config.items() }}", "'config' is undefined"),
    ("{{ get_flashed_messages.__globals__ }}", "'get_flashed_messages' is undefined"),
    ("{% include '../../../../etc/passwd' %}", "../../../../etc/passwd is not a template"),
    ("{% include '/etc/passwd' %}", "/etc/passwd is not a template"),
    ("{% extends '../rules.yaml' %}", "../rules.yaml is not a template"),
    ("{{ range(10**9)|list|length }}", "Error: template"),  # the sandbox's MAX_RANGE
]

PAYLOAD_IDS = [
    "mro-subclasses",
    "tuple-subclasses-os-system",
    "self-init-globals",
    "self-private-context",
    "cycler-globals",
    "joiner-globals",
    "namespace-globals",
    "namespace-smuggle",
    "lipsum-globals",
    "attr-globals",
    "attr-class",
    "attr-chain",
    "format-string",
    "format-map",
    "customer-class",
    "offer-class",
    "greeting-subclasses",
    "mutate-context",
    "request-globals",
    "config-lookup",
    "flask-helper",
    "include-traversal",
    "include-absolute",
    "extends-traversal",
    "range-overflow",
]


@pytest.fixture
def campaign(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The example exports with a user template folder; returns a function to fill and run it."""
    import yaml

    for name in ("orders_en.csv", "customers_en.csv"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    rules = yaml.safe_load((EXAMPLES / "rules.yaml").read_text(encoding="utf-8"))
    rules.setdefault("templates", {})["folder"] = "mytemplates"
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules, allow_unicode=True), "utf-8")
    (tmp_path / "mytemplates").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WINBACK_CODE_SECRET", "a-test-secret-of-enough-length")

    def run(body: str, *extra: str):
        # The same hostile body under every template name, so whichever is picked runs it.
        for template in BUNDLED_TEMPLATES.glob("*.txt"):
            (tmp_path / "mytemplates" / template.name).write_text(f"Subject: Hallo\n\n{body}\n")
        args = ["letters", "orders_en.csv", "-c", "customers_en.csv", "-r", "rules.yaml"]
        return CliRunner().invoke(app, [*args, *extra])

    return run


def assert_refused(result, folder: Path, fragment: str) -> None:
    stderr = " ".join(result.stderr.split())
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert result.exit_code == 1, stderr
    assert "Error: template " in stderr
    assert fragment in stderr
    assert "No file was written." in stderr
    assert not (folder / "pwned").exists()
    drafts = folder / "drafts"
    assert not drafts.exists() or not any(drafts.iterdir())
    ledger = folder / "ledger.db"
    if ledger.exists():
        with sqlite3.connect(ledger) as connection:
            assert connection.execute("SELECT count(*) FROM campaigns").fetchone() == (0,)


@pytest.mark.parametrize(("body", "fragment"), PAYLOADS, ids=PAYLOAD_IDS)
def test_template_injection_is_refused(campaign, tmp_path: Path, body: str, fragment: str):
    result = campaign(body, "--out", "drafts", "--ledger", "ledger.db", "--campaign", "c1")
    assert_refused(result, tmp_path, fragment)


def test_template_injection_is_refused_in_the_preview_too(campaign, tmp_path: Path):
    result = campaign("{{ cycler.__init__.__globals__.os.popen('touch pwned').read() }}")
    assert_refused(result, tmp_path, f"{BLOCKED} '__init__'")
    assert result.stdout == ""


@pytest.mark.parametrize(
    "body",
    [
        "{{ 'A' * 50000000 }}",
        "{% for i in range(100000) %}{% for j in range(500) %}x{% endfor %}{% endfor %}",
    ],
    ids=["string-times", "nested-loops"],
)
def test_template_output_is_capped(campaign, tmp_path: Path, body: str):
    """A 50 MB letter is no letter: refused, nothing written, nothing recorded."""
    out = ("--out", "drafts", "--ledger", "ledger.db", "--campaign", "c1", "--limit", "1")
    assert_refused(campaign(body, *out), tmp_path, "Error: template")


def test_a_harmless_user_template_is_used(campaign, tmp_path: Path):
    """The folder is really read: the same setup with a plain template writes drafts."""
    result = campaign("Hallo {{ customer.customer_id }}", "--out", "drafts", "--ledger", "l.db")
    assert result.exit_code == 0, result.stderr
    drafts = sorted((tmp_path / "drafts").glob("*.md"))
    assert drafts
    assert "Hallo " in drafts[0].read_text(encoding="utf-8")
