"""Command body of `winback measure`: read a campaign from the ledger, measure, render.

Like `commands`, it receives a frozen request and two Rich consoles (stdout
for data, stderr for people), checks the output path before any work, and
hands the result of `measure` to a Rich table, CSV, JSON or XLSX. A ledger
that does not exist is a data problem (exit 1); a campaign name the ledger
does not know is a usage error (exit 2) whose message lists the names it has.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from winback_cli.durations import Duration
from winback_cli.errors import InputError, UsageError
from winback_cli.rules import Rules

PERCENT_COLUMNS = ("win_back_rate", "control_rate", "return_on_cost")
MONEY_COLUMNS = ("revenue", "cost", "revenue_minus_cost", "revenue_after")


@dataclass(frozen=True)
class MeasureRequest:
    """Everything `winback measure` was asked to do."""

    campaign: str
    orders: tuple[str, ...]
    rules: tuple[Rules, str]
    window: Duration
    ledger: Path | None = None
    fmt: str = "auto"
    output: Path | None = None
    force: bool = False


def run_measure(request: MeasureRequest):
    """Load the campaign and the orders and compute every figure (no printing)."""
    from winback_cli.facts import FactNeeds, compute_facts, default_as_of
    from winback_cli.ledger import campaign_names, default_ledger_path, read_campaign
    from winback_cli.load import load_orders
    from winback_cli.measure import MeasureResult, breakdown, keeping, lift, outcomes, summarise

    rules, source = request.rules
    ledger = request.ledger if request.ledger is not None else default_ledger_path(source)
    found = read_campaign(ledger, request.campaign)
    if found is None:
        names = campaign_names(ledger)
        listed = ", ".join(repr(n) for n in names[:10]) or "none"
        raise UsageError(
            f"--campaign {request.campaign!r}: {ledger} has no such campaign (it has: {listed}); "
            "see `winback campaigns`"
        )
    _, contacts = found
    orders = load_orders(request.orders, rules)
    if orders.frame.empty:
        raise InputError(f"{', '.join(orders.files)}: no usable order rows")
    frame = orders.frame
    until = default_as_of(frame["order_date"])
    people = outcomes(contacts, frame, request.window, until)
    notes = list(orders.warnings)
    first_contact = people["contact_date"].min()
    if frame["order_date"].max() < first_contact:
        notes.append(
            f"the orders end {frame['order_date'].max().date()}, before the first contact "
            f"{first_contact.date()}: export the orders placed since, then measure again"
        )
    open_windows = int((~people["window_complete"]).sum())
    if open_windows:
        notes.append(
            f"{open_windows} of {len(people)} customer(s) are still inside the {request.window} "
            f"window (orders known up to {(until - pd.Timedelta(days=1)).date()}); "
            "figures will still change"
        )
    facts, ids = compute_facts(frame, until, FactNeeds.from_rules(rules, clv=False))
    statuses = pd.Series(_statuses(facts, rules), index=ids)
    return MeasureResult(
        campaign=request.campaign,
        window=request.window,
        data_until=until.date(),
        customers=people,
        summary=summarise(people),
        breakdown=breakdown(people),
        lift=lift(people),
        keeping=keeping(people, statuses),
        has_codes="code" in frame.columns,
        notes=tuple(notes),
    )


def _statuses(facts, rules: Rules):
    """The scan's status from the order-based triggers, as of the end of the data."""
    import numpy as np

    from winback_cli.money import money_formatter
    from winback_cli.triggers import evaluate

    people = pd.DataFrame({"_known": np.zeros(len(facts.customers), dtype=bool)})
    evaluation = evaluate(
        [t for t in rules.triggers if t.kind != "p_alive"],
        facts,
        people,
        customer_source=None,
        money=money_formatter(rules.locale, rules.currency),
    )
    return evaluation.status


def measure_command(request: MeasureRequest, stdout: Console, stderr: Console) -> None:
    """Measure the campaign and show or write the result."""
    from winback_cli.atomic import check_writable
    from winback_cli.commands import choose_format
    from winback_cli.render import print_notes

    rules, _ = request.rules
    fmt = choose_format(request.fmt, request.output, stdout, file_formats=("csv", "json", "xlsx"))
    if request.output is not None:
        check_writable([request.output], force=request.force)
    result = run_measure(request)
    print_notes(stderr, result.notes)
    if fmt == "table":
        stdout.print(measure_tables(result, rules))
        return
    stderr.print(Text(headline(result, rules)))
    _write(result, fmt, request, stdout)


def _write(result, fmt: str, request: MeasureRequest, stdout: Console) -> None:
    from winback_cli.outputs import to_csv, write_text_output
    from winback_cli.xlsx import write_xlsx

    rules, _ = request.rules
    if fmt == "xlsx":
        customers = result.customers.drop(columns=["window_end"])
        write_xlsx(
            request.output,
            {
                "summary": result.summary,
                "lift": lift_frame(result),
                "keeping": keeping_frame(result),
                "breakdown": result.breakdown,
                "customers": customers,
            },
            force=request.force,
            money_columns=MONEY_COLUMNS,
            percent_columns=PERCENT_COLUMNS,
        )
        return
    if fmt == "csv":
        text = to_csv(result.breakdown, style=rules.csv_style)
    else:
        text = json.dumps(as_json(result), indent=2, ensure_ascii=False) + "\n"
    write_text_output(request.output, text, stdout.file, force=request.force)


def _plain(value):
    """JSON-ready: NaN becomes null, numpy numbers Python numbers."""
    if hasattr(value, "item"):
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


def as_json(result) -> dict:
    """The whole measurement as one JSON object."""
    lifted = None if result.lift is None else {k: _plain(v) for k, v in vars(result.lift).items()}
    return {
        "campaign": result.campaign,
        "window": str(result.window),
        "data_until": result.data_until.isoformat(),
        "summary": {
            row.figure: {"contacted": _plain(row.contacted), "control": _plain(row.control)}
            for row in result.summary.itertuples(index=False)
        },
        "lift": lifted,
        "keeping": {k: _plain(v) for k, v in result.keeping.items()},
        "breakdown": [
            {k: _plain(v) for k, v in row.items()} for row in result.breakdown.to_dict("records")
        ],
    }


def lift_frame(result) -> pd.DataFrame:
    """The lift as rows of figure and value (one row saying why when there is none)."""
    if result.lift is None:
        return pd.DataFrame({"figure": ["lift"], "value": [NO_CONTROL]})
    lift = result.lift
    return pd.DataFrame(
        {
            "figure": [
                "win-back rate contacted",
                "win-back rate control",
                "difference",
                "difference, 95% interval low",
                "difference, 95% interval high",
                "incremental revenue",
                "incremental revenue minus cost",
            ],
            "value": [
                lift.contacted_rate,
                lift.control_rate,
                lift.difference,
                lift.lower,
                lift.upper,
                lift.incremental_revenue,
                lift.incremental_net,
            ],
        }
    )


def keeping_frame(result) -> pd.DataFrame:
    return pd.DataFrame(
        {"figure": list(result.keeping), "customers": list(result.keeping.values())}
    )


NO_CONTROL = (
    "cannot be measured: the campaign has no control group "
    "(run winback letters with --holdout 10% next time)"
)


def headline(result, rules: Rules) -> str:
    """One paragraph for people: what came back, and the lift or why there is none."""
    from winback_cli.money import money_formatter

    money = money_formatter(rules.locale, rules.currency)
    figures = dict(zip(result.summary["figure"], result.summary["contacted"], strict=True))
    text = (
        f"Campaign '{result.campaign}', window {result.window}: {int(figures['won back'])} of "
        f"{int(figures['customers'])} contacted customer(s) ordered again "
        f"({_pct(figures['win-back rate'])}); revenue {money(figures['revenue after contact'])}, "
        f"cost {money(figures['cost'])}."
    )
    if result.lift is None:
        return text + " Lift " + NO_CONTROL + "."
    lift = result.lift
    return text + (
        f" Lift against the control group: {_pct(lift.difference, signed=True)} "
        f"(95% interval {_pct(lift.lower, signed=True)} to {_pct(lift.upper, signed=True)}), "
        f"incremental revenue {money(lift.incremental_revenue)}."
    )


def _pct(value, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value * 100:+.1f}%" if signed else f"{value * 100:.1f}%"


def measure_tables(result, rules: Rules) -> Group:
    """The measurement as Rich tables: summary, lift, keeping them, breakdown."""
    from winback_cli.money import money_formatter

    money = money_formatter(rules.locale, rules.currency)
    summary = Table(
        title=f"campaign '{result.campaign}': window {result.window}, orders up to "
        f"{result.data_until}",
        title_justify="left",
    )
    summary.add_column("figure")
    summary.add_column("contacted", justify="right")
    summary.add_column("control", justify="right")
    for row in result.summary.itertuples(index=False):
        summary.add_row(
            row.figure,
            _cell(row.figure, row.contacted, money),
            _cell(row.figure, row.control, money),
        )
    lift = Table(title="lift against the control group", title_justify="left", show_header=False)
    lift.add_column("figure")
    lift.add_column("value", justify="right")
    for row in lift_frame(result).itertuples(index=False):
        lift.add_row(row.figure, _cell(row.figure, row.value, money))
    keep = Table(
        title="keeping them (won back, as of the end of the data)",
        title_justify="left",
        show_header=False,
    )
    keep.add_column("figure")
    keep.add_column("customers", justify="right")
    for name, value in result.keeping.items():
        keep.add_row(name, f"{value:,}")
    parts = breakdown_table(result.breakdown, money)
    return Group(summary, lift, keep, parts)


def _cell(figure: str, value, money) -> Text:
    if isinstance(value, str):
        return Text(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Text("–")
    if "rate" in figure or "difference" in figure or figure == "return on cost":
        return Text(_pct(value, signed="difference" in figure))
    if any(w in figure for w in ("revenue", "cost")):
        return Text(money(value))
    if "days" in figure:
        return Text(f"{value:.1f}")
    return Text(f"{value:,.0f}")


def breakdown_table(frame: pd.DataFrame, money) -> Table:
    table = Table(title="by measure, channel, segment, reason and trigger", title_justify="left")
    for name in (
        "by",
        "value",
        "contacted",
        "won",
        "rate",
        "control",
        "ctrl rate",
        "revenue",
        "codes",
        "cost",
        "return",
    ):
        table.add_column(name, justify="left" if name in ("by", "value") else "right")
    for row in frame.itertuples(index=False):
        table.add_row(
            row.dimension,
            Text(str(row.value)),
            f"{row.contacted:,}",
            f"{row.won_back:,}",
            _pct(row.win_back_rate),
            f"{row.control:,}",
            _pct(row.control_rate),
            money(row.revenue),
            f"{row.redeemed:,}",
            money(row.cost),
            _pct(row.return_on_cost),
        )
    return table
