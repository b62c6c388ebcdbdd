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
import pyarrow as pa
import pyarrow.compute as pc

from winback_cli.arrowtext import place, str_series
from winback_cli.errors import RulesError
from winback_cli.money import money_formatter
from winback_cli.reasons import REASON_COLUMNS, apply_not_worth, assign_reasons, fired_trigger
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


def _matches(when, table: pd.DataFrame, basis: pd.Series) -> np.ndarray:
    mask = pd.Series(True, index=table.index)
    if when.status:
        mask &= table["status"].isin(when.status)
    if when.segment:
        mask &= table["segment"].astype("str").isin(when.segment)
    if when.reason:
        mask &= table["reason"].isin(when.reason)
    if when.trigger:
        mask &= np.logical_or.reduce([fired_trigger(table["triggers"], t) for t in when.trigger])
    if when.strategic is not None:
        mask &= table["strategic"].fillna(False).astype(bool) == when.strategic
    if when.min_value is not None:
        mask &= basis >= when.min_value
    return mask.to_numpy(dtype=bool)


def reads_fired_triggers(rules: Rules) -> bool:
    """Whether `plan` looks at which triggers fired (the `triggers` and `evidence` columns):
    a playbook rule with `when: trigger`, or `reasons.from_triggers`."""
    return bool(rules.reasons.from_triggers) or any(
        rule.when.trigger for rule in rules.playbook.rules
    )


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
    measures = rules.playbook.measures()
    chosen = _choose(table, rules)  # position in `measures` per row
    money = money_formatter(rules.locale, rules.currency)

    def field(get, dtype=object) -> np.ndarray:
        return np.array([get(m) for m in measures.values()], dtype=dtype)[chosen]

    channel = _channels(table, rules, measures, chosen, field(lambda m: m.channel))
    start = pd.Timestamp(as_of).normalize()
    days = [m.wait.after(as_of).normalize() if m.wait else start for m in measures.values()]
    contact_from = pd.DatetimeIndex(days).to_numpy("datetime64[s]")[chosen]
    worth = table["worth_winning_back"].fillna(False).astype(bool).to_numpy()
    names = np.array(list(measures), dtype=object)
    skipped, has_skip = _skips(table, rules, last_contacts, today, worth, channel, names[chosen])
    active = (table["status"] == "active").to_numpy() | ~worth | has_skip
    # Text columns are taken from the few measures' texts, '' after them for blank rows:
    # no Python string per row.
    shown = np.where(active, len(measures), chosen)

    def texts(values: list) -> pd.Series:
        return str_series(pa.array([*values, ""], pa.large_string()).take(shown), index)

    def blank(values: np.ndarray, empty) -> pd.Series:
        values = values.copy()
        values[active] = empty
        return pd.Series(values, index=index, dtype=values.dtype)

    blank_channel = pc.if_else(pa.array(active), "", pa.array(channel, pa.large_string()))
    return pd.DataFrame(
        {
            "measure": texts(list(measures)),
            "channel": str_series(blank_channel, index),
            "offer": texts([offer_label(m.offer, money) for m in measures.values()]),
            "owner": texts([m.owner for m in measures.values()]),
            "cost": blank(field(lambda m: m.cost, float), 0.0),
            "contact_from": blank(contact_from, np.datetime64("NaT")),
            "skipped": str_series(skipped, index),
        },
        index=index,
    )


def _choose(table: pd.DataFrame, rules: Rules) -> np.ndarray:
    """Each row's measure as a position: the first playbook rule that matches, else default."""
    basis = basis_values(table, rules.value)
    chosen = np.full(len(table), len(rules.playbook.rules))
    open_ = np.ones(len(table), dtype=bool)
    for position, rule in enumerate(rules.playbook.rules):
        take = open_ & _matches(rule.when, table, basis)
        chosen[take] = position
        open_ &= ~take
    return chosen


def _channels(table, rules: Rules, measures: dict, chosen, channel: np.ndarray) -> np.ndarray:
    """The measure's channel, or the customer's preferred one where the measure allows it."""
    if not (rules.contact.respect_preferred_channel and "preferred_channel" in table):
        return channel
    preferred = normalise_channel(table["preferred_channel"].astype("str")).to_numpy(object)
    usable = np.zeros(len(table), dtype=bool)
    for position, measure in enumerate(measures.values()):
        rows = np.flatnonzero(chosen == position)
        allowed = [measure.channel, *measure.allow_channels]
        usable[rows] = np.isin(preferred[rows], allowed)
    usable &= (preferred != "") & (channel != "none")
    return np.where(usable, preferred, channel)


def _skips(
    table, rules: Rules, last_contacts, today, worth, channel, chosen
) -> tuple[pa.Array, np.ndarray]:
    """Why a leaving customer gets no measure (the first reason that applies, else ''),
    and where there is one."""
    capped = _last_contact_skips(table, rules, last_contacts, today or dt.date.today())
    reason = table["decision_reason"].astype("str")
    steps = [
        (_flag(table, "opt_out"), lambda rows: "opted out of contact"),
        (
            ~worth,
            lambda rows: "not worth winning back (" + reason.iloc[rows].to_numpy(object) + ")",
        ),
        (channel == "none", lambda rows: "playbook measure '" + chosen[rows] + "': no contact"),
        ((capped != "").to_numpy(), lambda rows: capped.iloc[rows].to_numpy(object)),
    ]
    pieces = []
    open_ = (table["status"] != "active").to_numpy(copy=True)
    leaving = open_.copy()
    for mask, text in steps:
        rows = np.flatnonzero(open_ & mask)
        if len(rows):
            pieces.append((rows, text(rows)))
            open_[rows] = False
    return place(pieces, len(table)), leaving & ~open_


def _flag(table: pd.DataFrame, column: str) -> np.ndarray:
    if column not in table:
        return np.zeros(len(table), dtype=bool)
    return table[column].fillna(False).astype(bool).to_numpy()


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
    aligned = _align(signals, table["customer_id"].astype("str")).set_axis(table.index)
    reasons = assign_reasons(table, rules, aligned, feedback)
    table = apply_not_worth(table, reasons, rules)
    table = pd.concat([table, reasons], axis=1)
    measures = assign_measures(table, rules, pd.Timestamp(as_of), last_contacts, today)
    table = pd.concat([table, measures], axis=1)
    position = list(table.columns).index("decision_reason") + 1
    rest = [c for c in table.columns if c not in PLAN_COLUMNS]
    ordered = [*rest[:position], *PLAN_COLUMNS, *rest[position:]]
    return table[ordered], summary_notes(table, rules)


def _align(signals: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    """The signals row of each id, '' where there is none (`reindex`, with Arrow's hashing).

    Signals already in the order of `ids` (as the scan hands them over) are taken as they are.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if signals.empty:
        return signals.reindex(ids).fillna("").reset_index(drop=True)
    known = pa.array(signals.index.astype("str"), pa.large_string())
    wanted = pa.array(ids, pa.large_string(), from_pandas=True)
    if known.equals(wanted) and signals.index.is_unique:
        return signals.reset_index(drop=True)
    found = pc.index_in(wanted, value_set=known)
    position = pc.fill_null(found, -1).to_numpy()
    aligned = signals.iloc[np.maximum(position, 0)].reset_index(drop=True)
    return aligned.mask(pd.Series(position < 0), "") if (position < 0).any() else aligned


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
