"""The contact ledger, in a real SQLite file: one transaction per run, nobody recorded twice."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pandas as pd
import pytest

from winback_cli.errors import InputError, OutputError
from winback_cli.ledger import (
    Campaign,
    campaign_codes,
    default_ledger_path,
    last_contacts,
    list_campaigns,
    recording,
    used_codes,
)


def contacts(*ids: str, code: str = "C") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": list(ids),
            "status": "churned",
            "triggers": "no_order_6m",
            "segment": "A",
            "reason": "price",
            "measure": "default",
            "channel": "letter",
            "offer": "5% discount",
            "offer_code": [f"{code}-{i}" for i in ids],
            "cost": 2.5,
            "file": [f"{i}.md" for i in ids],
        }
    )


def spring(day: int = 1) -> Campaign:
    return Campaign("spring", dt.date(2025, 3, day), dt.date(2025, 3, 1), "rules.yaml", "out", "md")


def test_running_a_campaign_twice_records_nobody_twice(tmp_path):
    ledger = tmp_path / "winback.db"
    with recording(ledger, spring(), contacts("a", "b")) as added:
        assert added == 2
    with recording(ledger, spring(2), contacts("a", "b", "c", code="D")) as added:
        assert added == 1
    with sqlite3.connect(ledger) as db:
        rows = db.execute("SELECT customer_id, offer_code FROM contacts ORDER BY 1").fetchall()
        campaigns = db.execute("SELECT name, created_at FROM campaigns").fetchall()
    assert rows == [("a", "C-a"), ("b", "C-b"), ("c", "D-c")]  # the first codes are kept
    assert campaigns == [("spring", "2025-03-01")]
    assert campaign_codes(ledger, "spring") == {"a": "C-a", "b": "C-b", "c": "D-c"}
    assert used_codes(ledger) == {"C-a", "C-b", "D-c"}


def test_nothing_is_recorded_when_writing_the_files_fails(tmp_path):
    ledger = tmp_path / "winback.db"
    with pytest.raises(OutputError), recording(ledger, spring(), contacts("a")):
        raise OutputError("disk full")
    assert list_campaigns(ledger).empty
    assert last_contacts(ledger).empty


def test_an_offer_code_cannot_be_handed_out_twice(tmp_path):
    ledger = tmp_path / "winback.db"
    with recording(ledger, spring(), contacts("a")):
        pass
    autumn = Campaign("autumn", dt.date(2025, 9, 1), dt.date(2025, 9, 1))
    with pytest.raises(OutputError, match="refused"), recording(ledger, autumn, contacts("a")):
        pass
    assert list_campaigns(ledger)["campaign"].tolist() == ["spring"]


def test_last_contacts_are_the_latest_per_customer_other_campaigns_only(tmp_path):
    ledger = tmp_path / "winback.db"
    with recording(ledger, spring(), contacts("a", "b")):
        pass
    autumn = Campaign("autumn", dt.date(2025, 9, 1), dt.date(2025, 9, 1))
    with recording(ledger, autumn, contacts("a", code="E")):
        pass
    latest = last_contacts(ledger)
    assert latest["campaign"].to_dict() == {"a": "autumn", "b": "spring"}
    assert latest.loc["a", "date"] == pd.Timestamp("2025-09-01")
    assert last_contacts(ledger, exclude_campaign="autumn")["campaign"].to_dict() == {
        "a": "spring",
        "b": "spring",
    }


def test_campaigns_are_listed_newest_first_with_counts_and_cost(tmp_path):
    ledger = tmp_path / "winback.db"
    with recording(ledger, spring(), contacts("a", "b")):
        pass
    autumn = Campaign("autumn", dt.date(2025, 9, 1), dt.date(2025, 9, 1))
    with recording(ledger, autumn, contacts("c", code="E").assign(offer_code="")):
        pass
    listed = list_campaigns(ledger)
    assert listed.to_dict("records") == [
        {
            "campaign": "autumn",
            "date": "2025-09-01",
            "as_of": "2025-09-01",
            "customers": 1,
            "offer_codes": 0,
            "cost": 2.5,
            "channels": "letter 1",
        },
        {
            "campaign": "spring",
            "date": "2025-03-01",
            "as_of": "2025-03-01",
            "customers": 2,
            "offer_codes": 2,
            "cost": 5.0,
            "channels": "letter 2",
        },
    ]


def test_reading_a_missing_ledger_gives_nothing_and_a_foreign_file_is_refused(tmp_path):
    assert last_contacts(tmp_path / "none.db").empty
    assert used_codes(tmp_path / "none.db") == set()
    foreign = tmp_path / "notes.db"
    foreign.write_text("not a database at all, just text " * 20)
    with pytest.raises(InputError, match="not a winback ledger"):
        last_contacts(foreign)


def test_the_default_ledger_lies_beside_the_rules_file(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("{}\n")
    assert default_ledger_path(str(rules)) == tmp_path / "winback.db"
    assert default_ledger_path("bundled default rules").name == "winback.db"
