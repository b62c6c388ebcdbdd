"""`winback scan` as a library call: files in, one row per customer out.

`run_scan` loads the exports and reduces them to facts (`order_facts`, a
group of customers at a time, so large exports fit in memory), runs the triggers,
scores value and decides who is worth winning back. It returns a
`ScanResult` (the customer table with stable columns, a summary, the
rejects and notes for people); it prints nothing. The column order of the
table is the documented output contract of every format.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from winback_cli.clv import SCORE_COLUMNS, empty_scores, preload_maths, rounded, try_fit_clv
from winback_cli.customers import Customers, load_customers
from winback_cli.errors import RulesError
from winback_cli.load import (
    Orders,
)
from winback_cli.memory import release_free_memory
from winback_cli.money import money_formatter
from winback_cli.order_facts import order_facts
from winback_cli.parallel import OrderedPool
from winback_cli.playbook import PLAN_COLUMNS, plan_for_scan, reads_fired_triggers
from winback_cli.reasons import data_signals
from winback_cli.rules import Rules
from winback_cli.slices import Progress
from winback_cli.trigger_text import fired_texts
from winback_cli.triggers import evaluate
from winback_cli.value import abc_segments, basis_values, decide, value_score

# The stable output columns, in order; customer-file columns follow them.
CORE_COLUMNS = (
    "customer_id",
    "name",
    "status",
    "triggers",
    "evidence",
    "segment",
    "value_score",
    "worth_winning_back",
    "decision_reason",
    *PLAN_COLUMNS,
    "strategic",
    "opt_out",
    "first_order",
    "last_order",
    "days_since_last_order",
    "orders",
    "order_days",
    "revenue_total",
    "revenue_12m",
    "revenue_12m_peak",
    "revenue_per_year",
    "margin_total",
    "margin_12m",
    "margin_per_year",
    "aov",
    "tenure_years",
    "returns",
    "returns_value",
    "median_gap_days",
    *SCORE_COLUMNS,
)


@dataclass(frozen=True)
class ScanOptions:
    """What to scan and how; the CLI builds this from its arguments."""

    orders: tuple[str, ...]
    rules: Rules
    rules_source: str
    customers: str | None = None
    as_of: dt.date | None = None
    today: dt.date | None = None
    ledger: Path | None = None  # contact ledger for the frequency cap
    feedback: str | None = None  # survey / sales-notes file with churn reasons
    keep_rows: bool = False  # keep the order rows in the result (the report needs them)
    progress: Progress | None = None  # called with (bytes, rows) as the orders are read


@dataclass(frozen=True)
class ScanSummary:
    customers: int
    churned: int
    at_risk: int
    active: int
    revenue_12m_leaving: float
    revenue_per_year_leaving: float
    worth_winning_back: int


@dataclass(frozen=True)
class ScanResult:
    table: pd.DataFrame  # every customer, ranked by value
    summary: ScanSummary
    as_of: dt.date
    orders: Orders
    customers: Customers | None
    notes: tuple[str, ...]  # warnings and remarks for people, in order
    signals: pd.DataFrame  # probable reasons from the orders, indexed by customer id

    @property
    def rejects(self) -> pd.DataFrame:
        parts = [self.orders.rejects]
        if self.customers is not None:
            parts.append(self.customers.rejects)
        return pd.concat(parts, ignore_index=True)


def select(table: pd.DataFrame, status: str, top: int | None) -> pd.DataFrame:
    """Rows with the wanted status (`leaving` = churned and at risk), first `top`."""
    if status == "leaving":
        table = table.loc[table["status"] != "active"]
    elif status != "all":
        table = table.loc[table["status"] == status]
    return table.head(top) if top else table


def run_scan(options: ScanOptions) -> ScanResult:
    """Load, compute facts, trigger, score; see the module docstring."""
    rules = options.rules
    maths = preload_maths() if rules.clv.enabled else None
    try:
        customers = load_customers(options.customers, rules) if options.customers else None
        facts, ids, orders = order_facts(options)
    finally:  # before the fit, and before an error could end the process mid-import
        if maths is not None:
            maths.join()
    release_free_memory()  # what reading the orders freed; the phases below start lower
    notes = [*orders.warnings, *(customers.warnings if customers else ())]
    as_of = facts.as_of
    people = _people(ids, customers)
    with OrderedPool() as pool:
        # The fit is numpy and scipy work, which releases the GIL: the probable reasons
        # and the triggers that do not read its scores are computed meanwhile.
        fitting = pool.submit(_lifetime_value, facts, rules)
        signals = data_signals(facts, ids, rules)
        evaluation = evaluate(
            rules.triggers,
            facts,
            people,
            customer_source=customers.source if customers else None,
            money=money_formatter(rules.locale, rules.currency),
            clv=lambda: fitting.result()[0],
        )
        scores, clv_notes = fitting.result()
    notes.extend(clv_notes)
    notes.extend(evaluation.skipped)
    if scores is None:
        scores = empty_scores(len(ids))
    only_returns = int((~facts.customers["has_order"]).sum())
    if only_returns:
        notes.append(
            f"{only_returns} customer(s) have only returns/credit notes before the "
            "as-of date and were not scanned"
        )
    with OrderedPool() as pool:
        # The trigger texts are made on a second thread while the playbook runs, which
        # holds the GIL; the playbook waits for them only if its rules ask which fired.
        table, rows, texts = _assemble(facts, ids, people, evaluation, rules, rounded(scores), pool)
        if customers is not None:
            notes.extend(_coverage_notes(ids, customers))
        feedback = None
        if options.feedback:
            from winback_cli.reasons import load_feedback

            feedback, feedback_notes = load_feedback(options.feedback, rules)
            notes.extend(feedback_notes)
        if reads_fired_triggers(rules):
            table = _with_texts(table, texts)
        table, more = plan_for_scan(
            table,
            rules,
            signals.iloc[rows],  # in the table's order: no lookup by id needed
            as_of,
            options.rules_source,
            options.today,
            ledger=options.ledger,
            feedback=feedback,
        )
        table = _with_texts(table, texts)
    notes.extend(more)
    return ScanResult(
        table, _summarise(table), as_of.date(), orders, customers, tuple(notes), signals
    )


def _lifetime_value(facts, rules: Rules) -> tuple[pd.DataFrame | None, list[str]]:
    """Per-customer CLV scores, or None (with a note) when off or not fittable; the notes."""
    if not rules.clv.enabled:
        result, more = None, ()
    else:
        result, more = try_fit_clv(facts, rules.clv)
    notes = list(more)
    if result is None and rules.value.min_clv is not None:
        notes.append("value.min_clv was not applied: there is no lifetime value for this scan")
    return (None if result is None else result.scores), notes


def _people(ids: pd.Index, customers: Customers | None) -> pd.DataFrame:
    """Customer-file columns aligned to the facts rows; `_known` marks a match."""
    if customers is None:
        return pd.DataFrame({"_known": np.zeros(len(ids), dtype=bool)})
    frame = customers.frame.drop(columns=["_row"], errors="ignore")
    aligned = frame.reindex(ids.astype("str"))
    aligned["_known"] = ids.isin(frame.index)
    return aligned.reset_index(drop=True)


def _display_name(people: pd.DataFrame) -> pd.Series:
    """Company, else first + last name, else the `name` column."""
    empty = pd.Series("", index=people.index, dtype="str")
    if not any(column in people for column in ("company", "first_name", "last_name", "name")):
        return empty

    def text(column: str) -> pd.Series:
        return people[column].fillna("").astype("str").str.strip() if column in people else empty

    person = (text("first_name") + " " + text("last_name")).str.strip()
    person = person.where(person != "", text("name"))
    return text("company").where(text("company") != "", person)


def _assemble(
    facts, ids, people, evaluation, rules: Rules, scores, pool: OrderedPool
) -> tuple[pd.DataFrame, np.ndarray, Future]:
    """The customers with an order, most valuable first; their rows; their trigger texts.

    The table has every column but `triggers` and `evidence`, whose texts are
    made on `pool` (`_with_texts` adds them). The rows are positions in the
    facts, in the table's order. Segments and value scores are worked out over
    all customers, as before the ranking; the texts are made in the ranked
    order, so they are never reordered.
    """
    if rules.value.basis == "margin_per_year" and not facts.has_cost:
        raise RulesError(
            "value.basis is margin_per_year, but the orders have no cost column. Fix: map "
            "one under columns: cost, or use basis: revenue_per_year"
        )
    table = pd.concat([facts.customers, scores.set_axis(facts.customers.index)], axis=1)
    table.insert(0, "customer_id", ids.array if ids.dtype == "str" else ids.to_numpy())
    table["name"] = _display_name(people)
    table["status"] = evaluation.status
    for column in ("strategic", "opt_out"):
        table[column] = people[column].fillna(False).astype(bool) if column in people else False
    if "churn_reason" in people:
        table["churn_reason"] = people["churn_reason"].fillna("").astype("str")
    # Sorting for the segments, the value score and the ranking, then the trigger
    # texts beside the other columns: numpy and Arrow work, which releases the GIL.
    basis = basis_values(table, rules.value)
    segments = pool.submit(abc_segments, basis, rules.value.segments)
    table["value_score"] = value_score(table, rules.value, facts.has_cost)
    kept = np.flatnonzero(table["has_order"].to_numpy())
    rows = kept[_ranking(table[["value_score", "customer_id"]].iloc[kept])]
    texts = pool.submit(fired_texts, evaluation, rows)
    table["segment"] = segments.result()
    table = table.drop(columns=["has_order"]).take(rows).reset_index(drop=True)
    worth, reason = decide(table, table["status"], rules)
    table["worth_winning_back"] = worth
    table["decision_reason"] = reason
    extra = [c for c in people.columns if not c.startswith("_") and c not in table.columns]
    for column in extra:
        table[column] = people[column].to_numpy()[rows]
    money = [c for c in table.columns if c.startswith(("revenue", "margin")) or c == "aov"]
    table[money] = table[money].round(2)
    table[["returns_value", "tenure_years"]] = table[["returns_value", "tenure_years"]].round(2)
    core = [c for c in CORE_COLUMNS if c in table.columns]
    return table[[*core, *[c for c in table.columns if c not in core]]], rows, texts


def _with_texts(table: pd.DataFrame, texts: Future) -> pd.DataFrame:
    """`table` with the `triggers` and `evidence` columns after `status`, once made."""
    if "triggers" in table.columns:
        return table
    triggers, evidence = texts.result()
    at = table.columns.get_loc("status") + 1
    table.insert(at, "triggers", triggers)
    table.insert(at + 1, "evidence", evidence)
    return table


def _ranking(table: pd.DataFrame) -> np.ndarray:
    """Row positions, most valuable first; ties by customer id so output is stable.

    Arrow sorts (stably, missing scores last, ids by code point) as pandas
    would, in a fraction of the time.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = pa.table(
        {
            "score": pa.array(table["value_score"], from_pandas=True),
            "id": pa.array(table["customer_id"], from_pandas=True),
        }
    )
    order = pc.sort_indices(keys, sort_keys=[("score", "descending"), ("id", "ascending")])
    return order.to_numpy()


def _coverage_notes(ids: pd.Index, customers: Customers) -> list[str]:
    notes = []
    unknown = int((~ids.isin(customers.frame.index)).sum())
    if unknown:
        notes.append(
            f"{unknown} customer(s) with orders are not in {customers.source}; "
            "they are scanned without names, opt-outs or contracts"
        )
    silent = int((~customers.frame.index.isin(ids)).sum())
    if silent:
        notes.append(
            f"{silent} customer(s) in {customers.source} have no orders before the "
            "as-of date and were not scanned"
        )
    return notes


def _summarise(table: pd.DataFrame) -> ScanSummary:
    counts = table["status"].value_counts()
    leaving = table["status"] != "active"
    return ScanSummary(
        customers=len(table),
        churned=int(counts.get("churned", 0)),
        at_risk=int(counts.get("at_risk", 0)),
        active=int(counts.get("active", 0)),
        revenue_12m_leaving=float(table.loc[leaving, "revenue_12m"].sum()),
        revenue_per_year_leaving=float(table.loc[leaving, "revenue_per_year"].sum()),
        worth_winning_back=int(table["worth_winning_back"].fillna(False).sum()),
    )
