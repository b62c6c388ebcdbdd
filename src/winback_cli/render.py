"""Turn results into what people see: Rich tables, summaries and notes.

Only this module and `outputs` present results; analysis modules return data.
Customer-supplied text (names, evidence) is passed as `rich.text.Text`, never
as markup, so `[brackets]` in a company name are shown, not interpreted.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from winback_cli.money import money_formatter

STATUS_STYLE = {"churned": "bold red", "at_risk": "yellow", "active": "green"}


def summary_table(summary, as_of, rules, files: Iterable[str]) -> Table:
    """The scan's headline figures."""
    fmt = money_formatter(rules.locale, rules.currency)
    table = Table(title=f"winback scan as of {as_of}", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("figure", justify="right")
    table.add_row("files", Text(", ".join(files)))
    table.add_row("customers scanned", f"{summary.customers:,}")
    table.add_row(Text("churned", style=STATUS_STYLE["churned"]), f"{summary.churned:,}")
    table.add_row(Text("at risk", style=STATUS_STYLE["at_risk"]), f"{summary.at_risk:,}")
    table.add_row(Text("active", style=STATUS_STYLE["active"]), f"{summary.active:,}")
    table.add_row("revenue of the last 12 months at stake", fmt(summary.revenue_12m_leaving))
    table.add_row("annual revenue at stake", fmt(summary.revenue_per_year_leaving))
    table.add_row("worth winning back", f"{summary.worth_winning_back:,}")
    return table


def customer_table(rows: pd.DataFrame, rules, total: int) -> Table:
    """Customers ranked by value, with status, triggers and evidence."""
    fmt = money_formatter(rules.locale, rules.currency)
    shown = f"{len(rows):,} of {total:,}" if len(rows) < total else f"{total:,}"
    table = Table(title=f"customers by value ({shown})", title_justify="left")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("customer", min_width=14, ratio=2)
    table.add_column("status", no_wrap=True)
    table.add_column("seg", justify="center", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("revenue/yr", justify="right", no_wrap=True)
    table.add_column("last order", no_wrap=True)
    table.add_column("why / decision", ratio=5, min_width=24)
    for position, row in enumerate(rows.itertuples(index=False), start=1):
        who = Text(str(row.customer_id), style="bold")
        if row.name:
            who.append("\n" + str(row.name), style="")
        table.add_row(
            str(position),
            who,
            Text(str(row.status), style=STATUS_STYLE.get(row.status, "")),
            str(row.segment),
            f"{row.value_score:.0f}",
            fmt(row.revenue_per_year),
            str(pd.Timestamp(row.last_order).date()),
            _why(row),
        )
    return table


def _why(row) -> Text:
    """One line per fired trigger, then the win-back decision."""
    evidence = str(row.evidence)
    text = Text("\n".join(evidence.split(" | ")) if evidence else "no trigger fired")
    worth = row.worth_winning_back
    if pd.isna(worth):
        return text
    verdict, style = ("win back: ", "green") if worth else ("leave: ", "red")
    text.append("\n" + verdict, style=f"bold {style}")
    text.append(str(row.decision_reason), style="dim")
    return text


def print_notes(console: Console, notes: Iterable[str]) -> None:
    """Warnings and remarks, one per line, without markup."""
    for note in notes:
        console.print(Text("note: ", style="yellow") + Text(note))


def rules_table(rules) -> Table:
    """The effective triggers of a rules file."""
    table = Table(title="triggers", title_justify="left")
    for name in ("id", "kind", "severity", "parameters", "label"):
        table.add_column(name)
    for trigger in rules.triggers:
        params = {
            field.alias or name: getattr(trigger, name)
            for name, field in type(trigger).model_fields.items()
            if name not in ("id", "kind", "severity", "label")
            and getattr(trigger, name) is not None
        }
        shown = ", ".join(f"{k}={_show(v)}" for k, v in params.items())
        table.add_row(
            trigger.id, trigger.kind, trigger.severity, Text(shown), Text(trigger.label or "")
        )
    return table


def value_table(rules) -> Table:
    """The effective value rules and settings."""
    table = Table(title="value and settings", show_header=False, title_justify="left")
    table.add_column("key")
    table.add_column("value")
    value = rules.value
    money = money_formatter(rules.locale, rules.currency)
    rows = {
        "profile": rules.profile,
        "columns": ", ".join(f"{k}: {_show(v)}" for k, v in rules.columns.items())
        or "(recognised)",
        "currency / locale": f"{rules.currency} / {rules.locale}",
        "value basis": value.basis,
        "segments": ", ".join(f"{k} {v:.0%}" for k, v in value.segments.items()),
        "min value per year": money(value.min_value_per_year),
        "score weights": ", ".join(f"{k} {v:g}" for k, v in value.weights.items()),
        "not worth when reason": ", ".join(value.not_worth_reasons),
        "min CLV": "—" if value.min_clv is None else money(value.min_clv),
        "lifetime value (clv)": _clv_line(rules.clv),
    }
    for key, shown in rows.items():
        table.add_row(key, Text(str(shown)))
    return table


def _clv_line(clv) -> str:
    if not clv.enabled:
        return "off"
    return (
        f"{clv.model}, time unit {clv.time_unit}, horizon {clv.horizon}, "
        f"discount {clv.discount_rate:.0%}/year, on {clv.value}"
    )


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)
