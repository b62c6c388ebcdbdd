"""Load the customer export: one row per customer id, flags and contracts parsed.

Customer files hold names, salutations, languages, opt-outs, contracts and
churn reasons. Ids stay text; yes/no columns, contract words, languages and
reasons are folded onto fixed vocabularies (`vocab`). A repeated id keeps its
first row and the others are rejected with their row; values that are
neither yes nor no are read the safe way (opted out) and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from winback_cli.columns import CUSTOMER_FIELDS, map_columns
from winback_cli.dates import parse_dates
from winback_cli.rejects import RejectLog
from winback_cli.rules import Rules
from winback_cli.tables import FILE, ROW, read_table, require_header


@dataclass(frozen=True)
class Customers:
    """One row per customer id (canonical columns first, any other column kept)."""

    frame: pd.DataFrame
    rejects: pd.DataFrame
    rows_read: int
    source: str
    warnings: tuple[str, ...] = field(default=())


def load_customers(path: str, rules: Rules) -> Customers:
    """Read the customer file: ids as text, flags and contract fields parsed."""
    raw = read_table(path)
    require_header(raw)
    mapping = map_columns(
        raw.headers,
        source=raw.source,
        wanted=CUSTOMER_FIELDS,
        required=("customer_id",),
        mapping=rules.columns,
        profile="generic",
    )
    frame = raw.frame.rename(columns=mapping.rename())
    frame[FILE] = raw.source
    rejects = RejectLog()
    rejects.add_frame(raw.rejects)
    warnings = list(raw.warnings)
    ids = frame["customer_id"].astype("str").str.strip()
    frame["customer_id"] = ids
    no_id = ids == ""
    rejects.add(frame, no_id, "customer_id", ids, "no customer id")
    twice = ids.duplicated(keep="first") & ~no_id
    if twice.any():
        first = frame.groupby("customer_id")[ROW].transform("first").astype("str")
        rejects.add(
            frame,
            twice,
            "customer_id",
            ids,
            "duplicate customer id (first at row " + first + "); the first row is used",
        )
        warnings.append(
            f"{raw.source}: {int(twice.sum())} row(s) repeat a customer id; the first row of "
            "each id is used, see --rejects"
        )
    frame = frame.loc[~(no_id | twice)].copy()
    warnings.extend(_parse_customer_fields(frame, raw.source, rules))
    frame = frame.drop(columns=[FILE]).set_index("customer_id", drop=False)
    frame.index.name = None
    return Customers(frame, rejects.frame(), raw.rows_read, raw.source, tuple(warnings))


def _rows(frame: pd.DataFrame, mask: pd.Series, limit: int = 5) -> str:
    rows = frame.loc[mask, ROW].head(limit).astype("str").tolist()
    more = int(mask.sum()) - len(rows)
    return ", ".join(rows) + (f" and {more} more" if more > 0 else "")


def _parse_customer_fields(frame: pd.DataFrame, source: str, rules: Rules) -> list[str]:
    """Convert flag, date and vocabulary columns in place; return warnings."""
    from winback_cli.vocab import (
        normalise_contract_status,
        normalise_language,
        normalise_reason,
        parse_flags,
    )

    warnings: list[str] = []
    for column, unclear_means in (("opt_out", True), ("strategic", False)):
        if column not in frame.columns:
            continue
        flags, unknown = parse_flags(frame[column])
        if unknown.any():
            warnings.append(
                f"{source}: column '{column}' has values that are neither yes nor no "
                f"(rows {_rows(frame, unknown)}); they are read as "
                f"{'yes' if unclear_means else 'no'} to be safe. Fix: use yes/no or ja/nein"
            )
        frame[column] = flags.where(~unknown, unclear_means).astype(bool)
    if "language" in frame.columns:
        frame["language"] = normalise_language(frame["language"])
    if "contract_status" in frame.columns:
        status, unknown = normalise_contract_status(frame["contract_status"])
        if unknown.any():
            words = ", ".join(sorted(frame.loc[unknown, "contract_status"].unique())[:5])
            warnings.append(
                f"{source}: contract_status words not understood ({words}; rows "
                f"{_rows(frame, unknown)}); use active, cancelled, notice_given or expired"
            )
        frame["contract_status"] = status
    if "contract_end" in frame.columns:
        text = frame["contract_end"].astype("str").str.strip()
        dates = parse_dates(
            text.where(text != "", "2000-01-01"),
            date_format=rules.date_format,
            source=f"{source}, column 'contract_end'",
        )
        bad = (dates.problems != "") & (text != "")
        if bad.any():
            warnings.append(
                f"{source}: contract_end is not a date in rows {_rows(frame, bad)}; "
                "those contract ends are ignored"
            )
        frame["contract_end"] = dates.values.where((text != "") & ~bad)
    if "churn_reason" in frame.columns:
        frame["churn_reason_text"] = frame["churn_reason"].astype("str")
        frame["churn_reason"] = normalise_reason(frame["churn_reason"])
    return warnings
