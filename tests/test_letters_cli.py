"""`winback letters` and `winback campaigns` through the CLI, as a user would run them.

Golden files: tests/golden/letters/. Set UPDATE_GOLDEN=1 to rewrite them after a
deliberate change to the bundled templates, then read the diff.
"""

from __future__ import annotations

import io
import os
import sqlite3
from email import message_from_bytes, policy
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from winback_cli.cli import app

from .conftest import ROOT
from .letters_fixtures import SECRET, letters_args, write_shop

GOLDEN = ROOT / "tests" / "golden" / "letters"


def winback(*args: str, secret: str | None = SECRET):
    # None removes the variable for the run, whatever the developer's shell has set.
    return CliRunner().invoke(app, list(args), env={"WINBACK_CODE_SECRET": secret})


@pytest.fixture
def shop(tmp_path: Path) -> dict[str, Path]:
    return write_shop(tmp_path)


@pytest.mark.parametrize("fmt", ["md", "txt", "html", "eml"])
def test_drafts_match_the_golden_files(shop, tmp_path, fmt):
    out = tmp_path / "drafts"
    result = winback(*letters_args(shop, "--out", str(out), "--format", fmt))
    assert result.exit_code == 0, result.stderr
    for customer, language in (("K1", "de"), ("K2", "en")):
        written = (out / f"{customer}.{fmt}").read_bytes()
        golden = GOLDEN / f"{language}.{fmt}"
        if os.environ.get("UPDATE_GOLDEN"):
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_bytes(written)
        assert written == golden.read_bytes(), f"{customer}.{fmt} differs from {golden}"


def test_eml_drafts_are_unsent_messages_with_to_and_subject(shop, tmp_path):
    out = tmp_path / "drafts"
    assert winback(*letters_args(shop, "--out", str(out), "--format", "eml")).exit_code == 0
    message = message_from_bytes((out / "K1.eml").read_bytes(), policy=policy.default)
    assert message["X-Unsent"] == "1"
    assert message["To"].addresses[0].addr_spec == "cs@cafe.example"
    assert message["To"].addresses[0].display_name == "Café Sonnenschein & Co"
    assert message["Subject"] == "Wir vermissen Sie – Café Sonnenschein & Co"
    assert "schreiben wir Ihnen bei Ihrer nächsten Bestellung 1.234,50\xa0€ gut" in (
        message.get_content()
    )


def test_html_escapes_customer_values(shop, tmp_path):
    out = tmp_path / "drafts"
    assert winback(*letters_args(shop, "--out", str(out), "--format", "html")).exit_code == 0
    page = (out / "K1.html").read_text()
    assert "Café Sonnenschein &amp; Co" in page
    assert "Sonnenschein & Co" not in page


def test_without_out_the_first_drafts_are_previewed_and_nothing_is_written(shop, tmp_path):
    result = winback(*letters_args(shop, "--ledger", str(tmp_path / "ledger.db")))
    assert result.exit_code == 0, result.stderr
    assert "===== draft 1 of 2: K1.md =====" in result.stdout
    assert "Sehr geehrte Frau Sommer," in result.stdout
    assert "Dear Mr O'Brien," in result.stdout
    assert "nothing was written or recorded" in result.stderr
    assert "--out DIR" in result.stderr
    assert "1 opted out" in result.stderr
    assert not (tmp_path / "ledger.db").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "customers.csv",
        "orders.csv",
        "rules.yaml",
    ]


def test_writing_drafts_records_the_campaign_once(shop, tmp_path):
    out, ledger = tmp_path / "drafts", tmp_path / "winback.db"
    args = letters_args(shop, "--out", str(out), "--campaign", "spring")
    first = winback(*args)
    assert first.exit_code == 0, first.stderr
    assert sorted(p.name for p in out.iterdir()) == ["K1.md", "K2.md", "codes.csv", "manifest.csv"]
    assert "2 new, 0 already recorded" in first.stderr
    manifest = pd.read_csv(out / "manifest.csv", dtype=str, keep_default_na=False)
    assert manifest[["customer_id", "measure", "channel", "file"]].to_dict("records") == [
        {"customer_id": "K1", "measure": "default", "channel": "email", "file": "K1.md"},
        {"customer_id": "K2", "measure": "price_discount", "channel": "letter", "file": "K2.md"},
    ]
    assert manifest["offer_code"].str.match(r"^WB-[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}$").all()

    again = winback(*args)
    assert again.exit_code == 1
    assert "already exists; use --force" in again.stderr

    forced = winback(*args, "--force")
    assert forced.exit_code == 0, forced.stderr
    assert "0 new, 2 already recorded" in forced.stderr
    with sqlite3.connect(ledger) as db:
        rows = db.execute("SELECT customer_id, offer_code FROM contacts ORDER BY 1").fetchall()
    assert [r[0] for r in rows] == ["K1", "K2"]
    assert rows == sorted(zip(manifest["customer_id"], manifest["offer_code"], strict=True))


def test_a_second_campaign_respects_the_frequency_cap(shop, tmp_path):
    first = winback(*letters_args(shop, "--out", str(tmp_path / "a"), "--campaign", "a"))
    assert first.exit_code == 0, first.stderr
    second = winback(*letters_args(shop, "--out", str(tmp_path / "b"), "--campaign", "b"))
    assert second.exit_code == 0, second.stderr
    assert "2 contacted within 90d (contact.min_gap)" in second.stderr
    assert "No drafts" in second.stderr
    assert not (tmp_path / "b").exists()


def test_an_odd_customer_id_gets_a_safe_file_name_inside_out(tmp_path):
    paths = write_shop(tmp_path, extra_customer="../../x")
    out = tmp_path / "deep" / "drafts"
    out.parent.mkdir()
    result = winback(*letters_args(paths, "--out", str(out)))
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    odd = [n for n in names if n.startswith("x-")]
    assert len(odd) == 1 and odd[0].endswith(".md")
    assert not (tmp_path / "x.md").exists() and not (tmp_path.parent / "x.md").exists()
    manifest = pd.read_csv(out / "manifest.csv", dtype=str, keep_default_na=False)
    assert manifest.loc[manifest["customer_id"] == "../../x", "file"].tolist() == odd


def test_a_typo_in_a_template_fails_before_any_file_exists(shop, tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "winback.de.txt").write_text(
        "Subject: Hallo\n{{ greeting }}\n\nIhre Firma {{ customer.compnay }}\n", encoding="utf-8"
    )
    rules = shop["rules"].read_text()
    shop["rules"].write_text(rules.replace("templates:\n", "templates:\n  folder: templates\n"))
    out = tmp_path / "drafts"
    result = winback(*letters_args(shop, "--out", str(out)))
    assert result.exit_code == 1
    assert "winback.de.txt, line 4" in result.stderr
    assert "compnay" in result.stderr and "customer K1" in result.stderr
    assert not out.exists() or not any(out.iterdir())
    assert not (tmp_path / "winback.db").exists()


def test_an_exhausted_code_pool_stops_before_any_file(shop, tmp_path):
    (tmp_path / "pool.csv").write_text("code\nSHOP-0001\n", encoding="utf-8")
    shop["rules"].write_text(shop["rules"].read_text() + "codes:\n  pool: pool.csv\n")
    out = tmp_path / "drafts"
    result = winback(*letters_args(shop, "--out", str(out)), secret=None)
    assert result.exit_code == 1
    assert "2 draft(s) need an offer code but only 1 unused" in result.stderr
    assert "--limit 1" in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_pool_codes_are_used_once_across_campaigns(shop, tmp_path):
    (tmp_path / "pool.csv").write_text("code\nSHOP-1\nSHOP-2\nSHOP-3\n", encoding="utf-8")
    shop["rules"].write_text(
        shop["rules"].read_text() + "codes:\n  pool: pool.csv\ncontact:\n  min_gap: null\n"
    )
    for name in ("a", "b"):
        args = letters_args(shop, "--out", str(tmp_path / name), "--campaign", name)
        result = winback(*args, "--limit", "1", secret=None)
        assert result.exit_code == 0, result.stderr
    codes = [
        pd.read_csv(tmp_path / name / "manifest.csv", dtype=str)["offer_code"].item()
        for name in ("a", "b")
    ]
    assert codes == ["SHOP-1", "SHOP-2"]
    assert not (tmp_path / "a" / "codes.csv").exists()  # the shop has its pool already


def test_writing_without_a_secret_says_how_to_set_one(shop, tmp_path):
    result = winback(*letters_args(shop, "--out", str(tmp_path / "d")), secret=None)
    assert result.exit_code == 2
    assert "WINBACK_CODE_SECRET" in result.stderr
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").iterdir())


def test_campaigns_lists_counts_and_cost(shop, tmp_path):
    assert winback(*letters_args(shop, "--out", str(tmp_path / "d"), "--campaign", "spring"))
    result = winback("campaigns", "--ledger", str(tmp_path / "winback.db"), "--format", "csv")
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(io.StringIO(result.stdout))
    assert table[["campaign", "customers", "offer_codes", "cost"]].to_dict("records") == [
        {"campaign": "spring", "customers": 2, "offer_codes": 2, "cost": 4.0}
    ]
    assert table["channels"].item() == "email 1, letter 1"
    assert "1 campaign(s)" in result.stderr


def test_campaigns_without_a_ledger_is_an_error(tmp_path):
    result = winback("campaigns", "--ledger", str(tmp_path / "none.db"))
    assert result.exit_code == 1
    assert "no ledger here" in result.stderr


def test_a_bad_campaign_name_is_a_usage_error(shop):
    result = winback(*letters_args(shop, "--campaign", "../x"))
    assert result.exit_code == 2
    assert "--campaign" in result.stderr


@pytest.mark.parametrize("command", ["letters", "campaigns"])
def test_commands_have_help_with_an_example_and_are_in_the_readme(command):
    result = winback(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert f"winback {command}" in (ROOT / "README.md").read_text()


def test_scan_shows_the_measure_per_customer(shop):
    result = winback(
        "scan",
        str(shop["orders"]),
        "-c",
        str(shop["customers"]),
        "-r",
        str(shop["rules"]),
        "--status",
        "all",
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(io.StringIO(result.stdout), dtype=str, keep_default_na=False)
    table = table.set_index("customer_id")
    assert table.loc["K2", ["reason", "measure", "channel", "offer"]].tolist() == [
        "price",
        "price_discount",
        "letter",
        "10% discount",
    ]
    # K1 prefers e-mail, which the default measure allows.
    assert table.loc["K1", ["reason", "measure", "channel", "offer"]].tolist() == [
        "unknown",
        "default",
        "email",
        "bonus 1.234,50\xa0€",
    ]
    assert table.loc["K4", "skipped"] == "opted out of contact"
    assert table.loc["K3", "measure"] == ""
    columns = list(table.reset_index().columns)
    assert columns.index("measure") == columns.index("decision_reason") + 4
    assert "1 opted out" in result.stderr


def test_an_offer_code_can_be_verified_later(shop, tmp_path):
    out = tmp_path / "d"
    assert winback(*letters_args(shop, "--out", str(out), "--campaign", "spring")).exit_code == 0
    code = pd.read_csv(out / "codes.csv", dtype=str).set_index("customer_id").loc["K1", "code"]
    check = ["campaigns", "-r", str(shop["rules"]), "--verify"]
    result = winback(*check, code.lower())
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == (
        f"{code}: valid, customer K1, campaign 'spring', handed out "
        f"{pd.Timestamp.today().date()}; generated with this secret"
    )
    assert winback(*check, "WB-2222-3333-4444").exit_code == 1
    forged = winback(*check, code, secret="another-secret-that-is-long")
    assert forged.exit_code == 1
    assert "not made with this secret" in forged.stderr
