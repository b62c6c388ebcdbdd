"""What churn costs: the figures of `winback report`, computed, not presented.

Losses are dated by re-running the scan's order-based triggers (inactive,
revenue_drop, category_lapse, overdue, basket_shrink, frequency_drop) at
every month end of the period. A customer who is churned now is *lost in
month k* when those triggers first said `churned` at the end of month k and
kept saying so at every later month end: a customer who left and came back
is not a loss. Customers churned now only by a customer-file trigger
(contract, field) or the p_alive model, which the history cannot replay,
are dated by their contract end when the customer file has one, else by
their last order. The churn rate of a month is its losses over the
customers active at its start; for the period, losses over the customers
active at its start plus those who first bought during it. Lost lifetime
value is each lost customer's expected value over `clv.horizon` as the
lifetime-value model fitted at the start of the period saw it. A cohort's
share still active after m months is the share of its customers whose last
order is at least m months after the start of their first-order month.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from winback_cli.durations import Duration
from winback_cli.facts import FactNeeds, compute_facts, trigger_windows
from winback_cli.rules import Rules
from winback_cli.trigger_rules import ORDER_KINDS
from winback_cli.triggers import evaluate

COHORT_MONTHS = (1, 3, 6, 12)


@dataclass(frozen=True)
class ReportFigures:
    as_of: dt.date
    months: int
    headline: dict[str, float]  # figure -> value (counts, shares, money)
    losses: pd.DataFrame  # one row per month of the period
    lost: pd.DataFrame  # one row per customer lost in the period
    reasons: pd.DataFrame
    segments: pd.DataFrame
    cohorts: pd.DataFrame
    has_margin: bool
    has_clv: bool
    notes: tuple[str, ...]


def month_ends(as_of: pd.Timestamp, months: int) -> list[pd.Timestamp]:
    """E_0 … E_months: the period's start, every month end, and the as-of date.

    >>> [str(e.date()) for e in month_ends(pd.Timestamp("2025-11-01"), 2)]
    ['2025-09-01', '2025-10-01', '2025-11-01']
    """
    return [Duration(months - k, "mo").before(as_of) if k < months else as_of
            for k in range(months + 1)]  # fmt: skip


def churned_history(frame: pd.DataFrame, rules: Rules, ends: list[pd.Timestamp]):
    """Per month end: the set of customers with orders, and those churned by order triggers."""
    triggers = [t for t in rules.triggers if t.kind in ORDER_KINDS and t.severity == "churned"]
    windows = trigger_windows(triggers)
    known, churned = [], []
    for end in ends:
        facts, ids = compute_facts(frame, end, FactNeeds(windows=windows))
        has = facts.customers["has_order"].to_numpy()
        people = pd.DataFrame({"_known": np.zeros(len(ids), dtype=bool)})
        fired = np.zeros(len(ids), dtype=bool)
        if triggers:
            evaluation = evaluate(triggers, facts, people, customer_source=None)
            fired = evaluation.fired.to_numpy().any(axis=1)
        known.append(set(ids[has]))
        churned.append(set(ids[has & fired]))
    return known, churned


def lost_months(table: pd.DataFrame, churned: list[set], ends: list[pd.Timestamp]) -> pd.DataFrame:
    """Customers churned now with the month (1…n, 0 = before the period) they were lost."""
    now = table.loc[table["status"] == "churned"].copy()
    n = len(ends) - 1
    month = np.full(len(now), -1)
    dated = np.full(len(now), "", dtype=object)
    ids = now["customer_id"].astype("str").to_numpy()
    for i, cid in enumerate(ids):
        if cid not in churned[n]:
            continue
        k = n
        while k > 0 and cid in churned[k - 1]:
            k -= 1
        month[i], dated[i] = k, "order triggers at month end"
    static = month < 0
    if static.any():
        end = now.get("contract_end", pd.Series(pd.NaT, index=now.index))
        end = pd.to_datetime(end, errors="coerce")
        when = end.where(end.notna() & (end < ends[-1]), now["last_order"])
        dated[static] = np.where(end.notna() & (end < ends[-1]), "contract end", "last order")[
            static
        ]
        position = np.searchsorted(
            np.array(ends[:-1], dtype="datetime64[ns]"),
            when.to_numpy(dtype="datetime64[ns]"),
            side="right",
        )
        month[static] = position[static]
    now["lost_month"] = month
    now["dated_by"] = dated
    return now


def losses_per_month(lost: pd.DataFrame, known, churned, ends) -> pd.DataFrame:
    """Lost customers, customers active at the start, churn rate and lost revenue per month."""
    rows = []
    for k in range(1, len(ends)):
        here = lost.loc[lost["lost_month"] == k]
        active = len(known[k - 1] - churned[k - 1])
        rows.append(
            {
                "month": ends[k - 1].strftime("%Y-%m"),
                "from": ends[k - 1].date(),
                "to": (ends[k] - pd.Timedelta(days=1)).date(),
                "active_at_start": active,
                "lost": len(here),
                "churn_rate": len(here) / active if active else np.nan,
                "lost_revenue_per_year": round(float(here["revenue_per_year"].sum()), 2),
            }
        )
    return pd.DataFrame(rows)


def breakdown(lost: pd.DataFrame, table: pd.DataFrame, by: str) -> pd.DataFrame:
    """Lost (known / probable reason), at risk now and lost revenue, by reason or segment."""
    at_risk = table.loc[table["status"] == "at_risk"]
    source = lost["reason_source"].fillna("").astype("str")
    known = (source != "") & (source != "probable") & (lost["reason"] != "unknown")
    frame = pd.DataFrame(
        {
            by: lost[by].astype("str"),
            "lost": 1,
            "known": known.astype(int),
            "probable": (source == "probable").astype(int),
            "lost_revenue_per_year": lost["revenue_per_year"],
        }
    )
    grouped = frame.groupby(by).sum()
    grouped["at_risk_now"] = at_risk[by].astype("str").value_counts()
    if by == "segment":
        grouped = grouped.reindex(sorted(set(grouped.index) | set(table[by].astype("str"))))
        grouped["customers"] = table[by].astype("str").value_counts()
    grouped = grouped.fillna(0)
    ints = [c for c in ("lost", "known", "probable", "at_risk_now", "customers") if c in grouped]
    grouped[ints] = grouped[ints].astype(int)
    grouped["lost_revenue_per_year"] = grouped["lost_revenue_per_year"].round(2)
    if by == "segment":
        grouped["share_lost"] = grouped["lost"] / grouped["customers"].where(
            grouped["customers"] > 0
        )
        return grouped.reset_index()
    return grouped.sort_values(["lost", "at_risk_now"], ascending=False).reset_index()


def cohorts(table: pd.DataFrame, as_of: pd.Timestamp, limit: int = 36) -> pd.DataFrame:
    """Customers by first-order month; share still ordering 1, 3, 6 and 12 months on.

    A cell stays empty while the cohort is too young to tell.
    """
    first = pd.to_datetime(table["first_order"]).dt.to_period("M").dt.to_timestamp()
    last = pd.to_datetime(table["last_order"])
    frame = pd.DataFrame({"cohort": first, "last": last})
    frame = frame.loc[frame["cohort"] >= Duration(limit, "mo").before(as_of)]
    rows = []
    for start, group in frame.groupby("cohort"):
        row = {"cohort": start.strftime("%Y-%m"), "customers": len(group)}
        for m in COHORT_MONTHS:
            mark = start + pd.DateOffset(months=m)
            row[f"after_{m}m"] = float((group["last"] >= mark).mean()) if mark <= as_of else np.nan
        rows.append(row)
    columns = ["cohort", "customers", *(f"after_{m}m" for m in COHORT_MONTHS)]
    return pd.DataFrame(rows, columns=columns)


def lost_value(frame: pd.DataFrame, start: pd.Timestamp, rules: Rules, ids: pd.Series):
    """Each id's CLV as the model fitted at `start` saw it; None (and why) when not available."""
    from winback_cli.clv import try_fit_clv

    if not rules.clv.enabled:
        return None, "lifetime value is turned off (clv: enabled: false)"
    facts, known = compute_facts(frame, start, FactNeeds(clv_unit_days=rules.clv.unit_days))
    if not len(known):
        return None, f"no orders before {start.date()} to fit the lifetime-value model on"
    result, notes = try_fit_clv(facts, rules.clv)
    if result is None:
        return None, notes[0] if notes else "lifetime value could not be fitted"
    clv = pd.Series(result.scores["clv"].to_numpy(), index=known)
    return ids.map(clv), None


def compute_report(scan, rules: Rules, months: int) -> ReportFigures:
    """Every figure of the report from a finished scan (`scan.run_scan`)."""
    as_of = pd.Timestamp(scan.as_of)
    frame = scan.orders.frame
    if scan.orders.used and frame.empty:
        raise ValueError("compute_report needs the order rows: run the scan with keep_rows=True")
    table = scan.table
    ends = month_ends(as_of, months)
    known, churned = churned_history(frame, rules, ends)
    lost = lost_months(table, churned, ends)
    lost = lost.loc[lost["lost_month"] >= 1]
    notes: list[str] = []
    clv, why = lost_value(frame, ends[0], rules, lost["customer_id"].astype("str"))
    if why:
        notes.append(f"lost lifetime value not shown: {why}")
    lost = lost.assign(
        lost_in=[ends[k - 1].strftime("%Y-%m") for k in lost["lost_month"]],
        clv_at_start=clv if clv is not None else np.nan,
    )
    has_margin = "margin_per_year" in table.columns and table["margin_per_year"].notna().any()
    first = pd.to_datetime(table["first_order"])
    new = int(((first >= ends[0]) & (first < as_of)).sum())
    start_active = len(known[0] - churned[0])
    at_risk = table.loc[table["status"] == "at_risk"]
    headline = {
        "customers now": len(table),
        "active at the start of the period": start_active,
        "new customers in the period": new,
        "lost in the period": len(lost),
        "churn rate": len(lost) / (start_active + new) if start_active + new else np.nan,
        "at risk now": len(at_risk),
        "revenue of the last 12 months at risk": round(float(at_risk["revenue_12m"].sum()), 2),
        "lost annual revenue": round(float(lost["revenue_per_year"].sum()), 2),
        "lost annual margin": round(float(lost["margin_per_year"].sum()), 2)
        if has_margin
        else np.nan,
        "lost lifetime value": round(float(np.nansum(lost["clv_at_start"])), 2)
        if clv is not None
        else np.nan,
    }
    return ReportFigures(
        as_of=scan.as_of,
        months=months,
        headline=headline,
        losses=losses_per_month(lost, known, churned, ends),
        lost=_lost_table(lost, has_margin),
        reasons=breakdown(lost, table, "reason"),
        segments=breakdown(lost, table, "segment"),
        cohorts=cohorts(table, as_of),
        has_margin=bool(has_margin),
        has_clv=clv is not None,
        notes=tuple(notes),
    )


def _lost_table(lost: pd.DataFrame, has_margin: bool) -> pd.DataFrame:
    columns = ["customer_id", "name", "lost_in", "dated_by", "triggers", "segment", "reason",
               "reason_source", "last_order", "revenue_per_year", "clv_at_start"]  # fmt: skip
    if has_margin:
        columns.insert(-1, "margin_per_year")
    out = lost.reindex(columns=columns).sort_values(
        ["lost_in", "revenue_per_year"], ascending=[True, False]
    )
    out["clv_at_start"] = out["clv_at_start"].astype(float).round(2)
    return out.reset_index(drop=True)
