"""The playbook: first matching rule, default measure, consent, preferred channel, frequency cap."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winback_cli.errors import RulesError
from winback_cli.playbook import assign_measures, normalise_channel, summary_notes
from winback_cli.rules import Rules
from winback_cli.yaml_source import load_yaml_text

AS_OF = pd.Timestamp("2025-11-01")
PLAYBOOK = """
triggers:
  - {id: gone, kind: inactive, for: 6mo}
  - {id: smaller, kind: basket_shrink, severity: at_risk}
playbook:
  rules:
    - id: angry_vip
      when: {reason: complaint, segment: A, min_value: 1000}
      channel: phone
      allow_channels: [visit]
      offer: manager_call
      owner: Head of Sales
      cost: 40
    - id: complaint
      when: {reason: complaint}
      channel: letter
      offer: {kind: fix, text: a new delivery service}
      cost: 2
    - id: shrinking
      when: {trigger: smaller, status: at_risk}
      channel: email
      offer: {kind: discount, percent: 10%}
      wait: 2w
      cost: 0.5
    - id: skip_c
      when: {segment: C}
      channel: none
  default:
    channel: letter
    allow_channels: [email]
    cost: 1.5
"""


def rules(text: str = PLAYBOOK) -> Rules:
    from winback_cli.rules import rules_from_doc

    return rules_from_doc(load_yaml_text(text, "test rules"))


def table(**overrides) -> pd.DataFrame:
    base = {
        "customer_id": ["vip", "small", "shrink", "plain", "c", "active"],
        "status": ["churned", "churned", "at_risk", "churned", "churned", "active"],
        "segment": ["A", "B", "A", "B", "C", "A"],
        "triggers": ["gone", "gone", "smaller", "gone", "gone", ""],
        "reason": ["complaint", "complaint", "price", "unknown", "unknown", ""],
        "strategic": [False] * 6,
        "opt_out": [False] * 6,
        "worth_winning_back": pd.array([True, True, True, True, True, pd.NA], dtype="boolean"),
        "decision_reason": ["ok"] * 5 + ["active: no win-back needed"],
        "revenue_per_year": [5000.0, 300.0, 2000.0, 800.0, 250.0, 9000.0],
        "preferred_channel": ["", "", "", "", "", ""],
    }
    base.update(overrides)
    return pd.DataFrame(base)


def measures(frame: pd.DataFrame, **kwargs) -> pd.DataFrame:
    return assign_measures(frame, kwargs.pop("rules", rules()), AS_OF, **kwargs).set_index(
        frame["customer_id"]
    )


def test_the_first_matching_rule_wins_and_the_default_covers_the_rest():
    result = measures(table())
    assert result["measure"].to_dict() == {
        "vip": "angry_vip",  # also matches `complaint`, which comes later
        "small": "complaint",
        "shrink": "shrinking",
        "plain": "default",
        "c": "",  # skip_c: channel none
        "active": "",
    }
    assert result.loc["vip", ["channel", "offer", "owner", "cost"]].tolist() == [
        "phone",
        "personal call by a manager",
        "Head of Sales",
        40.0,
    ]
    assert result.loc["c", "skipped"] == "playbook measure 'skip_c': no contact"
    assert result.loc["active", "skipped"] == ""


def test_wait_sets_the_earliest_contact_date():
    result = measures(table())
    assert result.loc["shrink", "contact_from"] == pd.Timestamp("2025-11-15")
    assert result.loc["plain", "contact_from"] == AS_OF
    assert pd.isna(result.loc["c", "contact_from"])


def test_opted_out_and_not_worth_customers_get_no_measure():
    frame = table(
        opt_out=[True, False, False, False, False, False],
        worth_winning_back=pd.array([False, False, True, True, True, pd.NA], dtype="boolean"),
        decision_reason=["opted out of contact", "below minimum value", *["ok"] * 3, "active"],
    )
    result = measures(frame)
    assert result.loc["vip", ["measure", "skipped"]].tolist() == ["", "opted out of contact"]
    assert result.loc["small", "skipped"] == "not worth winning back (below minimum value)"
    assert result.loc["small", "cost"] == 0.0


def test_a_preferred_channel_is_used_where_the_measure_allows_it():
    frame = table(preferred_channel=["Besuch", "E-Mail", "Brief", "E-Mail", "", "Telefon"])
    result = measures(frame)
    assert result["channel"].to_dict() == {
        "vip": "visit",  # phone, visit allowed
        "small": "letter",  # the complaint measure allows only letters
        "shrink": "email",  # e-mail only, whatever is preferred
        "plain": "email",  # default: letter, e-mail allowed
        "c": "",
        "active": "",
    }


def test_preferred_channels_can_be_ignored():
    off = rules(PLAYBOOK + "contact:\n  respect_preferred_channel: false\n")
    frame = table(preferred_channel=["Besuch", "", "", "E-Mail", "", ""])
    result = measures(frame, rules=off)
    assert result.loc[["vip", "plain"], "channel"].tolist() == ["phone", "letter"]


def test_customers_contacted_within_the_gap_are_skipped():
    contacts = pd.DataFrame(
        {"date": pd.to_datetime(["2025-10-01", "2025-01-01"]), "campaign": ["autumn", "winter"]},
        index=pd.Index(["vip", "plain"], name="customer_id"),
    )
    result = measures(table(), last_contacts=contacts, today=dt.date(2025, 11, 2))
    assert result.loc["vip", "measure"] == ""
    assert result.loc["vip", "skipped"] == (
        "contacted 2025-10-01 (campaign autumn), within contact.min_gap 90d; "
        "next contact from 2025-12-30"
    )
    assert result.loc["plain", "measure"] == "default"  # ten months ago


def test_summary_notes_count_the_skipped_by_reason():
    frame = table(opt_out=[True, False, False, False, False, False])
    planned = pd.concat([frame, measures(frame).reset_index(drop=True)], axis=1)
    (note,) = summary_notes(planned, rules())
    assert note == (
        "playbook: 3 of 5 leaving customer(s) get a measure (letter 2, email 1); "
        "skipped: 1 opted out, 1 measure says no contact"
    )


def test_a_playbook_naming_an_unknown_trigger_is_refused():
    broken = rules(PLAYBOOK.replace("trigger: smaller", "trigger: smallr"))
    with pytest.raises(RulesError, match="smallr"):
        measures(table(), rules=broken)


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("playbook: {default: {offer: {kind: discount}}}", "a discount needs percent"),
        ("playbook: {default: {channel: fax}}", "playbook.default.channel"),
        ("playbook: {rules: [{id: a}, {id: a}]}", "used twice"),
        ("playbook: {rules: [{id: a, when: {reason: pricey}}]}", "reason"),
        ("playbook: {rules: [{id: a, when: {colour: red}}]}", "unknown key 'colour'"),
    ],
)
def test_playbook_mistakes_name_the_line(yaml, message):
    with pytest.raises(RulesError, match=message) as error:
        rules(yaml)
    assert "test rules, line 1" in str(error.value)


def test_channel_words_in_german_and_english():
    words = pd.Series(["Brief", "E-Mail", "telefon", " Besuch ", "mail", "phone", "Fax", None])
    assert normalise_channel(words).tolist() == [
        "letter",
        "email",
        "phone",
        "visit",
        "email",
        "phone",
        "",
        "",
    ]


@settings(max_examples=25)  # 720 orders exist; a few show the point
@given(st.permutations(range(6)))
def test_row_order_does_not_change_anyones_measure(order):
    frame = table().iloc[list(order)].reset_index(drop=True)
    assert measures(frame, rules=RULES)["measure"].to_dict() == EXPECTED


RULES = rules()
EXPECTED = measures(table(), rules=RULES)["measure"].to_dict()
