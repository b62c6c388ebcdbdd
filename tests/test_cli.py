"""`winback scan`, `init` and `rules check` driven through the CLI, as a user would."""

from __future__ import annotations

import gc
import io
import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from winback_cli.cli import app
from winback_cli.scan import CORE_COLUMNS

from .conftest import EXAMPLES, ROOT

EN = [str(EXAMPLES / "orders_en.csv"), "--customers", str(EXAMPLES / "customers_en.csv")]
DE = [str(EXAMPLES / "orders_de.csv"), "--customers", str(EXAMPLES / "customers_de.csv")]
RULES = ["--rules", str(EXAMPLES / "rules.yaml")]


def winback(*args: str, input: str | bytes | None = None):
    return CliRunner().invoke(app, list(args), input=input)


def scan_csv(*args: str) -> pd.DataFrame:
    result = winback("scan", *args, "--status", "all", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    return pd.read_csv(io.StringIO(result.stdout), dtype=str, keep_default_na=False)


def test_german_and_english_examples_give_the_same_answer():
    english = scan_csv(*EN, *RULES)
    german = scan_csv(*DE, *RULES)
    columns = ["customer_id", "status", "triggers", "segment", "revenue_12m", "value_score"]
    pd.testing.assert_frame_equal(english[columns], german[columns])


def test_examples_match_the_answer_key():
    expected = pd.read_csv(EXAMPLES / "expected_statuses.csv", dtype=str, keep_default_na=False)
    found = scan_csv(*EN, *RULES)[["customer_id", "status", "triggers"]]
    merged = expected.merge(found, on="customer_id", how="outer", suffixes=("", "_found"))
    assert len(merged) == len(expected) == len(found)
    assert (merged["status"] == merged["status_found"]).all()
    assert (merged["triggers"] == merged["triggers_found"]).all()


def test_identifiers_stay_text():
    found = scan_csv(*EN, *RULES)
    assert "00042" in found["customer_id"].tolist()


def test_every_trigger_kind_fires_on_the_examples():
    fired = ";".join(scan_csv(*DE, *RULES)["triggers"])
    for trigger_id in (
        "no_order_6m",
        "revenue_halved",
        "stopped_category",
        "rhythm_broken",
        "smaller_baskets",
        "fewer_orders",
        "contract_cancelled",
        "contract_ending",
        "moved_away",
    ):
        assert trigger_id in fired


def test_table_on_a_terminal_shows_summary_and_ranked_customers():
    result = winback("scan", *DE, *RULES, "--format", "table", "--top", "40", "--status", "all")
    assert result.exit_code == 0
    assert "customers by value" in result.stdout
    assert "[Test] Müller & Söhne" in result.stdout  # brackets are text, not markup
    assert "customers scanned" in result.stderr
    assert "churned" in result.stderr


def test_piped_output_defaults_to_csv_and_default_status_is_leaving():
    result = winback("scan", *EN, *RULES)
    frame = pd.read_csv(io.StringIO(result.stdout), dtype=str)
    assert set(frame["status"]) == {"churned", "at_risk"}
    assert "Orders: 1,377 rows read" in result.stderr


def test_a_scan_freezes_what_the_imports_made():
    # Full collections during a large scan then skip the modules' own objects
    # (conftest thaws them after every test).
    assert gc.get_freeze_count() == 0
    result = winback("scan", *EN, *RULES, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert gc.get_freeze_count() > 10_000


def test_rows_read_equal_rows_used_plus_rejected(tmp_path):
    rejects = tmp_path / "rejects.csv"
    result = winback("scan", *DE, *RULES, "--rejects", str(rejects))
    assert result.exit_code == 0
    assert "1,377 rows read from 1 file(s), 1,375 used, 2 rejected" in result.stderr
    listed = pd.read_csv(rejects, dtype=str)
    assert list(listed.columns) == ["file", "row", "column", "value", "reason"]
    assert listed["value"].tolist() == ["storniert", "storniert"]
    assert listed["file"].str.endswith("orders_de.csv").all()


def test_strict_turns_rejects_into_an_error():
    result = winback("scan", *DE, *RULES, "--strict")
    assert result.exit_code == 1
    assert "--strict: 2 row(s) could not be used" in result.stderr
    assert "row " in result.stderr
    assert "Traceback" not in result.stderr


def test_margin_as_value_basis_needs_a_cost_column(tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,customer_id,order_date,amount\n1,A,2025-01-10,100.00\n2,B,2025-02-10,50.00\n"
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text("value:\n  basis: margin_per_year\n")
    result = winback("scan", str(orders), "--rules", str(rules), "--format", "csv")
    assert result.exit_code == 2
    assert "value.basis is margin_per_year, but the orders have no cost column" in result.stderr
    assert result.stdout == ""


def test_json_jsonl_and_excel_de_csv(tmp_path):
    as_json = json.loads(winback("scan", *EN, *RULES, "--format", "json").stdout)
    assert {"customer_id", "status", "evidence", "worth_winning_back"} <= set(as_json[0])
    lines = winback("scan", *EN, *RULES, "--format", "jsonl").stdout.splitlines()
    assert len(lines) == len(as_json)
    target = tmp_path / "scan.csv"
    result = winback("scan", *EN, *RULES, "--csv-style", "excel-de", "-o", str(target))
    assert result.exit_code == 0
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(
        target, sep=";", decimal=",", encoding="utf-8-sig", dtype={"customer_id": str}
    )
    assert frame["revenue_12m"].dtype == float
    assert len(frame) == len(as_json)


def test_xlsx_needs_a_file_and_is_written(tmp_path):
    assert winback("scan", *EN, *RULES, "--format", "xlsx").exit_code == 2
    target = tmp_path / "scan.xlsx"
    assert winback("scan", *EN, *RULES, "-o", str(target)).exit_code == 0
    frame = pd.read_excel(target, dtype={"customer_id": str})
    assert "status" in frame.columns and len(frame) > 0


def test_existing_output_needs_force(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("keep me")
    result = winback("scan", *EN, *RULES, "-o", str(target))
    assert result.exit_code == 1
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert target.read_text() == "keep me"
    assert winback("scan", *EN, *RULES, "-o", str(target), "--force").exit_code == 0
    assert target.read_text().startswith("customer_id,")


def test_stdin_and_as_of():
    data = (EXAMPLES / "orders_en.csv").read_bytes()
    result = winback("scan", "-", *RULES, "--as-of", "2024-06-01", "--status", "all", input=data)
    assert result.exit_code == 0, result.stderr
    assert "as of 2024-06-01" in result.stderr
    assert "order row(s) dated on or after the as-of date 2024-06-01" in result.stderr
    assert winback("scan", "-", "--as-of", "yesterday", input=data).exit_code == 2


def test_missing_columns_are_all_listed(tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text("Kunde;Summe\nK1;12,50\n", encoding="utf-8")
    result = winback("scan", str(orders))
    assert result.exit_code == 2
    assert "missing required column(s): order_date, amount" in result.stderr
    assert "Headers found: 'Kunde', 'Summe'" in result.stderr


def test_ambiguous_slashed_dates_ask_for_date_format(tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,order_date,amount\nA,03/02/2025,10\nB,04/05/2025,12\n")
    result = winback("scan", str(orders))
    assert result.exit_code == 2
    assert "date_format" in result.stderr
    rules = tmp_path / "rules.yaml"
    rules.write_text('date_format: "%d/%m/%Y"\ntriggers: []\n')
    result = winback("scan", str(orders), "--rules", str(rules), "--status", "all")
    assert result.exit_code == 0, result.stderr
    assert "2025-05-04" in result.stdout


def test_missing_file_and_bad_rules_are_clear_errors(tmp_path):
    result = winback("scan", str(tmp_path / "nope.csv"))
    assert result.exit_code == 1
    assert "nope.csv: file not found" in result.stderr
    rules = tmp_path / "rules.yaml"
    rules.write_text("triggers:\n  - id: x\n    kind: inactive\n    for: 6mo\n    colour: red\n")
    result = winback("scan", *EN, "--rules", str(rules))
    assert result.exit_code == 2
    assert "line 5" in result.stderr and "colour" in result.stderr
    assert "Traceback" not in result.stderr


def test_init_writes_once_and_rules_check_accepts_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert winback("init").exit_code == 0
    assert (tmp_path / "rules.yaml").read_text().startswith("# winback rules")
    again = winback("init")
    assert again.exit_code == 2 and "already exists" in again.stderr
    checked = winback("rules", "check", "rules.yaml")
    assert checked.exit_code == 0
    assert "no_order_6m" in checked.stdout
    assert "OK" in checked.stderr


def test_bundled_rules_equal_the_documented_example():
    bundled = ROOT / "src" / "winback_cli" / "data" / "rules.example.yaml"
    assert bundled.read_text() == (ROOT / "rules.example.yaml").read_text()


def test_python_dash_m_runs_the_cli():
    done = subprocess.run(
        [sys.executable, "-m", "winback_cli", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "scan" in done.stdout


def test_help_does_not_import_pandas():
    code = (
        "import sys; sys.argv = ['winback', '--help']\n"
        "from winback_cli.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('pandas' in sys.modules, 'scipy' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip().splitlines()[-1] == "False False"


@pytest.mark.parametrize(
    ("variable", "ours"), [("OPENBLAS_NUM_THREADS", "1"), ("MIMALLOC_PURGE_DELAY", "60000")]
)
def test_main_tunes_the_native_libraries_unless_the_user_chose(monkeypatch, variable, ours):
    from winback_cli import cli

    monkeypatch.setattr(cli, "app", lambda: None)
    monkeypatch.delenv(variable, raising=False)
    cli.main()
    assert os.environ[variable] == ours
    monkeypatch.setenv(variable, "4")
    cli.main()
    assert os.environ[variable] == "4"


def test_main_freezes_the_objects_at_exit_once_however_often_it_runs(monkeypatch):
    from winback_cli import cli

    hooks: list = []
    monkeypatch.setattr(cli, "app", lambda: None)
    monkeypatch.setattr(cli.atexit, "register", hooks.append)
    monkeypatch.setattr(cli.atexit, "unregister", lambda f: hooks.remove(f) if f in hooks else None)
    cli.main()
    cli.main()
    assert hooks == [gc.freeze]


@pytest.mark.parametrize(
    "command",
    [
        ["scan"],
        ["clv"],
        ["letters"],
        ["campaigns"],
        ["measure"],
        ["report"],
        ["init"],
        ["rules", "check"],
    ],
)
def test_every_command_has_help_with_an_example_and_is_in_the_readme(command):
    result = winback(*command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    # Rich reads "[...]" as markup and drops it; help texts must not lose words that way.
    assert not re.search(r"\w \.(\s|$)", result.stdout), result.stdout
    readme = (ROOT / "README.md").read_text()
    assert f"winback {' '.join(command)}" in readme


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second():
    lines = (ROOT / "README.md").read_text().splitlines()
    block = lines[lines.index("```bash") + 1 : lines.index("```bash") + 3]
    assert "winback scan examples/" in block[0]
    assert "pytest" in block[1]
    assert block[1] in (ROOT / ".ci" / "run").read_text()


def test_readme_scan_examples_work(monkeypatch):
    monkeypatch.chdir(ROOT)
    readme = (ROOT / "README.md").read_text()
    commands = [
        line.split("winback ", 1)[1]
        for line in readme.splitlines()
        if "winback scan examples/" in line or "winback rules check rules.example" in line
    ]
    assert commands
    for command in commands:
        args = command.split("&&")[0].split()
        result = winback(*args)
        assert result.exit_code == 0, (command, result.stderr)


def test_formula_like_names_are_neutralised_in_csv_and_xlsx(tmp_path):
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer_id,order_date,amount\n=1+1,2024-01-05,-5\n=1+1,2024-01-02,50\nB,2025-06-01,20\n"
    )
    customers = tmp_path / "customers.csv"
    customers.write_text('customer_id,company\n=1+1,"=HYPERLINK(""http://x"",""y"")"\nB,@SUM(A1)\n')
    args = ["scan", str(orders), "-c", str(customers), "--status", "all"]
    frame = pd.read_csv(io.StringIO(winback(*args, "--format", "csv").stdout), dtype=str)
    assert (
        frame["customer_id"].tolist()[0].startswith("'=")
        or "'=1+1" in frame["customer_id"].tolist()
    )
    assert set(frame["name"]) == {'\'=HYPERLINK("http://x","y")', "'@SUM(A1)"}
    target = tmp_path / "scan.xlsx"
    assert winback(*args, "-o", str(target)).exit_code == 0
    from openpyxl import load_workbook

    sheet = load_workbook(target).active
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert not any(isinstance(v, str) and v.startswith("=") for v in values)
    assert -5.0 in values or any(isinstance(v, float) for v in values)


def test_scan_reads_feedback_and_the_ledger(tmp_path, monkeypatch):
    feedback = tmp_path / "feedback.csv"
    feedback.write_text(
        "customer_id,reason,note,date\nK00044,zu teuer,Angebot Wettbewerber,2025-10-01\n",
        encoding="utf-8",
    )
    found = scan_csv(*EN, *RULES, "--feedback", str(feedback))
    row = found.set_index("customer_id").loc["K00044"]
    assert row["reason"] == "price"
    assert row["reason_source"] == "feedback"
    monkeypatch.setenv("WINBACK_CODE_SECRET", "a-test-secret-of-enough-length")
    ledger = tmp_path / "ledger.db"
    letters = winback(
        "letters",
        *EN,
        *RULES,
        "--out",
        str(tmp_path / "drafts"),
        "--ledger",
        str(ledger),
        "--campaign",
        "nov",
    )
    assert letters.exit_code == 0, letters.stderr
    again = winback("scan", *EN, *RULES, "--ledger", str(ledger))
    assert "contacted within" in again.stderr


TWO_TRIGGERS = (
    "triggers:\n"
    "  - {id: gone, kind: inactive, for: 6mo}\n"
    "  - {id: halved, kind: revenue_drop, window: 12mo, below: 50%, severity: at_risk}\n"
)


def scan_with_rules(tmp_path, text: str) -> pd.DataFrame:
    rules = tmp_path / "rules.yaml"
    rules.write_text(text, encoding="utf-8")
    found = scan_csv(*EN, "--rules", str(rules))
    assert list(found.columns[:6]) == list(CORE_COLUMNS[:6])  # the texts after `status`
    return found


# The scan makes the trigger texts beside the playbook and waits for them first only
# when the rules ask which triggers fired, as the next two do.
def test_a_playbook_can_pick_measures_by_the_triggers_that_fired(tmp_path):
    playbook = (
        "playbook:\n  rules:\n    - {id: call_the_gone, when: {trigger: gone}, channel: phone}\n"
    )
    found = scan_with_rules(tmp_path, TWO_TRIGGERS + playbook)
    leaving = found[found["worth_winning_back"] == "true"]
    gone = leaving["triggers"].str.split("; ").map(lambda ids: "gone" in ids)
    assert gone.any() and (~gone).any()
    assert (leaving.loc[gone, "measure"] == "call_the_gone").all()
    assert (leaving.loc[~gone, "measure"] == "default").all()


def test_a_scan_takes_reasons_from_the_triggers_that_fired(tmp_path):
    found = scan_with_rules(tmp_path, TWO_TRIGGERS + "reasons:\n  from_triggers: {halved: price}\n")
    # A reason in the customer file comes first; the trigger gives the others theirs.
    halved = found["triggers"].str.contains("halved") & (found["reason_source"] != "customer file")
    assert halved.any()
    assert (found.loc[halved, "reason"] == "price").all()
    assert (found.loc[halved, "reason_source"] == "trigger halved").all()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_closed_pipe_ends_quietly(tmp_path, fmt):
    # Far more output than a pipe buffer holds, so `head` really closes it early.
    orders = tmp_path / "orders.csv"
    rows = [f"C{n:05d},2024-0{1 + n % 9}-1{n % 10},{10 + n % 90}" for n in range(6000)]
    orders.write_text("customer_id,order_date,amount\n" + "\n".join(rows) + "\n")
    command = (
        f'"{sys.executable}" -m winback_cli scan "{orders}" --status all --format {fmt} | head -n 1'
    )
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.stdout.startswith("customer_id," if fmt == "csv" else '{"customer_id": ')
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    assert done.returncode == 0
