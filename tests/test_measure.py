"""`winback measure` on a constructed campaign whose outcomes are known by hand."""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from winback_cli.cli import app
from winback_cli.ledger import Campaign, read_campaign, recording

RULES = """\
triggers:
  - id: gone
    kind: inactive
    for: 60d
    severity: churned
"""
CONTACT = dt.date(2025, 6, 1)


def winback(*args: str):
    return CliRunner().invoke(app, list(args))


def ledger_rows(contacted: int, control: int) -> pd.DataFrame:
    ids = [f"c{i}" for i in range(contacted)] + [f"k{i}" for i in range(control)]
    return pd.DataFrame(
        {
            "customer_id": ids,
            "status": "churned",
            "triggers": ["gone; slower" if i.endswith("0") else "gone" for i in ids],
            "segment": ["A" if i in ("c0", "c1", "k0") else "B" for i in ids],
            "reason": "price",
            "measure": [
                "discount" if i.startswith("c") and int(i[1:]) < 5 else "call" for i in ids
            ],
            "channel": "email",
            "offer": "10% discount",
            "offer_code": [f"WB-{i.upper()}" if i.startswith("c") else "" for i in ids],
            "cost": [2.5 if i.startswith("c") else 0.0 for i in ids],
            "file": [f"{i}.md" if i.startswith("c") else "" for i in ids],
            "control": [0 if i.startswith("c") else 1 for i in ids],
        }
    )


def orders_csv(path: Path, contacted: int = 10, control: int = 5) -> Path:
    """History before the contact for everyone; known orders after it."""
    lines = ["order_id,customer_id,order_date,amount,discount code"]
    ids = [f"c{i}" for i in range(contacted)] + [f"k{i}" for i in range(control)]
    lines += [f"h-{i},{i},2024-06-01,100.00," for i in ids]
    # Contacted c0..c5 come back 9..14 days after the contact; c0 redeems its code.
    lines += [f"o-c{i},c{i},2025-06-{10 + i},200.00,{'WB-C0' if i == 0 else ''}" for i in range(6)]
    lines.append("r-c1,c1,2025-06-20,-50.00,")  # a return after coming back
    lines.append("o-c2b,c2,2025-08-20,100.00,")  # a second order, still in the window
    lines.append("o-c6,c6,2025-09-15,80.00,")  # after the 90-day window: not won back
    lines.append("o-k0,k0,2025-06-05,150.00,")  # one control customer orders anyway
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def campaign(tmp_path: Path) -> dict[str, Path]:
    ledger = tmp_path / "winback.db"
    with recording(ledger, Campaign("spring", CONTACT, dt.date(2025, 5, 31)), ledger_rows(10, 5)):
        pass
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    return {"ledger": ledger, "rules": rules, "orders": orders_csv(tmp_path / "orders.csv")}


def measure_args(campaign, *more: str) -> list[str]:
    return [
        "measure", "--campaign", "spring", str(campaign["orders"]),
        "--rules", str(campaign["rules"]), "--ledger", str(campaign["ledger"]), *more,
    ]  # fmt: skip


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    root = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return (
        (p + z**2 / (2 * n) - root) / (1 + z**2 / n),
        (p + z**2 / (2 * n) + root) / (1 + z**2 / n),
    )


def test_rates_lift_and_interval_match_a_hand_computation(campaign):
    result = winback(*measure_args(campaign, "--format", "json"))
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    contacted, control = (
        {k: v["contacted"] for k, v in data["summary"].items()},
        {k: v["control"] for k, v in data["summary"].items()},
    )
    assert contacted["customers"] == 10 and control["customers"] == 5
    assert contacted["won back"] == 6 and control["won back"] == 1
    assert contacted["win-back rate"] == pytest.approx(0.6)
    assert contacted["median days to first order"] == 11.5  # 9, 10, … 14 days
    assert contacted["orders after contact"] == 7
    assert contacted["revenue after contact"] == pytest.approx(6 * 200 - 50 + 100)
    assert contacted["offer codes redeemed"] == 1
    assert contacted["cost"] == 25.0
    assert contacted["revenue minus cost"] == pytest.approx(1225.0)
    assert contacted["return on cost"] == pytest.approx(1225 / 25)
    # Newcombe: d - sqrt((p1-l1)² + (u0-p0)²), d + sqrt((u1-p1)² + (p0-l0)²)
    (l1, u1), (l0, u0) = wilson(6, 10), wilson(1, 5)
    lift = data["lift"]
    assert lift["difference"] == pytest.approx(0.4)
    assert lift["lower"] == pytest.approx(0.4 - math.hypot(0.6 - l1, u0 - 0.2))
    assert lift["upper"] == pytest.approx(0.4 + math.hypot(u1 - 0.6, 0.2 - l0))
    assert lift["incremental_revenue"] == pytest.approx((1250 / 10 - 150 / 5) * 10)
    assert lift["incremental_net"] == pytest.approx(950 - 25)
    # As of 2025-09-16 only c2 (last order 2025-08-20) has ordered within 60 days.
    assert data["keeping"] == {
        "won back": 6,
        "left again (churned now)": 5,
        "at risk again": 0,
        "still active": 1,
        "with returns after returning": 1,
        "with complaints after returning": 0,
    }
    assert "Lift against the control group: +40.0%" in result.stderr


def test_breakdown_by_measure_and_trigger(campaign):
    result = winback(*measure_args(campaign, "--format", "csv"))
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(pd.io.common.StringIO(result.stdout))
    rows = table.set_index(["dimension", "value"])
    assert rows.loc[("all", "all"), "contacted"] == 10
    assert rows.loc[("measure", "discount"), "won_back"] == 5  # c0..c4
    assert rows.loc[("measure", "call"), "won_back"] == 1  # c5 (c6..c9 did not come back)
    assert rows.loc[("measure", "call"), "control_won_back"] == 1  # k0
    assert rows.loc[("trigger", "slower"), "contacted"] == 1  # c0 only
    assert rows.loc[("segment", "A"), "win_back_rate"] == pytest.approx(1.0)


def test_a_campaign_without_control_group_says_lift_cannot_be_measured(tmp_path):
    ledger = tmp_path / "winback.db"
    with recording(ledger, Campaign("solo", CONTACT, dt.date(2025, 5, 31)), ledger_rows(10, 0)):
        pass
    orders = orders_csv(tmp_path / "orders.csv", control=0)
    result = winback("measure", "--campaign", "solo", str(orders), "--ledger", str(ledger),
                     "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["lift"] is None
    assert data["summary"]["win-back rate"]["contacted"] == pytest.approx(0.6)
    assert "cannot be measured: the campaign has no control group" in result.stderr


def test_table_and_xlsx_show_the_same_figures(campaign, tmp_path):
    table = winback(*measure_args(campaign, "--format", "table"))
    assert table.exit_code == 0, table.stderr
    assert "lift against the control group" in table.stdout
    assert "+40.0%" in table.stdout
    out = tmp_path / "measure.xlsx"
    written = winback(*measure_args(campaign, "-o", str(out)))
    assert written.exit_code == 0, written.stderr
    sheets = pd.read_excel(out, sheet_name=None)
    assert list(sheets) == ["summary", "lift", "keeping", "breakdown", "customers"]
    assert sheets["customers"]["won_back"].sum() == 7
    again = winback(*measure_args(campaign, "-o", str(out)))
    assert again.exit_code == 1 and "--force" in again.stderr


def test_an_unknown_campaign_is_a_usage_error_listing_the_known_ones(campaign):
    result = winback(*measure_args(campaign)[:2], "autumn", *measure_args(campaign)[3:])
    assert result.exit_code == 2
    assert "'autumn'" in result.stderr and "'spring'" in result.stderr
    assert result.stdout == ""


def test_a_missing_ledger_is_a_data_error(campaign, tmp_path):
    args = measure_args(campaign)
    args[args.index("--ledger") + 1] = str(tmp_path / "nowhere.db")
    result = winback(*args)
    assert result.exit_code == 1
    assert "no ledger here" in result.stderr


def test_a_version_1_ledger_without_the_control_column_still_opens(tmp_path):
    ledger = tmp_path / "old.db"
    with sqlite3.connect(ledger) as db:
        db.executescript(
            "CREATE TABLE campaigns (name TEXT PRIMARY KEY, created_at TEXT NOT NULL, "
            "as_of TEXT NOT NULL, rules TEXT NOT NULL DEFAULT '', out_dir TEXT NOT NULL "
            "DEFAULT '', format TEXT NOT NULL DEFAULT '');"
            "CREATE TABLE contacts (campaign TEXT NOT NULL, customer_id TEXT NOT NULL, "
            "contact_date TEXT NOT NULL, status TEXT NOT NULL DEFAULT '', triggers TEXT NOT "
            "NULL DEFAULT '', segment TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '',"
            " measure TEXT NOT NULL DEFAULT '', channel TEXT NOT NULL DEFAULT '', offer TEXT NOT"
            " NULL DEFAULT '', offer_code TEXT NOT NULL DEFAULT '', cost REAL NOT NULL DEFAULT 0,"
            " file TEXT NOT NULL DEFAULT '', PRIMARY KEY (campaign, customer_id));"
            "INSERT INTO campaigns VALUES ('old', '2025-06-01', '2025-05-31', '', '', 'md');"
            "INSERT INTO contacts (campaign, customer_id, contact_date, cost) "
            "VALUES ('old', 'c0', '2025-06-01', 2.5);"
            "PRAGMA user_version = 1;"
        )
    head, rows = read_campaign(ledger, "old")
    assert head["name"] == "old"
    assert rows["control"].tolist() == [False]
    with sqlite3.connect(ledger) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
