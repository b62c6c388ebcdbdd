"""The rules file: defaults, validation and errors that name the YAML line."""

from __future__ import annotations

import pytest

from winback_cli.durations import Duration
from winback_cli.errors import RulesError
from winback_cli.rules import load_rules, rules_from_doc
from winback_cli.yaml_source import load_yaml_text


def rules(text: str):
    return rules_from_doc(load_yaml_text(text, "rules.yaml"))


def test_bundled_defaults_are_valid_and_cover_every_order_trigger_kind():
    bundled, source = load_rules(None)
    assert source == "bundled default rules"
    kinds = {t.kind for t in bundled.triggers}
    assert {
        "inactive",
        "revenue_drop",
        "category_lapse",
        "overdue",
        "basket_shrink",
        "frequency_drop",
        "contract",
    } <= kinds
    assert bundled.triggers[0].for_ == Duration(6, "mo")


def test_the_outline_from_the_issue_is_accepted():
    parsed = rules("""
columns:
  customer_id: Kundennummer
  order_date: Bestelldatum
  amount: Umsatz
triggers:
  - id: no_order_6m
    kind: inactive
    for: 6mo
    severity: churned
  - id: revenue_halved
    kind: revenue_drop
    window: 12mo
    below: 50%
  - id: stopped_category
    kind: category_lapse
    min_orders: 3
    for: 4mo
    severity: at_risk
value:
  segments: {A: 80%, B: 15%}
  min_value_per_year: 200
""")
    assert parsed.columns["customer_id"] == "Kundennummer"
    assert parsed.triggers[1].below == 0.5
    assert parsed.value.segments == {"A": 0.8, "B": 0.15}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "triggers:\n  - id: x\n    kind: inactive\n    fro: 6mo\n",
            "line 4: unknown key 'fro' in triggers[0]; did you mean 'for'?",
        ),
        ("value:\n  segmnts: {A: 80%}\n", "line 2: unknown key 'segmnts' in value; did you mean"),
        ("triggers:\n  - id: x\n    kind: inactive\n    for: 6 months\n", "line 4"),
        ("triggers:\n  - id: x\n    kind: inactive\n    for: -3d\n", "line 4"),
        ("triggers:\n  - id: x\n    kind: nap\n", "line 2: triggers[0]: Input tag 'nap'"),
        ("triggers:\n  - id: x\n    kind: revenue_drop\n    below: 50\n", "50%"),
        ("locale: xx_YY\n", "unknown locale 'xx_YY'"),
        ("value:\n  segments: {A: 80%, B: 30%}\n", "more than 100%"),
        ("currency: NO\n", "NO"),
        (
            "triggers:\n  - id: a\n    kind: inactive\n    for: 1y\n"
            "  - id: a\n    kind: inactive\n    for: 2y\n",
            "used twice",
        ),
    ],
)
def test_errors_name_the_line_and_the_fix(text, expected):
    with pytest.raises(RulesError) as error:
        rules(text)
    assert expected in str(error.value)
    assert str(error.value).startswith("rules.yaml, line")


def test_duplicate_keys_and_python_tags_are_refused():
    with pytest.raises(RulesError, match="line 2"):
        rules("locale: de_DE\nlocale: en_US\n")
    with pytest.raises(RulesError, match="not allowed"):
        rules("columns: !!python/object/apply:os.system ['echo hacked']\n")


def test_a_field_trigger_needs_one_condition():
    with pytest.raises(RulesError, match="exactly one condition"):
        rules("triggers:\n  - id: m\n    kind: field\n    column: moved\n")
