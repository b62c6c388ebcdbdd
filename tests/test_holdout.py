"""`winback letters --holdout`: a reproducible control group, recorded but not drafted."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from winback_cli.cli import app
from winback_cli.errors import UsageError
from winback_cli.holdout import control_mask, draw, parse_holdout

from .conftest import EXAMPLES
from .letters_fixtures import SECRET


def letters(out: Path, ledger: Path, *more: str):
    args = ["letters", str(EXAMPLES / "orders_en.csv"), "-c", str(EXAMPLES / "customers_en.csv"),
            "-r", str(EXAMPLES / "rules.yaml"), "--out", str(out), "--ledger", str(ledger),
            "--campaign", "spring", *more]  # fmt: skip
    return CliRunner().invoke(app, args, env={"WINBACK_CODE_SECRET": SECRET})


def recorded(ledger: Path) -> pd.DataFrame:
    with sqlite3.connect(ledger) as db:
        return pd.read_sql("SELECT customer_id, control, file, cost FROM contacts", db)


def test_the_same_customers_are_held_out_on_every_run(tmp_path):
    first = letters(tmp_path / "a", tmp_path / "a.db", "--holdout", "30%")
    again = letters(tmp_path / "b", tmp_path / "b.db", "--holdout", "30%")
    assert first.exit_code == 0 and again.exit_code == 0, first.stderr
    rows = recorded(tmp_path / "a.db")
    held = rows.loc[rows["control"] == 1]
    assert len(held) >= 1
    assert rows.equals(recorded(tmp_path / "b.db"))
    assert (held["file"] == "").all() and (held["cost"] == 0).all()
    drafts = {p.stem for p in (tmp_path / "a").glob("*.md")}
    assert drafts.isdisjoint(held["customer_id"]) and drafts
    control = pd.read_csv(tmp_path / "a" / "control.csv", dtype=str)
    assert sorted(control["customer_id"]) == sorted(held["customer_id"])
    manifest = pd.read_csv(tmp_path / "a" / "manifest.csv", dtype=str)
    assert set(manifest["customer_id"]).isdisjoint(held["customer_id"])
    assert "as the control group" in first.stderr


def test_without_holdout_nobody_is_control(tmp_path):
    result = letters(tmp_path / "a", tmp_path / "a.db")
    assert result.exit_code == 0, result.stderr
    assert recorded(tmp_path / "a.db")["control"].eq(0).all()
    assert not (tmp_path / "a" / "control.csv").exists()


def test_the_draw_is_a_share_per_campaign():
    ids = pd.Series([f"K{i:05d}" for i in range(4000)])
    held = control_mask(ids, "spring", 0.1)
    assert 0.08 < held.mean() < 0.12
    assert not (held == control_mask(ids, "autumn", 0.1)).all()
    assert draw("spring", "K1") != draw("spring2", "K1")


@pytest.mark.parametrize("text", ["60%", "ten", "-5%"])
def test_a_bad_share_is_a_usage_error(text):
    with pytest.raises(UsageError):
        parse_holdout(text)


def test_a_bad_share_exits_with_2(tmp_path):
    result = letters(tmp_path / "a", tmp_path / "a.db", "--holdout", "80%")
    assert result.exit_code == 2 and "--holdout" in result.stderr
    assert parse_holdout("10%") == pytest.approx(0.1) and parse_holdout(None) == 0.0
