"""Why customers leave: one reason category per leaving customer, with its source and evidence.

Reasons come, strongest first, from a feedback file (`--feedback F`: customer
id, reason, note, date; the latest entry per customer wins), the customer
file's `churn_reason` column, a fired trigger mapped to a reason in the
rules (`reasons.from_triggers`), and signals in the orders, reported as
`probable`: a rising share of returns points to `quality`, a shrinking
basket to `price`. Customers with none of these get `unknown`. Reasons such
as `moved` or `closed` (`value.not_worth_reasons`) make a win-back not worth
it. Pure functions over one row per customer; the order signals are a
vectorised group-by over the order rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from winback_cli.arrowtext import concat, percents, place, str_series
from winback_cli.columns import map_columns, normalise_header
from winback_cli.errors import ColumnError, InputError
from winback_cli.facts import Facts
from winback_cli.money import money_formatter
from winback_cli.rules import Rules
from winback_cli.value import REASON_WORDS
from winback_cli.vocab import normalise_reason

REASON_COLUMNS = ("reason", "reason_source", "reason_evidence")
REASON_HEADERS = ("reason", "grund", "churn reason", "kündigungsgrund", "abwanderungsgrund")
NOTE_HEADERS = ("note", "notes", "comment", "remark", "notiz", "bemerkung", "kommentar", "text")
DATE_HEADERS = ("date", "feedback date", "answered", "datum", "antwortdatum", "erfasst am")


def load_feedback(path: str, rules: Rules) -> tuple[pd.DataFrame, list[str]]:
    """Read a feedback file: the latest reason per customer, and notes for people.

    Returns a frame indexed by customer id with `reason` (a category), `note`
    and `date` (missing when the file has no date column).
    """
    from winback_cli.dates import parse_dates
    from winback_cli.tables import ROW, read_table, require_header

    raw = read_table(path)
    require_header(raw)
    mapping = map_columns(
        raw.headers,
        source=raw.source,
        wanted=("customer_id", "churn_reason"),
        required=("customer_id",),
        mapping=rules.columns,
        profile="generic",
    )
    frame = raw.frame
    found = {normalise_header(h): h for h in raw.headers if h not in mapping.found.values()}
    reason_header = mapping.found.get("churn_reason") or next(
        (found[k] for k in map(normalise_header, REASON_HEADERS) if k in found), None
    )
    if reason_header is None:
        raise ColumnError(
            f"{raw.source}: no reason column (reason, Grund, churn_reason); headers found: "
            f"{', '.join(raw.headers)}. Fix: name the column 'reason' or map churn_reason "
            "under columns: in the rules"
        )
    found = {k: h for k, h in found.items() if h != reason_header}
    ids = frame[mapping.found["customer_id"]].astype("str").str.strip()
    text = frame[reason_header].astype("str").str.strip()
    note_header = next((found[k] for k in map(normalise_header, NOTE_HEADERS) if k in found), None)
    date_header = next((found[k] for k in map(normalise_header, DATE_HEADERS) if k in found), None)
    notes = list(raw.warnings)
    result = pd.DataFrame(
        {
            "customer_id": ids,
            "reason": normalise_reason(text),
            "note": frame[note_header].astype("str").str.strip() if note_header else "",
            "date": pd.NaT,
            "row": frame[ROW],
        }
    )
    if date_header is not None:
        dates = parse_dates(
            frame[date_header],
            date_format=rules.date_format,
            source=f"{raw.source}, '{date_header}'",
        )
        result["date"] = dates.values
        bad = (dates.problems != "") & (frame[date_header].astype("str").str.strip() != "")
        if bad.any():
            notes.append(
                f"{raw.source}: {int(bad.sum())} feedback date(s) could not be read "
                f"(first in row {int(result.loc[bad, 'row'].iloc[0])}); "
                "those entries count as oldest"
            )
    usable = (ids != "") & (text != "")
    if (~usable).any():
        notes.append(f"{raw.source}: {int((~usable).sum())} row(s) without customer id or reason")
    unknown = usable & (result["reason"] == "unknown") & (text.str.casefold() != "unknown")
    if unknown.any():
        words = ", ".join(sorted(text[unknown].unique())[:5])
        notes.append(
            f"{raw.source}: reasons not understood ({words}); read as 'unknown'. Use one of "
            "price, quality, service, complaint, competitor, moved, closed, no_need"
        )
    # Latest date wins; among equal or missing dates, the later row.
    latest = (
        result.loc[usable]
        .sort_values(["date", "row"], na_position="first", kind="stable")
        .drop_duplicates("customer_id", keep="last")
    )
    if latest.empty:
        raise InputError(f"{raw.source}: no feedback rows with a customer id and a reason")
    return latest.set_index("customer_id")[["reason", "note", "date"]], notes


def data_signals(facts: Facts, customer_ids: pd.Index, rules: Rules) -> pd.DataFrame:
    """Probable reasons from the order facts: `probable` and `evidence`, indexed by customer id.

    Compared are the customer's last `reasons.window` of ordering (ending at
    their last order) and the window before it, so a customer who stopped
    months ago is judged by how they bought before they stopped.
    """
    settings = rules.reasons
    sums = facts.reasons
    if sums is None or facts.reasons_days != settings.window.approx_days:
        raise ValueError(
            f"the facts hold no reason sums for {settings.window}; compute them with "
            "FactNeeds.from_rules(rules)"
        )
    bought, orders, returned = sums.value, sums.orders.astype(float), sums.returned
    share = np.divide(returned, bought, out=np.zeros(bought.shape), where=bought > 0)
    quality = (share[0] > settings.returns_share_above) & (share[0] >= 2 * share[1])
    aov = np.divide(bought, orders, out=np.zeros(bought.shape), where=orders > 0)
    enough = (orders[0] >= 2) & (orders[1] >= 2)
    price = enough & (aov[1] > 0) & (aov[0] < settings.basket_below * aov[1]) & ~quality
    money = money_formatter(rules.locale, rules.currency).column
    n = len(customer_ids)
    label = f"the last {settings.window} of ordering"
    # Only flagged customers get text, made a column at a time; the two sets are disjoint.
    returns = concat(
        "returns were ",
        percents(share[0, quality]),
        f" of purchases in {label}, ",
        percents(share[1, quality]),
        " before",
    )
    prices = concat(
        "average order ", money(aov[0, price]), f" in {label}, ", money(aov[1, price]), " before"
    )
    evidence = place([(np.flatnonzero(quality), returns), (np.flatnonzero(price), prices)], n)
    probable = pa.array(["", "price", "quality"], pa.large_string()).take(price + 2 * quality)
    index = pd.Index(customer_ids.astype("str"), name="customer_id")
    return pd.DataFrame(
        {"probable": str_series(probable, index), "evidence": str_series(evidence, index)},
        index=index,
    )


def _trigger_evidence(evidence: pd.Series, trigger_id: str) -> pd.Series:
    """The text after `trigger_id: ` in a scan row's `evidence` ('a: … | b: …'), else ''."""
    prefix = trigger_id + ": "
    return (
        evidence.fillna("")
        .astype("str")
        .map(
            lambda text: next(
                (part[len(prefix) :] for part in text.split(" | ") if part.startswith(prefix)), ""
            )
        )
    )


def fired_trigger(triggers: pd.Series, trigger_id: str) -> np.ndarray:
    """Rows whose `triggers` ('a; b') name `trigger_id`, without splitting every row.

    Trigger ids hold neither ';' nor spaces, so '; id; ' is found in '; a; b; '
    exactly when `id` is one of the names.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(triggers.fillna("").astype("str"), pa.large_string(), from_pandas=True)
    separator, empty = pa.scalar("; ", pa.large_string()), pa.scalar("", pa.large_string())
    padded = pc.binary_join_element_wise(separator, text, separator, empty)
    return pc.match_substring(padded, f"; {trigger_id}; ").to_numpy(zero_copy_only=False)


def assign_reasons(
    table: pd.DataFrame,
    rules: Rules,
    signals: pd.DataFrame,
    feedback: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """`reason`, `reason_source` and `reason_evidence` for every row of the scan table.

    Active customers get empty reasons: nobody asks why a customer stays. The
    first source with a reason wins; its evidence text is made only for the
    rows it wins.
    """
    index = table.index
    leaving = (table["status"] != "active").to_numpy()
    decided = ~leaving
    reason, source, evidence = [], [], []  # (rows, texts) of each source that has some
    for given, label, text in _reason_candidates(table, rules, signals, feedback):
        rows = np.flatnonzero(~decided & (given != "").to_numpy(dtype=bool))
        if len(rows):
            reason.append((rows, given.iloc[rows]))
            source.append((rows, label))
            evidence.append((rows, text(rows)))
            decided[rows] = True
    reason.append((np.flatnonzero(~decided), "unknown"))
    n = len(index)
    columns = {"reason": reason, "reason_source": source, "reason_evidence": evidence}
    return pd.DataFrame(
        {name: str_series(place(pieces, n), index) for name, pieces in columns.items()},
        index=index,
    )


def _reason_candidates(table, rules: Rules, signals: pd.DataFrame, feedback) -> list:
    """(reason per row, source label, evidence of given rows), strongest source first."""
    index = table.index
    ids = table["customer_id"].astype("str")
    signals = signals.reindex(index)  # rows are picked by position below
    candidates = []
    if feedback is not None and len(feedback):

        def noted(rows: np.ndarray) -> np.ndarray:
            picked = ids.iloc[rows]
            note = picked.map(feedback["note"]).fillna("").astype("str")
            when = picked.map(feedback["date"].dt.strftime("%Y-%m-%d")).fillna("")
            shown = note.where(note != "", "no note") + " (" + when + ")"
            return shown.str.replace(" ()", "").to_numpy(object)

        candidates.append((ids.map(feedback["reason"]).fillna(""), "feedback", noted))
    if "churn_reason" in table:
        given = table["churn_reason"].fillna("").astype("str")
        text = table.get("churn_reason_text", given).fillna("").astype("str")
        candidates.append((given, "customer file", lambda rows: text.iloc[rows]))
    for trigger_id, category in rules.reasons.from_triggers.items():
        hit = fired_trigger(table["triggers"], trigger_id)
        candidates.append(
            (
                pd.Series(np.where(hit, category, ""), index=index),
                f"trigger {trigger_id}",
                lambda rows, wanted=trigger_id: _trigger_evidence(
                    table["evidence"].iloc[rows], wanted
                ).to_numpy(object),
            )
        )
    probable = signals["evidence"]
    candidates.append((signals["probable"], "probable", lambda rows: probable.iloc[rows]))
    return candidates


def apply_not_worth(table: pd.DataFrame, reasons: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """Mark customers whose reason rules a win-back out (`value.not_worth_reasons`)."""
    lost = reasons["reason"].isin(rules.value.not_worth_reasons)
    change = lost & table["worth_winning_back"].fillna(False).astype(bool)
    if not change.any():
        return table
    table = table.copy()
    words = reasons["reason"].map(lambda r: REASON_WORDS.get(r, r))
    table.loc[change, "worth_winning_back"] = False
    table.loc[change, "decision_reason"] = (
        "reason: " + words[change] + " (" + reasons["reason_source"][change] + ")"
    )
    return table
