"""`winback clv`: fit the lifetime-value models on order exports and show what they say.

The command body behind the thin typer wrapper in `cli.py`, in the pattern of
`commands.py`: a frozen request, stdout for the per-customer table, stderr for
everything a person reads (fitted parameters with their log-likelihood, the
time unit, customer counts, the frequency-spend correlation, spend days left
out and, with `--holdout-from`, the check of predicted against actual repeat
purchases). Output paths are checked before any work. Unlike the scan, data
too thin to fit is an error here: the model is the point of the command.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from winback_cli.clv import (
    MODEL_NAMES,
    ClvResult,
    HoldoutResult,
    correlation_warning,
    fit_clv,
    holdout_check,
    rounded,
)
from winback_cli.clv_model import ThinDataError
from winback_cli.durations import Duration
from winback_cli.errors import InputError, UsageError
from winback_cli.facts import FactNeeds, compute_facts, default_as_of
from winback_cli.rules import Rules

TABLE_ROWS = 50  # rows shown in the terminal table; files get every customer
MONEY_COLUMNS = ("mean_repeat_spend", "expected_spend", "clv")


@dataclass(frozen=True)
class ClvRequest:
    """Everything `winback clv` was asked to do."""

    orders: tuple[str, ...]
    rules: tuple[Rules, str]
    as_of: dt.date | None = None
    horizon: Duration | None = None
    holdout_from: dt.date | None = None
    fmt: str = "auto"
    output: Path | None = None
    force: bool = False


def clv_command(request: ClvRequest, stdout: Console, stderr: Console) -> None:
    """Fit, report the fits on stderr, write the per-customer table."""
    from winback_cli.atomic import check_writable
    from winback_cli.commands import choose_format
    from winback_cli.load import load_orders
    from winback_cli.render import print_notes

    rules, _ = request.rules
    fmt = choose_format(request.fmt, request.output, stdout)
    check_writable([request.output] if request.output else [], force=request.force)

    orders = load_orders(request.orders, rules)
    files = ", ".join(orders.files)
    print_notes(stderr, orders.warnings)
    stderr.print(
        f"Orders: {orders.rows_read:,} rows read from {len(orders.files)} file(s), "
        f"{len(orders.frame):,} used, {len(orders.rejects):,} rejected"
    )
    if orders.frame.empty:
        raise InputError(f"{files}: no usable order rows; see winback scan --rejects")
    dates = orders.frame["order_date"]
    as_of = pd.Timestamp(request.as_of) if request.as_of else default_as_of(dates)
    facts, ids = compute_facts(orders.frame, as_of, FactNeeds(clv_unit_days=rules.clv.unit_days))
    if not len(ids):
        raise InputError(f"{files}: no orders before {as_of.date()}; choose a later --as-of")
    try:
        result = fit_clv(facts, rules.clv, request.horizon)
    except ThinDataError as error:
        raise ThinDataError(f"{files}: {error}") from None
    _report_fit(result, as_of, stderr)
    print_notes(stderr, result.notes)
    holdout = None
    if request.holdout_from is not None:
        holdout = _holdout(orders.frame, request.holdout_from, as_of, rules, files)
        stderr.print(holdout_table(holdout, rules))
    rows = customer_rows(result, facts.customers, ids)
    _write(rows, holdout, fmt, request, rules, stdout, stderr)


def _holdout(frame, start_date: dt.date, end: pd.Timestamp, rules: Rules, files: str):
    start = pd.Timestamp(start_date)
    first = frame["order_date"].min()
    if not first < start < end:
        raise UsageError(
            f"--holdout-from {start.date()} must lie after the first order "
            f"({first.date()}) and before the end of the data ({end.date()}); "
            "choose a date in between, e.g. six months before the end"
        )
    try:
        return holdout_check(frame, start, end, rules.clv)
    except ThinDataError as error:
        raise ThinDataError(
            f"{files}: --holdout-from {start.date()}: the orders before it are too few "
            f"to fit ({error})"
        ) from None


def _params(fit) -> str:
    return "  ".join(f"{name} {value:.4g}" for name, value in fit.params.items())


def model_table(result: ClvResult) -> Table:
    """Both fitted models: parameters, log-likelihood and the customers they rest on."""
    table = Table(title="lifetime-value models", title_justify="left")
    for name, justify in (
        ("model", "left"),
        ("parameters", "left"),
        ("log-likelihood", "right"),
        ("fitted on", "left"),
    ):
        table.add_column(name, justify=justify)
    purchase, spend = result.purchase_fit, result.spend_fit
    table.add_row(
        f"purchases: {MODEL_NAMES[purchase.model]}",
        _params(purchase),
        f"{purchase.log_likelihood:,.2f}",
        f"{purchase.n_customers:,} customers, {purchase.n_repeat_customers:,} repeat",
    )
    table.add_row(
        f"spend: {MODEL_NAMES[spend.model]}",
        _params(spend),
        f"{spend.log_likelihood:,.2f}",
        f"{spend.n_repeat_customers:,} customers with repeat spend",
    )
    return table


def _report_fit(result: ClvResult, as_of: pd.Timestamp, stderr: Console) -> None:
    settings = result.settings
    fit = result.purchase_fit
    stderr.print(model_table(result))
    stderr.print(
        f"as of {as_of.date()}; time unit: {settings.time_unit} ({settings.unit_days:g} days); "
        f"horizon {result.horizon}; discount rate {settings.discount_rate:.0%} a year; "
        f"clv counted in {result.basis}"
    )
    stderr.print(f"customers: {fit.n_customers:,}; repeat customers: {fit.n_repeat_customers:,}")
    stderr.print(f"frequency-spend correlation: r = {result.correlation:.2f}")
    warning = correlation_warning(result.correlation)
    if warning:
        stderr.print(Text("warning: ", style="bold yellow") + Text(warning))
    stderr.print(
        f"spend days left out: {result.spend_days_left_out:,} repeat purchase day(s) whose "
        "net value after returns is zero or negative are not in the spend model"
    )
    if result.returns_left_out:
        stderr.print(
            f"{result.returns_left_out:,} return line(s) dated before the customer's first "
            "purchase were left out"
        )


def holdout_table(holdout: HoldoutResult, rules: Rules) -> Table:
    """Mean repeat purchases per customer in the holdout: actual vs the model's prediction."""
    unit = rules.clv.time_unit
    table = Table(
        title=(
            f"holdout check: fitted on orders before {holdout.start.date()}, repeat purchases "
            f"{holdout.start.date()} to {(holdout.end - pd.Timedelta(days=1)).date()} "
            f"({holdout.units:.1f} {unit}s)"
        ),
        title_justify="left",
    )
    table.add_column("repeat purchases before", justify="right")
    table.add_column("customers", justify="right")
    table.add_column("actual mean", justify="right")
    table.add_column("predicted mean", justify="right")
    for label, row in holdout.table.iterrows():
        table.add_row(
            str(label),
            f"{int(row['customers']):,}",
            _number(row["actual_mean"]),
            _number(row["predicted_mean"]),
        )
    if holdout.new_customers:
        table.caption = (
            f"{holdout.new_customers:,} customer(s) first bought in the holdout "
            "and are not compared"
        )
    return table


def _number(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.3f}"


def customer_rows(result: ClvResult, customers: pd.DataFrame, ids: pd.Index) -> pd.DataFrame:
    """One row per customer with a purchase, highest CLV first."""
    rfm = result.rfm
    table = pd.DataFrame(
        {
            "customer_id": ids.to_numpy(),
            "first_order": customers["first_order"].to_numpy(),
            "last_order": customers["last_order"].to_numpy(),
            "orders": customers["orders"].to_numpy(),
            "repeat_purchase_days": rfm.frequency,
            "mean_repeat_spend": np.where(rfm.n_spend_days > 0, rfm.monetary, np.nan).round(2),
        }
    )
    table = pd.concat([table, rounded(result.scores).reset_index(drop=True)], axis=1)
    table = table.loc[customers["has_order"].to_numpy()]
    return table.sort_values(
        ["clv", "customer_id"], ascending=[False, True], kind="stable", na_position="last"
    ).reset_index(drop=True)


def rows_table(rows: pd.DataFrame, rules: Rules, total: int) -> Table:
    """The per-customer figures for a terminal."""
    from winback_cli.money import money_formatter

    fmt = money_formatter(rules.locale, rules.currency)
    shown = f"{len(rows):,} of {total:,}" if len(rows) < total else f"{total:,}"
    table = Table(title=f"customers by lifetime value ({shown})", title_justify="left")
    for name in ("#", "customer", "orders", "last order", "p alive", "purchases", "spend", "CLV"):
        table.add_column(name, justify="left" if name == "customer" else "right", no_wrap=True)
    table.add_column("next order due", no_wrap=True)
    for position, row in enumerate(rows.itertuples(index=False), start=1):
        table.add_row(
            str(position),
            Text(str(row.customer_id)),
            f"{row.orders:,}",
            str(pd.Timestamp(row.last_order).date()),
            f"{row.p_alive:.0%}",
            f"{row.expected_purchases:.1f}",
            fmt(row.expected_spend),
            fmt(row.clv),
            str(pd.Timestamp(row.expected_next_order).date()),
        )
    return table


def _write(rows, holdout, fmt: str, request: ClvRequest, rules: Rules, stdout, stderr) -> None:
    from winback_cli.outputs import to_csv, to_json, to_jsonl, write_text_output
    from winback_cli.xlsx import write_xlsx

    if fmt == "table":
        stdout.print(rows_table(rows.head(TABLE_ROWS), rules, total=len(rows)))
        if len(rows) > TABLE_ROWS:
            stderr.print(
                f"Showing the first {TABLE_ROWS} of {len(rows):,}; use --format csv -o FILE "
                "for all of them."
            )
        return
    if fmt == "xlsx":
        sheets = {"clv": rows}
        if holdout is not None:
            sheets["holdout"] = holdout.table.reset_index()
        write_xlsx(request.output, sheets, force=request.force, money_columns=MONEY_COLUMNS)
    else:
        style = rules.csv_style
        text = {
            "csv": lambda: to_csv(rows, style=style),
            "json": lambda: to_json(rows),
            "jsonl": lambda: to_jsonl(rows),
        }[fmt]()
        bom = request.output is not None and style == "excel-de"
        write_text_output(request.output, text, stdout.file, force=request.force, bom=bom)
    if request.output is not None:
        stderr.print(f"Wrote {len(rows):,} customers to {request.output}")
