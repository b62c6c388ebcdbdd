"""Command body of `winback report`: scan, compute the churn figures, show or write them.

Like `commands`, it receives a frozen request and two Rich consoles and
checks the output path before any work. `table` prints Rich tables and a
bar chart of the losses per month; `html` writes one self-contained page
(`report_html`); `xlsx` one sheet per table.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from winback_cli.rules import Rules

BAR = "█"


@dataclass(frozen=True)
class ReportRequest:
    """Everything `winback report` was asked to do."""

    orders: tuple[str, ...]
    rules: tuple[Rules, str]
    customers: str | None = None
    months: int = 12
    as_of: dt.date | None = None
    fmt: str = "auto"
    output: Path | None = None
    force: bool = False


def report_command(request: ReportRequest, stdout: Console, stderr: Console) -> None:
    """Run the scan, compute the report and present it."""
    from winback_cli.atomic import check_writable
    from winback_cli.commands import choose_format, settle_imports
    from winback_cli.money import money_formatter
    from winback_cli.render import print_notes
    from winback_cli.report import compute_report
    from winback_cli.scan import ScanOptions, run_scan

    settle_imports()
    rules, source = request.rules
    fmt = choose_format(
        request.fmt, request.output, stdout, file_formats=("html", "xlsx"), piped="table"
    )
    if request.output is not None:
        check_writable([request.output], force=request.force)
    scan = run_scan(
        ScanOptions(
            orders=request.orders,
            rules=rules,
            rules_source=source,
            customers=request.customers,
            as_of=request.as_of,
            keep_rows=True,
        )
    )
    figures = compute_report(scan, rules, request.months)
    print_notes(stderr, [*scan.notes, *figures.notes])
    money = money_formatter(rules.locale, rules.currency)
    title = f"Churn report: the last {figures.months} months before {figures.as_of}"
    if fmt == "table":
        stdout.print(report_tables(figures, money, title))
        return
    if fmt == "html":
        from winback_cli.outputs import write_text_output
        from winback_cli.report_html import render_html

        write_text_output(
            request.output, render_html(figures, money, title), stdout.file, force=request.force
        )
    else:
        _write_xlsx(figures, request)
    where = request.output if request.output is not None else "standard output"
    h = figures.headline
    stderr.print(
        Text(
            f"Wrote the churn report ({fmt}) to {where}: {h['lost in the period']} customer(s) "
            f"lost in {figures.months} months, lost annual revenue "
            f"{money(h['lost annual revenue'])}."
        )
    )


def _write_xlsx(figures, request: ReportRequest) -> None:
    import pandas as pd

    from winback_cli.xlsx import write_xlsx

    headline = pd.DataFrame(
        {"figure": list(figures.headline), "value": list(figures.headline.values())}
    )
    losses = figures.losses.assign(**{c: pd.to_datetime(figures.losses[c]) for c in ("from", "to")})
    write_xlsx(
        request.output,
        {
            "summary": headline,
            "losses per month": losses,
            "reasons": figures.reasons,
            "segments": figures.segments,
            "cohorts": figures.cohorts,
            "lost customers": figures.lost,
        },
        force=request.force,
        money_columns=(
            "lost_revenue_per_year",
            "revenue_per_year",
            "margin_per_year",
            "clv_at_start",
            "value",
        ),
        percent_columns=(
            "churn_rate",
            "share_lost",
            "after_1m",
            "after_3m",
            "after_6m",
            "after_12m",
        ),
    )


def _pct(value) -> str:
    return (
        "–"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value * 100:.1f}%")
    )


def report_tables(figures, money, title: str) -> Group:
    """Headline, a bar chart of losses per month, reasons, segments and cohorts."""
    head = Table(title=title, title_justify="left", show_header=False)
    head.add_column("figure")
    head.add_column("value", justify="right")
    for name, value in figures.headline.items():
        if isinstance(value, float) and math.isnan(value):
            shown = "–"
        elif name == "churn rate":
            shown = _pct(value)
        elif any(w in name for w in ("revenue", "margin", "value")):
            shown = money(value)
        else:
            shown = f"{value:,}"
        head.add_row(name, shown)
    losses = Table(title="customers lost per month", title_justify="left")
    for name in ("month", "active at start", "lost", "", "churn rate", "lost revenue/yr"):
        losses.add_column(name, justify="left" if name in ("month", "") else "right")
    peak = max([1, *figures.losses["lost"].tolist()])
    for row in figures.losses.itertuples(index=False):
        bar = BAR * round(20 * row.lost / peak) if row.lost else ""
        losses.add_row(
            row.month,
            f"{row.active_at_start:,}",
            f"{row.lost:,}",
            Text(bar, style="red"),
            _pct(row.churn_rate),
            money(row.lost_revenue_per_year),
        )
    reasons = Table(
        title="why they left (lost in the period) and at risk now", title_justify="left"
    )
    for name in ("reason", "lost", "known", "probable", "at risk now", "lost revenue/yr"):
        reasons.add_column(name, justify="left" if name == "reason" else "right")
    for row in figures.reasons.itertuples(index=False):
        reasons.add_row(
            Text(str(row.reason)),
            f"{row.lost:,}",
            f"{row.known:,}",
            f"{row.probable:,}",
            f"{row.at_risk_now:,}",
            money(row.lost_revenue_per_year),
        )
    segments = Table(title="by segment", title_justify="left")
    for name in ("segment", "customers", "lost", "share lost", "at risk now", "lost revenue/yr"):
        segments.add_column(name, justify="left" if name == "segment" else "right")
    for row in figures.segments.itertuples(index=False):
        segments.add_row(
            Text(str(row.segment)),
            f"{row.customers:,}",
            f"{row.lost:,}",
            _pct(row.share_lost),
            f"{row.at_risk_now:,}",
            money(row.lost_revenue_per_year),
        )
    cohorts = Table(title="cohort retention: share still ordering after …", title_justify="left")
    for name in ("first order", "customers", "1 month", "3 months", "6 months", "12 months"):
        cohorts.add_column(name, justify="left" if name == "first order" else "right")
    for row in figures.cohorts.itertuples(index=False):
        cohorts.add_row(
            row.cohort,
            f"{row.customers:,}",
            _pct(row.after_1m),
            _pct(row.after_3m),
            _pct(row.after_6m),
            _pct(row.after_12m),
        )
    return Group(head, losses, reasons, segments, cohorts)
