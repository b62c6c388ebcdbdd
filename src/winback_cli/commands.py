"""Command bodies: run a library call and send its result to the right place.

Kept apart from `cli.py` so the CLI only parses arguments. A command here
receives a frozen request and two Rich consoles (stdout for data, stderr
for people), checks every output path before any work is written, runs
the analysis and hands the result to `render` or `outputs`.
"""

from __future__ import annotations

import datetime as dt
import gc
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console

from winback_cli.errors import InputError, UsageError
from winback_cli.rules import Rules

TABLE_ROWS = 50  # rows shown in the terminal table unless --top says otherwise


def settle_imports() -> None:
    """Move what the imports made out of the garbage collector's sight, once they are done.

    pandas, pyarrow and pydantic leave some 76,000 objects that live as long
    as the process. A full collection walks them all while it holds the GIL;
    one fell in the first second of reading a 10m export (91 ms, the reading
    threads waiting). Frozen, they are skipped. This is the command's choice:
    the library leaves the collector to the program that uses it.
    """
    gc.freeze()


@dataclass(frozen=True)
class ScanRequest:
    """Everything `winback scan` was asked to do."""

    orders: tuple[str, ...]
    rules: tuple[Rules, str]
    customers: str | None = None
    as_of: dt.date | None = None
    status: str = "leaving"
    top: int | None = None
    fmt: str = "auto"
    output: Path | None = None
    csv_style: str | None = None
    rejects: Path | None = None
    strict: bool = False
    force: bool = False
    ledger: Path | None = None
    feedback: str | None = None


def choose_format(
    fmt: str,
    output: Path | None,
    stdout: Console,
    *,
    file_formats: tuple[str, ...] = ("csv", "json", "jsonl", "xlsx"),
    piped: str = "csv",
) -> str:
    """Resolve `--format auto`: from the output file's suffix, else table on a terminal.

    A file whose suffix is not one of `file_formats` gets the first of them;
    piped output gets `piped`. XLSX is binary and needs a file, so asking for
    it without `-o` is a usage error.
    """
    if fmt == "auto":
        suffix = output.suffix.lower().lstrip(".") if output is not None else ""
        suffix = {"htm": "html"}.get(suffix, suffix)
        if output is not None:
            fmt = suffix if suffix in file_formats else file_formats[0]
        else:
            fmt = "table" if stdout.is_terminal else piped
    if fmt == "xlsx" and output is None:
        raise UsageError("--format xlsx writes a file: add -o FILE.xlsx")
    return fmt


def scan_command(request: ScanRequest, stdout: Console, stderr: Console) -> None:
    """Run the scan and write or show its result."""
    from winback_cli.atomic import check_writable
    from winback_cli.load import input_bytes
    from winback_cli.order_facts import NoUsableRowsError
    from winback_cli.progress_bar import ReadProgress
    from winback_cli.render import print_notes, summary_table
    from winback_cli.scan import ScanOptions, run_scan, select

    settle_imports()
    rules, source = request.rules
    fmt = choose_format(request.fmt, request.output, stdout)
    targets = [p for p in (request.output, request.rejects) if p is not None]
    check_writable(targets, force=request.force)

    options = ScanOptions(
        orders=request.orders,
        rules=rules,
        rules_source=source,
        customers=request.customers,
        as_of=request.as_of,
        ledger=request.ledger,
        feedback=request.feedback,
    )
    try:
        with ReadProgress(stderr, input_bytes(request.orders)) as progress:
            result = run_scan(replace(options, progress=progress))
    except NoUsableRowsError as error:
        if request.rejects is not None:
            _write_rejects(error.rejects, request, rules)
        raise
    print_notes(stderr, result.notes)
    _report_rows(result, request, stderr)
    if request.rejects is not None:
        _write_rejects(result.rejects, request, rules)
    if request.strict and len(result.rejects):
        raise InputError(_strict_message(result.rejects))

    rows = select(result.table, request.status, request.top)
    stderr.print(summary_table(result.summary, result.as_of, rules, result.orders.files))
    if fmt == "table":
        from winback_cli.render import customer_table

        shown = rows if request.top else rows.head(TABLE_ROWS)
        stdout.print(customer_table(shown, rules, total=len(rows)))
        if len(shown) < len(rows):
            stderr.print(
                f"Showing the first {len(shown)} of {len(rows)}; use --top N, or "
                "--format csv -o FILE for all of them."
            )
        return
    _write_table(rows, fmt, request, rules, stdout)
    if request.output is not None:
        stderr.print(f"Wrote {len(rows):,} customers to {request.output}")


def _csv_style(request: ScanRequest, rules: Rules) -> str:
    return request.csv_style or rules.csv_style


def _write_table(rows, fmt: str, request: ScanRequest, rules: Rules, stdout: Console) -> None:
    from winback_cli.outputs import table_pieces, write_text_output
    from winback_cli.xlsx import write_xlsx

    if fmt == "xlsx":
        write_xlsx(
            request.output,
            {"customers": rows},
            force=request.force,
            money_columns=[
                c
                for c in rows.columns
                if c.startswith(("revenue", "margin"))
                or c in ("aov", "returns_value", "clv", "expected_spend")
            ],
        )
        return
    style = _csv_style(request, rules)
    bom = request.output is not None and style == "excel-de"
    data = table_pieces(rows, fmt, style=style, bom=bom)
    write_text_output(request.output, data, stdout.file, force=request.force)


def _write_rejects(rejects, request: ScanRequest, rules: Rules) -> None:
    from winback_cli.outputs import to_csv, write_text_output

    style = _csv_style(request, rules)
    write_text_output(
        request.rejects,
        to_csv(rejects, style=style),
        None,
        force=request.force,
        bom=style == "excel-de",
    )


def _report_rows(result, request: ScanRequest, stderr: Console) -> None:
    """Rows read = used + rejected, for orders and customers, always said."""
    orders = result.orders
    used = orders.used
    rejected = len(orders.rejects)
    where = (
        f"; written to {request.rejects}"
        if request.rejects
        else ("; list them with --rejects FILE" if rejected else "")
    )
    stderr.print(
        f"Orders: {orders.rows_read:,} rows read from {len(orders.files)} file(s), "
        f"{used:,} used, {rejected:,} rejected{where}"
    )
    if result.customers is not None:
        c = result.customers
        stderr.print(
            f"Customers: {c.rows_read:,} rows read, {len(c.frame):,} used, "
            f"{len(c.rejects):,} rejected"
        )


def _strict_message(rejects) -> str:
    lines = [
        f"  {r.file}, row {r.row}, {r.column or 'row'}: {r.reason} ({r.value!r})"
        for r in rejects.head(5).itertuples(index=False)
    ]
    more = f"\n  … and {len(rejects) - 5} more" if len(rejects) > 5 else ""
    return (
        f"--strict: {len(rejects)} row(s) could not be used:\n"
        + "\n".join(lines)
        + more
        + "\nFix the rows, or run without --strict to skip them."
    )
