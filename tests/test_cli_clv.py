"""`winback clv` driven through the CLI, as a user would: figures on stderr, data on stdout."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from winback_cli.cli import app
from winback_cli.clv import SCORE_COLUMNS

from .conftest import EXAMPLES, ROOT

ORDERS = str(EXAMPLES / "orders_en.csv")
RULES = ["--rules", str(EXAMPLES / "rules.yaml")]


def winback(*args: str):
    # The runner keeps stdout and stderr apart (result.stdout / result.stderr).
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def csv_run():
    return winback("clv", ORDERS, *RULES, "--format", "csv")


def test_clv_writes_one_row_per_customer_and_the_figures_to_stderr(csv_run):
    assert csv_run.exit_code == 0, csv_run.stderr
    table = pd.read_csv(io.StringIO(csv_run.stdout), dtype={"customer_id": str})
    assert len(table) == 39
    assert list(table.columns[:6]) == [
        "customer_id",
        "first_order",
        "last_order",
        "orders",
        "repeat_purchase_days",
        "mean_repeat_spend",
    ]
    assert list(table.columns[6:]) == list(SCORE_COLUMNS)
    assert table["clv"].is_monotonic_decreasing
    assert "lifetime-value models" not in csv_run.stdout
    for figure in (
        "purchases: MBG/NBD",
        "spend: Gamma-Gamma",
        "log-likelihood",
        "time unit: week",
        "repeat customers: 39",
        "frequency-spend correlation: r = 0.68",
        "warning: frequency and spend per purchase are correlated",
        "spend days left out: 1 repeat purchase day",
    ):
        assert figure in csv_run.stderr


def test_holdout_table_compares_by_calibration_purchases():
    result = winback("clv", ORDERS, *RULES, "--holdout-from", "2025-05-01", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert "holdout check: fitted on orders before 2025-05-01" in result.stderr
    for row in ("7+", "total", "predicted mean"):
        assert row in result.stderr
    assert len(json.loads(result.stdout)) == 39


def test_output_file_is_written_once_and_needs_force_to_replace(tmp_path):
    out = tmp_path / "clv.csv"
    first = winback("clv", ORDERS, *RULES, "--horizon", "6mo", "-o", str(out))
    assert first.exit_code == 0, first.stderr
    assert first.stdout == ""
    assert f"Wrote 39 customers to {out}" in first.stderr
    assert "horizon 6mo" in first.stderr
    written = out.read_text()
    assert written.startswith("customer_id,first_order")
    again = winback("clv", ORDERS, *RULES, "-o", str(out))
    assert again.exit_code == 1
    assert "Error:" in again.stderr and "--force" in again.stderr
    assert out.read_text() == written


def test_terminal_table(csv_run):
    result = winback("clv", ORDERS, *RULES, "--format", "table")
    assert result.exit_code == 0, result.stderr
    assert "customers by lifetime value (39)" in result.stdout
    top = pd.read_csv(io.StringIO(csv_run.stdout), dtype={"customer_id": str})["customer_id"][0]
    assert top in result.stdout


def test_thin_data_is_an_error_for_the_clv_command(tmp_path):
    path = tmp_path / "few.csv"
    path.write_text("customer_id,order_date,amount\nA,2025-01-10,100\nA,2025-03-10,80\n")
    result = winback("clv", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"Error: {path}: Only 1 customers bought on more than one day" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--horizon", "12"], "--horizon: cannot read duration '12'"),
        (["--holdout-from", "2030-01-01"], "must lie after the first order"),
        (["--format", "xlsx"], "add -o FILE.xlsx"),
    ],
)
def test_usage_errors_exit_2(args, message):
    result = winback("clv", ORDERS, *RULES, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_help_has_an_example_and_the_readme_examples_work(tmp_path, monkeypatch):
    assert "Example" in winback("clv", "--help").stdout
    readme = (ROOT / "README.md").read_text()
    commands = [line for line in readme.splitlines() if line.startswith("winback clv examples/")]
    assert commands
    (tmp_path / "examples").symlink_to(EXAMPLES)
    monkeypatch.chdir(tmp_path)
    for command in commands:
        result = winback(*command.split()[1:])
        assert result.exit_code == 0, (command, result.stderr)
