"""The `winback` command line: parse arguments, call the library, render.

This is the only module that imports typer. Each command is a thin wrapper:
it builds options, calls one library function and hands the result to
`render` / `outputs`. Errors from the library (`WinbackError`) are caught
once in `reporting`, printed as `Error: …` on stderr and turned into the
documented exit code; `--debug` shows the traceback instead. Heavy modules
(pandas, pyarrow) are imported inside the commands so `--help` stays fast.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from winback_cli import __version__
from winback_cli.errors import ExitCode, UsageError, WinbackError

app = typer.Typer(
    name="winback",
    help="Find customers who are leaving, decide whom to win back, draft the letters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
rules_app = typer.Typer(help="Check and show rules files.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

OrdersArgument = Annotated[
    list[str],
    typer.Argument(metavar="ORDERS...", help="Order export(s): CSV paths, globs, or - for stdin."),
]
RulesOption = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        "-r",
        help="Rules YAML (default: ./rules.yaml if present, else the bundled rules).",
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Date to judge by, e.g. 2025-11-01 (default: the day after the last order)."
    ),
]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE.")]
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite existing output files.")]
LedgerOption = Annotated[
    Path | None,
    typer.Option("--ledger", help="Contact ledger (default: winback.db beside the rules)."),
]
CustomersOption = Annotated[str | None, typer.Option("--customers", "-c", help="Customer export.")]

STATE = {"debug": False}
DEFAULT_RULES = Path("rules.yaml")


class Format(StrEnum):
    auto = "auto"
    table = "table"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"
    xlsx = "xlsx"


class CsvStyle(StrEnum):
    standard = "standard"
    excel_de = "excel-de"


class Status(StrEnum):
    leaving = "leaving"
    churned = "churned"
    at_risk = "at_risk"
    active = "active"
    all = "all"


def _stderr():
    from rich.console import Console

    return Console(stderr=True, highlight=False, no_color=bool(os.environ.get("NO_COLOR")))


def _stdout():
    from rich.console import Console

    return Console(highlight=False, no_color=bool(os.environ.get("NO_COLOR")))


@contextmanager
def reporting() -> Iterator[None]:
    """Print a `WinbackError` for a person and exit with its code; a closed pipe ends quietly."""
    try:
        yield
    except BrokenPipeError:
        # `winback scan … | head` closes stdout early; that is not an error. Handled here,
        # before Typer, which would exit with 1.
        _quiet_stdout()
        raise typer.Exit(int(ExitCode.OK)) from None
    except WinbackError as error:
        if STATE["debug"]:
            raise
        from rich.text import Text

        _stderr().print(Text(f"Error: {error}", style="bold red"))
        raise typer.Exit(int(error.exit_code)) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"winback {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Find customers who are leaving, decide whom to win back, draft the letters."""
    STATE["debug"] = debug


def _rules(path: Path | None):
    from winback_cli.rules import load_rules

    if path is None and DEFAULT_RULES.exists():
        path = DEFAULT_RULES
    return load_rules(path)


def _parse_as_of(value: str | None):
    if value is None:
        return None
    from winback_cli.dates import parse_date

    try:
        return parse_date(value)
    except ValueError as exc:
        raise UsageError(f"--as-of: {exc}") from None


@app.command()
def scan(
    orders: OrdersArgument,
    customers: CustomersOption = None,
    rules: RulesOption = None,
    as_of: AsOfOption = None,
    status: Status = typer.Option(
        Status.leaving, "--status", help="Which customers to list (leaving = churned + at_risk)."
    ),
    top: int | None = typer.Option(None, "--top", min=1, help="List only the first N."),
    fmt: Format = typer.Option(
        Format.auto, "--format", "-f", help="auto = table on a terminal, CSV when piped."
    ),
    output: OutputOption = None,
    csv_style: CsvStyle | None = typer.Option(
        None, "--csv-style", help="excel-de: ';', decimal comma, BOM."
    ),
    rejects: Path | None = typer.Option(None, "--rejects", help="Write unusable rows to FILE."),
    strict: bool = typer.Option(False, "--strict", help="Fail if any row is rejected."),
    force: ForceOption = False,
    ledger: LedgerOption = None,
    feedback: str | None = typer.Option(
        None, "--feedback", help="Survey/notes file: customer id, reason, note, date."
    ),
) -> None:
    """List customers who are leaving or at risk, why, and what they are worth.

    Example:

        winback scan examples/orders_en.csv --customers examples/customers_en.csv
    """
    from winback_cli.commands import ScanRequest, scan_command

    with reporting():
        request = ScanRequest(
            orders=tuple(orders),
            customers=customers,
            rules=_rules(rules),
            as_of=_parse_as_of(as_of),
            status=status.value,
            top=top,
            fmt=fmt.value,
            output=output,
            csv_style=csv_style.value if csv_style else None,
            ledger=ledger,
            feedback=feedback,
            rejects=rejects,
            strict=strict,
            force=force,
        )
        scan_command(request, _stdout(), _stderr())


@app.command()
def clv(
    orders: OrdersArgument,
    rules: RulesOption = None,
    as_of: AsOfOption = None,
    horizon: str | None = typer.Option(
        None, "--horizon", help="How far ahead CLV counts, e.g. 12mo (default: clv.horizon)."
    ),
    holdout_from: str | None = typer.Option(
        None, "--holdout-from", help="Fit on orders before DATE, check the prediction after it."
    ),
    fmt: Format = typer.Option(
        Format.auto, "--format", "-f", help="auto = table on a terminal, CSV when piped."
    ),
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Fit the lifetime-value models (BG/NBD or MBG/NBD, Gamma-Gamma) and score customers.

    Example:

        winback clv examples/orders_en.csv --holdout-from 2025-05-01
    """
    from winback_cli.clv_command import ClvRequest, clv_command
    from winback_cli.durations import parse_duration

    with reporting():
        try:
            span = parse_duration(horizon) if horizon is not None else None
        except ValueError as exc:
            raise UsageError(f"--horizon: {exc}") from None
        holdout = _parse_as_of(holdout_from) if holdout_from is not None else None
        request = ClvRequest(
            orders=tuple(orders),
            rules=_rules(rules),
            as_of=_parse_as_of(as_of),
            horizon=span,
            holdout_from=holdout,
            fmt=fmt.value,
            output=output,
            force=force,
        )
        clv_command(request, _stdout(), _stderr())


@app.command()
def init(
    path: Path = typer.Argument(DEFAULT_RULES, help="Where to write the rules file."),
) -> None:
    """Write a commented starter rules file (never overwrites an existing file).

    Example:

        winback init && winback rules check rules.yaml
    """
    from winback_cli.atomic import write_atomic
    from winback_cli.rules import bundled_rules_text

    with reporting():
        if path.exists():
            raise UsageError(
                f"{path} already exists; edit it, or name another file: winback init other.yaml"
            )
        write_atomic(path, bundled_rules_text())
        _stderr().print(f"Wrote {path}. Check it with: winback rules check {path}")


@rules_app.command("check")
def rules_check(
    path: Path | None = typer.Argument(
        None, help="Rules YAML (default: ./rules.yaml if present, else the bundled rules)."
    ),
) -> None:
    """Validate a rules file and show the effective rules.

    Example:

        winback rules check rules.yaml
    """
    from winback_cli.render import rules_table, value_table

    with reporting():
        rules, source = _rules(path)
        console = _stdout()
        console.print(rules_table(rules))
        console.print(value_table(rules))
        _stderr().print(f"{source}: OK, {len(rules.triggers)} trigger(s)")


class LetterFormat(StrEnum):
    md = "md"
    txt = "txt"
    html = "html"
    eml = "eml"


class ListFormat(StrEnum):
    auto = "auto"
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
def letters(
    orders: OrdersArgument,
    customers: str = typer.Option(..., "--customers", "-c", help="Customer export."),
    rules: RulesOption = None,
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Folder for the drafts (default: preview on stdout)."
    ),
    fmt: LetterFormat = typer.Option(LetterFormat.md, "--format", "-f", help="Draft format."),
    campaign: str | None = typer.Option(
        None, "--campaign", help="Campaign name (default: winback-<as-of date>)."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Draft only the first N."),
    feedback: str | None = typer.Option(
        None, "--feedback", help="Feedback CSV: customer id, reason, note, date."
    ),
    ledger: LedgerOption = None,
    as_of: str | None = typer.Option(
        None, "--as-of", help="Date to judge by (default: day after the last order)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite existing draft files."),
    holdout: str | None = typer.Option(
        None,
        "--holdout",
        metavar="SHARE",
        help="Hold out e.g. 10% of the selected customers as a control group (no draft).",
    ),
) -> None:
    """Draft personalised win-back letters for the leaving customers worth winning back.

    Without --out the first drafts are shown and nothing is written. With --out
    every draft, manifest.csv and (for generated offer codes) codes.csv are written
    and the campaign is recorded in the ledger.

    Example:

        winback letters orders.csv -c customers.csv --out drafts --format eml
    """
    from winback_cli.holdout import parse_holdout
    from winback_cli.letters_command import LettersRequest, letters_command

    with reporting():
        request = LettersRequest(
            orders=tuple(orders),
            rules=_rules(rules),
            customers=customers,
            as_of=_parse_as_of(as_of),
            out=out,
            fmt=fmt.value,
            campaign=campaign,
            limit=limit,
            feedback=feedback,
            ledger=ledger,
            force=force,
            holdout=parse_holdout(holdout),
        )
        letters_command(request, _stdout(), _stderr())


@app.command()
def campaigns(
    rules: RulesOption = None,
    ledger: LedgerOption = None,
    fmt: ListFormat = typer.Option(
        ListFormat.auto, "--format", "-f", help="auto = table on a terminal, CSV when piped."
    ),
    verify: str | None = typer.Option(
        None, "--verify", metavar="CODE", help="Check an offer code: who got it, is it genuine."
    ),
) -> None:
    """List the recorded letter campaigns with their customers, offer codes and cost.

    Example:

        winback campaigns --ledger winback.db
    """
    from winback_cli.letters_command import CampaignsRequest, campaigns_command

    with reporting():
        request = CampaignsRequest(rules=_rules(rules), ledger=ledger, fmt=fmt.value, verify=verify)
        campaigns_command(request, _stdout(), _stderr())


class MeasureFormat(StrEnum):
    auto = "auto"
    table = "table"
    csv = "csv"
    json = "json"
    xlsx = "xlsx"


@app.command()
def measure(
    orders: list[str] = typer.Argument(
        ..., help="Order export(s) including the orders placed since the campaign."
    ),
    campaign: str = typer.Option(..., "--campaign", help="Campaign name as in the ledger."),
    rules: RulesOption = None,
    ledger: LedgerOption = None,
    window: str = typer.Option(
        "90d", "--window", help="Orders within this span after the contact count, e.g. 90d."
    ),
    fmt: MeasureFormat = typer.Option(
        MeasureFormat.auto, "--format", "-f", help="auto = table on a terminal, CSV when piped."
    ),
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Measure a campaign: who came back, revenue, cost, lift against the control group.

    Example:

        winback measure --campaign "spring 2026" orders-since.csv --window 90d
    """
    from winback_cli.durations import parse_duration
    from winback_cli.measure_command import MeasureRequest, measure_command

    with reporting():
        try:
            span = parse_duration(window)
        except ValueError as exc:
            raise UsageError(f"--window: {exc}") from None
        request = MeasureRequest(
            campaign=campaign,
            orders=tuple(orders),
            rules=_rules(rules),
            window=span,
            ledger=ledger,
            fmt=fmt.value,
            output=output,
            force=force,
        )
        measure_command(request, _stdout(), _stderr())


class ReportFormat(StrEnum):
    auto = "auto"
    table = "table"
    xlsx = "xlsx"
    html = "html"


@app.command()
def report(
    orders: OrdersArgument,
    customers: CustomersOption = None,
    rules: RulesOption = None,
    months: int = typer.Option(12, "--months", min=1, max=120, help="Length of the period."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="End of the period (default: the day after the last order)."
    ),
    fmt: ReportFormat = typer.Option(
        ReportFormat.auto,
        "--format",
        "-f",
        help="auto = table on a terminal, else from the -o suffix (html or xlsx).",
    ),
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Report churn: customers lost per month, why, what it cost, segments and cohorts.

    Example:

        winback report examples/orders_en.csv -c examples/customers_en.csv -o churn.html
    """
    from winback_cli.report_command import ReportRequest, report_command

    with reporting():
        request = ReportRequest(
            orders=tuple(orders),
            rules=_rules(rules),
            customers=customers,
            months=months,
            as_of=_parse_as_of(as_of),
            fmt=fmt.value,
            output=output,
            force=force,
        )
        report_command(request, _stdout(), _stderr())


def main() -> None:
    """Console-script entry point: run the app; a closed pipe ends quietly."""
    # Set before numpy and scipy load OpenBLAS. The lifetime-value fit works on long
    # vectors, not matrices; OpenBLAS's extra threads only spin between its tiny calls
    # and take a core from the threads that do the work. A user's setting wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Arrow's allocator (mimalloc) hands freed memory back to the system after 10 ms,
    # and the next slice of a large file then pays a page fault per page to get it
    # back: up to a second of system time on ten million orders. Kept for a minute,
    # the memory is reused; the scan still releases it between its phases.
    os.environ.setdefault("MIMALLOC_PURGE_DELAY", "60000")
    # The same for glibc's allocator (numpy, pandas), set before any thread starts; and
    # no huge pages where the host takes freed memory back, as they come back slowly.
    from winback_cli.memory import freed_pages_go_to_host, no_huge_pages, reuse_freed_memory

    reuse_freed_memory()
    if freed_pages_go_to_host():
        no_huge_pages()
    # The interpreter's last garbage collection walks every object a large scan left,
    # a quarter of a second, only to free memory the system takes back anyway.
    atexit.unregister(gc.freeze)  # `main` runs more than once in tests; one hook will do
    atexit.register(gc.freeze)
    try:
        app()
    except BrokenPipeError:
        # `winback scan … | head` closes stdout early; that is not an error.
        _quiet_stdout()
        sys.exit(ExitCode.OK)


def _quiet_stdout() -> None:
    """Send what is left for stdout nowhere: the reader has gone."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
