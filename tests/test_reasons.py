"""Churn reasons: feedback file, customer column, triggers and signals in the orders."""

from __future__ import annotations

import pandas as pd
import pytest

from winback_cli.errors import ColumnError
from winback_cli.facts import FactNeeds, compute_facts
from winback_cli.reasons import apply_not_worth, assign_reasons, data_signals, load_feedback
from winback_cli.rules import Rules

AS_OF = pd.Timestamp("2025-07-01")


def orders(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["order_id"] = [f"o{i}" for i in range(len(frame))]
    return frame


def signals_for(rows, ids: pd.Series, rules: Rules) -> pd.DataFrame:
    """Probable reasons for `ids` (customers without orders get none), like the scan does."""
    facts, customer_ids = compute_facts(orders(rows), AS_OF, FactNeeds.from_rules(rules))
    found = data_signals(facts, customer_ids, rules).reindex(ids).fillna("")
    return found.reset_index(drop=True)


def monthly(customer: str, months: list[str], amount: float) -> list[tuple[str, str, float]]:
    return [(customer, f"{month}-10", amount) for month in months]


BEFORE = ["2024-07", "2024-08", "2024-09", "2024-10", "2024-11", "2024-12"]
RECENT = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]


def test_rising_returns_point_to_quality_and_a_shrinking_basket_to_price():
    rows = [
        *monthly("returns", BEFORE + RECENT, 100.0),
        ("returns", "2025-03-15", -50.0),
        ("returns", "2025-05-15", -40.0),
        *monthly("cheaper", BEFORE, 200.0),
        *monthly("cheaper", RECENT, 90.0),
        *monthly("steady", BEFORE + RECENT, 100.0),
    ]
    ids = pd.Series(["returns", "cheaper", "steady", "unknown"])
    signals = signals_for(rows, ids, Rules(locale="de_DE"))
    assert signals["probable"].tolist() == ["quality", "price", "", ""]
    assert signals["evidence"][0] == (
        "returns were 15% of purchases in the last 6mo of ordering, 0% before"
    )
    assert signals["evidence"][1] == (
        "average order 90,00\xa0€ in the last 6mo of ordering, 200,00\xa0€ before"
    )


def test_a_customer_who_stopped_is_judged_by_how_they_bought_before_stopping():
    first_half = ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    rows = [*monthly("gone", first_half, 300.0), *monthly("gone", BEFORE, 100.0)]
    signals = signals_for(rows, pd.Series(["gone"]), Rules())
    assert signals["probable"].tolist() == ["price"]


def scan_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "status": ["churned", "churned", "churned", "at_risk", "active"],
            "triggers": ["gone", "gone; moved_away", "gone", "smaller", ""],
            "evidence": [
                "gone: last order …",
                "gone: last order … | moved_away: moved_abroad = 'yes'",
                "gone: …",
                "smaller: …",
                "",
            ],
            "churn_reason": ["price", "", "", "", "price"],
            "churn_reason_text": ["zu teuer", "", "", "", "zu teuer"],
            "worth_winning_back": pd.array([True, True, True, True, pd.NA], dtype="boolean"),
            "decision_reason": ["ok", "ok", "ok", "ok", "active"],
        }
    )


def test_reasons_come_from_feedback_then_customer_file_then_triggers_then_orders():
    table = scan_table()
    signals = pd.DataFrame(
        {"probable": ["", "", "quality", "price", ""], "evidence": ["", "", "x", "y", ""]}
    )
    feedback = pd.DataFrame(
        {
            "reason": ["service"],
            "note": ["late deliveries"],
            "date": pd.to_datetime(["2025-05-01"]),
        },
        index=pd.Index(["a"], name="customer_id"),
    )
    rules = Rules.model_validate({"reasons": {"from_triggers": {"moved_away": "moved"}}})
    reasons = assign_reasons(table, rules, signals, feedback)
    assert reasons.to_dict("records") == [
        {
            "reason": "service",
            "reason_source": "feedback",
            "reason_evidence": "late deliveries (2025-05-01)",
        },
        {
            "reason": "moved",
            "reason_source": "trigger moved_away",
            "reason_evidence": "moved_abroad = 'yes'",
        },
        {"reason": "quality", "reason_source": "probable", "reason_evidence": "x"},
        {"reason": "price", "reason_source": "probable", "reason_evidence": "y"},
        {"reason": "", "reason_source": "", "reason_evidence": ""},  # active: nobody asks
    ]
    without_feedback = assign_reasons(table, rules, signals)
    assert without_feedback.loc[0, ["reason", "reason_source", "reason_evidence"]].tolist() == [
        "price",
        "customer file",
        "zu teuer",
    ]


def test_moved_or_closed_rule_a_win_back_out():
    table = scan_table()
    reasons = pd.DataFrame(
        {
            "reason": ["closed", "moved", "price", "unknown", ""],
            "reason_source": ["feedback", "trigger moved_away", "customer file", "", ""],
            "reason_evidence": [""] * 5,
        }
    )
    decided = apply_not_worth(table, reasons, Rules())
    assert decided["worth_winning_back"].tolist()[:4] == [False, False, True, True]
    assert decided["decision_reason"].tolist()[:2] == [
        "reason: business closed (feedback)",
        "reason: moved away (trigger moved_away)",
    ]


def test_feedback_keeps_the_latest_entry_per_customer(tmp_path):
    path = tmp_path / "feedback.csv"
    path.write_text(
        "Kundennummer;Grund;Notiz;Datum\n"
        "K1;Preis;erste Antwort;01.03.2025\n"
        "K1;Reklamation;zweite Antwort;15.04.2025\n"
        "K2;zu teuer;;\n"
        "K2;Wettbewerber;später, ohne Datum;\n"
        "K3;blau;;02.02.2025\n",
        encoding="utf-8",
    )
    feedback, notes = load_feedback(str(path), Rules())
    assert feedback["reason"].to_dict() == {"K1": "complaint", "K2": "competitor", "K3": "unknown"}
    assert feedback.loc["K1", "note"] == "zweite Antwort"
    assert any("reasons not understood (blau)" in note for note in notes)


def test_a_feedback_file_without_a_reason_column_names_what_it_found(tmp_path):
    path = tmp_path / "feedback.csv"
    path.write_text("customer_id,answer\nK1,too expensive\n", encoding="utf-8")
    with pytest.raises(ColumnError, match=r"no reason column .* found: customer_id, answer"):
        load_feedback(str(path), Rules())
