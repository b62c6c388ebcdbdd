"""Decide what to do for each leaving customer: the playbook's measure, consent and frequency.

The `playbook:` rules are tried in order and the first whose `when` holds
gives the measure (channel, offer, template, owner, cost, wait); the
default measure covers everyone else. Only leaving customers worth winning
back get a measure. A customer who opted out, whose measure says `none`, or
who was contacted within `contact.min_gap` (the ledger says when) is
skipped, with the reason in `skipped`. A preferred channel is used when the
measure allows it. `plan` adds reasons and measures to the scan table;
everything here is a pure function of one row per customer.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from winback_cli.errors import RulesError
from winback_cli.money import money_formatter
from winback_cli.reasons import REASON_COLUMNS, apply_not_worth, assign_reasons
from winback_cli.rules import Rules
from winback_cli.value import basis_values
from winback_cli.vocab import fold

MEASURE_COLUMNS = ("measure", "channel", "offer", "owner", "cost", "contact_from", "skipped")
PLAN_COLUMNS = (*REASON_COLUMNS, *MEASURE_COLUMNS)
CHANNEL_WORDS = {
    "letter": ("letter", "brief", "post", "postal", "mail (post)", "schreiben", "anschreiben"),
    "email": ("email", "e-mail", "e mail", "mail", "newsletter", "elektronisch"),
    "phone": ("phone", "telefon", "call", "anruf", "tel", "tel.", "telephone", "mobil", "handy"),
    "visit": ("visit", "besuch", "field visit", "außendienst", "vor ort", "persönlich"),
}
_CHANNEL_OF = {word: key for key, words in CHANNEL_WORDS.items() for word in words}


def normalise_channel(values: pd.Series) -> pd.Series:
    """Channel words (`Brief`, `E-Mail`, `Telefon`, `Besuch`) -> letter/email/phone/visit or ''.

    >>> normalise_channel(pd.Series(["Brief", "E-Mail", "Telefon", "Besuch", "Fax"])).tolist()
    ['letter', 'email', 'phone', 'visit', '']
    """
    return fold(values.fillna("")).map(_CHANNEL_OF).fillna("").astype("str")


def offer_label(offer, money) -> str:
    """A short English description of an offer for tables and the manifest."""
    return {
        "none": "",
        "discount": f"{(offer.percent or 0):.0%} discount",
        "bonus": f"bonus {money(offer.amount or 0)}",
        "free_service": f"free service: {offer.text}",
        "fix": f"fix: {offer.text}",
        "manager_call": "personal call by a manager",
    }[offer.kind]


def _matches(when, table: pd.DataFrame, basis: pd.Series, fired: pd.Series) -> pd.Series:
    mask = pd.Series(True, index=table.index)
    if when.status:
        mask &= table["status"].isin(when.status)
    if when.segment:
        mask &= table["segment"].astype("str").isin(when.segment)
    if when.reason:
        mask &= table["reason"].isin(when.reason)
    if when.trigger:
        wanted = set(when.trigger)
        mask &= fired.map(lambda ids: not wanted.isdisjoint(ids))
    if when.strategic is not None:
        mask &= table["strategic"].fillna(False).astype(bool) == when.strategic
    if when.min_value is not None:
        mask &= basis >= when.min_value
    return mask


def _check_triggers(rules: Rules) -> None:
    known = {trigger.id for trigger in rules.triggers}
    for rule in rules.playbook.rules:
        unknown = [t for t in rule.when.trigger if t not in known]
        if unknown:
            raise RulesError(
                f"playbook rule '{rule.id}': when.trigger names {', '.join(unknown)}, which is "
                f"not a trigger id of these rules (known: {', '.join(sorted(known)) or 'none'})"
            )


def _last_contact_skips(table, rules: Rules, last_contacts, today: dt.date) -> pd.Series:
    """Skip text for customers contacted within `contact.min_gap` before `today`."""
    skip = pd.Series("", index=table.index, dtype=object)
    gap = rules.contact.min_gap
    if gap is None or last_contacts is None or last_contacts.empty:
        return skip
    ids = table["customer_id"].astype("str")
    last = pd.to_datetime(ids.map(last_contacts["date"]))
    campaign = ids.map(last_contacts["campaign"]).fillna("").astype("str")
    next_allowed = last + pd.DateOffset(**_offset(gap))
    recent = next_allowed > pd.Timestamp(today)
    text = (
        "contacted "
        + last.dt.strftime("%Y-%m-%d").fillna("")
        + " (campaign "
        + campaign
        + f"), within contact.min_gap {gap}; next contact from "
        + next_allowed.dt.strftime("%Y-%m-%d").fillna("")
    )
    return skip.where(~recent, text)


def _offset(duration) -> dict[str, int]:
    name = {"d": "days", "w": "weeks", "mo": "months", "y": "years"}[duration.unit]
    return {name: duration.amount}


def assign_measures(
    table: pd.DataFrame,
    rules: Rules,
    as_of: pd.Timestamp,
    last_contacts: pd.DataFrame | None = None,
    today: dt.date | None = None,
) -> pd.DataFrame:
    """The measure columns for every row of a table that already has `reason`."""
    _check_triggers(rules)
    index = table.index
    basis = basis_values(table, rules.value)
    fired = table["triggers"].fillna("").astype("str").str.split("; ", regex=False)
    chosen = pd.Series("default", index=index, dtype=object)
    open_ = pd.Series(True, index=index)
    for rule in rules.playbook.rules:
        take = open_ & _matches(rule.when, table, basis, fired)
        chosen[take] = rule.id
        open_ &= ~take
    measures = rules.playbook.measures()
    money = money_formatter(rules.locale, rules.currency)

    def field(get) -> pd.Series:
        return chosen.map({key: get(m) for key, m in measures.items()})

    channel = field(lambda m: m.channel)
    if rules.contact.respect_preferred_channel and "preferred_channel" in table:
        preferred = normalise_channel(table["preferred_channel"].astype("str"))
        allowed = chosen.map({k: {m.channel, *m.allow_channels} for k, m in measures.items()})
        usable = [
            p != "" and c != "none" and p in a
            for p, c, a in zip(preferred, channel, allowed, strict=True)
        ]
        channel = channel.where(~np.array(usable, dtype=bool), preferred)
    wait = field(lambda m: str(m.wait) if m.wait else "")
    contact_from = pd.Series(pd.Timestamp(as_of).normalize(), index=index)
    for text in set(wait) - {""}:
        step = next(m.wait for m in measures.values() if m.wait and str(m.wait) == text)
        contact_from[wait == text] = step.after(as_of).normalize()
    worth = table["worth_winning_back"].fillna(False).astype(bool)
    leaving = (table["status"] != "active") & worth
    skipped = pd.Series("", index=index, dtype=object)
    capped = _last_contact_skips(table, rules, last_contacts, today or dt.date.today())
    opted = table.get("opt_out", pd.Series(False, index=index)).fillna(False).astype(bool)
    steps = [
        (opted, pd.Series("opted out of contact", index=index)),
        (~worth, "not worth winning back (" + table["decision_reason"].astype("str") + ")"),
        (channel == "none", "playbook measure '" + chosen + "': no contact"),
        (capped != "", capped),
    ]
    for mask, text in steps:
        take = mask & (skipped == "") & (table["status"] != "active")
        skipped[take] = text[take]
    active = ~leaving | (skipped != "")
    columns = {
        "measure": chosen,
        "channel": channel,
        "offer": field(lambda m: offer_label(m.offer, money)),
        "owner": field(lambda m: m.owner),
        "cost": field(lambda m: m.cost).astype(float),
        "contact_from": contact_from.astype("datetime64[s]"),
    }
    result = pd.DataFrame(columns, index=index)
    result.loc[active, ["measure", "channel", "offer", "owner"]] = ""
    result.loc[active, "cost"] = 0.0
    result.loc[active, "contact_from"] = pd.NaT
    result["skipped"] = skipped.astype("str")
    return result


def plan(
    table: pd.DataFrame,
    rules: Rules,
    signals: pd.DataFrame,
    as_of: pd.Timestamp,
    *,
    feedback: pd.DataFrame | None = None,
    last_contacts: pd.DataFrame | None = None,
    today: dt.date | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """The scan table with reasons and measures after `decision_reason`, and notes."""
    table = table.drop(columns=[c for c in PLAN_COLUMNS if c in table.columns])
    aligned = signals.reindex(table["customer_id"].astype("str")).fillna("")
    aligned.index = table.index
    reasons = assign_reasons(table, rules, aligned, feedback)
    table = apply_not_worth(table, reasons, rules)
    table = pd.concat([table, reasons], axis=1)
    measures = assign_measures(table, rules, pd.Timestamp(as_of), last_contacts, today)
    table = pd.concat([table, measures], axis=1)
    position = list(table.columns).index("decision_reason") + 1
    rest = [c for c in table.columns if c not in PLAN_COLUMNS]
    ordered = [*rest[:position], *PLAN_COLUMNS, *rest[position:]]
    return table[ordered], summary_notes(table, rules)


def summary_notes(table: pd.DataFrame, rules: Rules) -> list[str]:
    """How many leaving customers get a measure, by channel, and why the others do not."""
    leaving = table["status"] != "active"
    if not leaving.any():
        return []
    planned = leaving & (table["measure"] != "")
    channels = table.loc[planned, "channel"].value_counts()
    by_channel = ", ".join(f"{name} {count}" for name, count in channels.items())
    text = (
        f"playbook: {int(planned.sum())} of {int(leaving.sum())} leaving customer(s) get a measure"
    )
    text += f" ({by_channel})" if by_channel else ""
    skipped = table.loc[leaving & ~planned, "skipped"].astype("str")
    kinds = {
        "opted out": skipped.str.startswith("opted out"),
        "not worth winning back": skipped.str.startswith("not worth"),
        "measure says no contact": skipped.str.startswith("playbook measure"),
        f"contacted within {rules.contact.min_gap} (contact.min_gap)": skipped.str.startswith(
            "contacted"
        ),
    }
    reasons = [f"{int(mask.sum())} {label}" for label, mask in kinds.items() if mask.any()]
    if reasons:
        text += "; skipped: " + ", ".join(reasons)
    return [text]


def plan_for_scan(
    table: pd.DataFrame,
    rules: Rules,
    signals: pd.DataFrame,
    as_of: pd.Timestamp,
    rules_source: str,
    today: dt.date | None = None,
    ledger: Path | None = None,
    feedback: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """`plan` with the contacts of the ledger (default `winback.db` beside the rules), if any."""
    from winback_cli.ledger import default_ledger_path, last_contacts

    path: Path = ledger or default_ledger_path(rules_source)
    contacts = last_contacts(path) if path.exists() else None
    return plan(
        table, rules, signals, as_of, last_contacts=contacts, today=today, feedback=feedback
    )
