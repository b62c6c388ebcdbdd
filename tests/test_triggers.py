"""Every trigger kind on small hand-built order data with known answers."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import TypeAdapter

from winback_cli.errors import RulesError
from winback_cli.facts import FactNeeds, compute_facts, trigger_windows
from winback_cli.rules import Trigger
from winback_cli.triggers import evaluate

AS_OF = pd.Timestamp("2025-11-01")


def orders(*rows: tuple) -> pd.DataFrame:
    """Rows of (customer_id, date, amount[, category[, order_id]])."""
    records = []
    for number, row in enumerate(rows):
        customer, date, amount, *rest = row
        records.append(
            {
                "customer_id": customer,
                "order_date": pd.Timestamp(date),
                "amount": float(amount),
                "category": rest[0] if rest else "",
                "order_id": rest[1] if len(rest) > 1 else f"O{number}",
            }
        )
    frame = pd.DataFrame(records)
    frame["order_date"] = frame["order_date"].astype("datetime64[s]")
    return frame


def run(trigger: dict, frame: pd.DataFrame, people: pd.DataFrame | None = None):
    """Fire one trigger; return {customer_id: evidence} for customers it fired for."""
    parsed = TypeAdapter(Trigger).validate_python(trigger)
    facts, ids = compute_facts(frame, AS_OF, FactNeeds(windows=trigger_windows([parsed])))
    if people is None:
        people = pd.DataFrame({"_known": [False] * len(ids)})
        source = None if parsed.kind not in ("field", "contract") else "customers.csv"
    else:
        people = people.set_index("customer_id").reindex(ids).reset_index(drop=True)
        people["_known"] = True
        source = "customers.csv"
    result = evaluate([parsed], facts, people, customer_source=source)
    fired = result.fired[parsed.id].to_numpy()
    return {
        customer: text
        for customer, hit, text in zip(ids, fired, result.evidence[parsed.id], strict=True)
        if hit
    }, dict(zip(ids, result.status, strict=True))


def test_inactive_fires_after_six_calendar_months():
    data = orders(("A", "2025-04-30", 10), ("B", "2025-05-01", 10), ("C", "2025-10-31", 10))
    fired, status = run({"id": "gone", "kind": "inactive", "for": "6mo"}, data)
    assert list(fired) == ["A"]
    assert fired["A"] == "last order 2025-04-30, 185 days before 2025-11-01 (limit 6mo)"
    assert status == {"A": "churned", "B": "active", "C": "active"}


def test_revenue_drop_compares_last_12_months_with_the_best_12_months():
    data = orders(
        ("A", "2023-12-01", 1000),
        ("A", "2024-06-01", 1000),
        ("A", "2025-06-01", 900),
        ("B", "2024-06-01", 1000),
        ("B", "2025-06-01", 600),
    )
    fired, status = run({"id": "drop", "kind": "revenue_drop", "below": "50%"}, data)
    # A: last 12 months 900 vs peak 2000 (45%) -> fires. B: no 12-month window holds
    # both orders (exactly 12 months apart), so the peak is 1000 and 600 is 60% -> quiet.
    assert set(fired) == {"A"}
    assert "900.00 is 45% of its peak 2,000.00" in fired["A"]
    assert status["A"] == "at_risk"


def test_revenue_drop_ignores_steady_and_new_customers():
    data = orders(("A", "2024-06-01", 500), ("A", "2025-06-01", 500), ("N", "2025-09-01", 80))
    fired, _ = run({"id": "drop", "kind": "revenue_drop"}, data)
    assert fired == {}


def test_revenue_drop_window_must_be_months():
    with pytest.raises(ValueError, match="calendar months"):
        TypeAdapter(Trigger).validate_python({"id": "x", "kind": "revenue_drop", "window": "90d"})


def test_category_lapse_needs_other_orders_to_continue():
    coffee = [("A", f"2024-{m:02d}-10", 50, "Kaffee") for m in range(1, 7)]
    tea = [("A", "2025-09-01", 30, "Tee")]
    gone = [("B", f"2024-{m:02d}-10", 50, "Kaffee") for m in range(1, 7)]
    fired, _ = run(
        {"id": "lapse", "kind": "category_lapse", "min_orders": 3, "for": "4mo"},
        orders(*coffee, *tea, *gone),
    )
    assert list(fired) == ["A"]  # B stopped everything: that is inactivity, not a lapse
    assert fired["A"].startswith("stopped buying 'Kaffee' (6 orders, last 2024-06-10)")


def test_category_lapse_counts_orders_not_lines():
    lines = [
        ("A", "2025-01-10", 10, "Tee", "O1"),
        ("A", "2025-01-10", 10, "Tee", "O1"),
        ("A", "2025-02-10", 10, "Tee", "O2"),
        ("A", "2025-10-01", 10, "Kaffee", "O3"),
    ]
    fired, _ = run({"id": "lapse", "kind": "category_lapse", "min_orders": 3}, orders(*lines))
    assert fired == {}  # only 2 orders of tea


def test_overdue_uses_the_customers_own_rhythm():
    weekly = [("A", d, 20) for d in pd.date_range("2025-06-01", "2025-09-28", freq="7D")]
    monthly = [("B", d, 20) for d in pd.date_range("2025-01-15", "2025-10-15", freq="MS")]
    fired, _ = run(
        {"id": "late", "kind": "overdue", "factor": 2, "min_orders": 4}, orders(*weekly, *monthly)
    )
    assert list(fired) == ["A"]
    assert fired["A"] == "34 days since the last order, usually every 7 days (4.9x; limit 2x)"


def test_basket_shrink_compares_average_order_values():
    before = [("A", "2024-12-01", 100), ("A", "2025-02-01", 100)]
    recent = [("A", "2025-06-01", 40), ("A", "2025-08-01", 50)]
    steady = [
        ("B", "2024-12-01", 100),
        ("B", "2025-02-01", 100),
        ("B", "2025-06-01", 90),
        ("B", "2025-08-01", 95),
    ]
    fired, _ = run(
        {"id": "shrink", "kind": "basket_shrink", "window": "6mo", "below": "60%"},
        orders(*before, *recent, *steady),
    )
    assert list(fired) == ["A"]
    assert fired["A"].startswith("average order 45.00 in the last 6mo vs 100.00")


def test_frequency_drop_compares_order_counts():
    busy = [("A", f"2025-0{m}-0{d}", 10) for m in (1, 2, 3, 4) for d in (1, 5)]
    quiet = [("A", "2025-06-01", 10)]
    fired, _ = run(
        {"id": "fewer", "kind": "frequency_drop", "window": "6mo", "below": "50%", "min_orders": 4},
        orders(*busy, *quiet),
    )
    assert fired == {"A": "1 orders in the last 6mo vs 8 in the 6mo before (limit 50%)"}


def _people(**columns) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["A", "B", "C"], **columns})


def test_contract_status_and_end_date():
    data = orders(("A", "2025-10-01", 10), ("B", "2025-10-01", 10), ("C", "2025-10-01", 10))
    people = _people(
        contract_status=["cancelled", "active", "active"],
        contract_end=pd.to_datetime([None, "2025-12-15", "2026-06-01"]),
    )
    fired, status = run(
        {"id": "ending", "kind": "contract", "statuses": ["cancelled"], "ends_within": "60d"},
        data,
        people,
    )
    assert fired == {"A": "contract status cancelled", "B": "contract ends 2025-12-15 (within 60d)"}
    assert status["C"] == "active"


def test_field_trigger_conditions():
    data = orders(("A", "2025-10-01", 10), ("B", "2025-10-01", 10), ("C", "2025-10-01", 10))
    people = _people(moved=["ja", "nein", ""], score=["1,5", "7", ""], land=["AT", "DE", "at"])
    assert set(
        run({"id": "m", "kind": "field", "column": "moved", "is_true": True}, data, people)[0]
    ) == {"A"}
    assert set(
        run({"id": "s", "kind": "field", "column": "score", "less_than": 2}, data, people)[0]
    ) == {"A"}
    assert set(
        run({"id": "l", "kind": "field", "column": "land", "in": ["AT", "CH"]}, data, people)[0]
    ) == {"A", "C"}


def test_field_trigger_on_a_missing_column_is_a_rules_error():
    data = orders(("A", "2025-10-01", 10))
    people = pd.DataFrame({"customer_id": ["A"], "other": ["x"]})
    with pytest.raises(RulesError, match=r"reads the column 'moved'.*Columns found: other"):
        run({"id": "m", "kind": "field", "column": "moved", "is_true": True}, data, people)


def test_field_trigger_needs_exactly_one_condition():
    with pytest.raises(ValueError, match="exactly one condition"):
        TypeAdapter(Trigger).validate_python(
            {"id": "m", "kind": "field", "column": "x", "is_true": True, "equals": "y"}
        )


def test_status_is_the_worst_severity():
    data = orders(("A", "2024-01-01", 100), ("A", "2024-02-01", 100))
    parsed = [
        TypeAdapter(Trigger).validate_python(t)
        for t in (
            {"id": "late", "kind": "overdue", "min_orders": 2, "severity": "at_risk"},
            {"id": "gone", "kind": "inactive", "for": "6mo", "severity": "churned"},
        )
    ]
    facts, _ = compute_facts(data, AS_OF, FactNeeds(windows=trigger_windows(parsed)))
    result = evaluate(parsed, facts, pd.DataFrame({"_known": [False]}), customer_source=None)
    assert list(result.status) == ["churned"]
    assert result.fired.loc[0].tolist() == [True, True]
