"""Command bodies of `winback letters` and `winback campaigns`.

Like `commands`, each receives a frozen request and two Rich consoles
(stdout for data, stderr for people) and checks its output paths before any
work. `letters` prepares the whole campaign in memory (`campaign.prepare`);
without `--out` it previews the first drafts on stdout and writes nothing,
with `--out` it records the campaign in the ledger in one transaction that
commits only once every file is written.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from winback_cli.errors import OutputError
from winback_cli.rules import Rules

PREVIEW_DRAFTS = 3
CONTROL_FILE = "control.csv"


@dataclass(frozen=True)
class LettersRequest:
    """Everything `winback letters` was asked to do."""

    orders: tuple[str, ...]
    rules: tuple[Rules, str]
    customers: str | None = None
    as_of: dt.date | None = None
    out: Path | None = None
    fmt: str = "md"
    campaign: str | None = None
    limit: int | None = None
    feedback: str | None = None
    ledger: Path | None = None
    force: bool = False
    today: dt.date | None = None
    holdout: float = 0.0  # share of the selected customers held out as a control group


@dataclass(frozen=True)
class CampaignsRequest:
    """Everything `winback campaigns` was asked to do."""

    rules: tuple[Rules, str]
    ledger: Path | None = None
    fmt: str = "auto"
    verify: str | None = None


def _ledger_path(ledger: Path | None, rules_source: str) -> Path:
    from winback_cli.ledger import default_ledger_path

    return ledger if ledger is not None else default_ledger_path(rules_source)


def _check_targets(request: LettersRequest, ledger: Path) -> None:
    """Refuse an unusable output folder or ledger before any work is done."""
    from winback_cli.atomic import check_writable
    from winback_cli.drafts import MANIFEST

    out = request.out
    if out is None:
        return
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file; name a folder for the drafts")
    if out.is_dir():
        check_writable([out / MANIFEST], force=request.force)
    elif not out.parent.is_dir():
        raise OutputError(f"--out {out}: the folder {out.parent} does not exist; create it first")
    elif not os.access(out.parent, os.W_OK | os.X_OK):
        raise OutputError(f"--out {out}: no permission to create a folder in {out.parent}")
    if ledger.is_dir() or not ledger.parent.is_dir():
        raise OutputError(
            f"ledger {ledger}: not a file in an existing folder; choose another --ledger"
        )


def letters_command(request: LettersRequest, stdout: Console, stderr: Console) -> None:
    """Prepare the drafts, then preview them or write them and record the campaign."""
    from winback_cli.campaign import LettersOptions, prepare
    from winback_cli.commands import settle_imports
    from winback_cli.render import print_notes
    from winback_cli.scan import ScanOptions

    settle_imports()
    rules, source = request.rules
    ledger = _ledger_path(request.ledger, source)
    _check_targets(request, ledger)
    options = LettersOptions(
        scan=ScanOptions(
            orders=request.orders,
            rules=rules,
            rules_source=source,
            customers=request.customers,
            as_of=request.as_of,
            today=request.today,
        ),
        ledger=ledger,
        fmt=request.fmt,
        campaign=request.campaign,
        limit=request.limit,
        feedback=request.feedback,
        today=request.today,
        preview=request.out is None,
        holdout=request.holdout,
    )
    batch = prepare(options)
    print_notes(stderr, batch.notes)
    if batch.rows.empty:
        stderr.print("No drafts: no leaving customer gets a measure (see the notes above).")
        return
    if request.out is None:
        _preview(batch, request, stdout, stderr)
        return
    _write(batch, request, ledger, stderr)


def _preview(batch, request: LettersRequest, stdout: Console, stderr: Console) -> None:
    from winback_cli.outputs import write_text_output

    shown = list(batch.files.items())[:PREVIEW_DRAFTS]
    for position, (name, data) in enumerate(shown, start=1):
        text = data.decode("utf-8").replace("\r\n", "\n")
        header = f"===== draft {position} of {len(batch.rows)}: {name} =====\n"
        write_text_output(None, header + text, stdout.file, force=False)
    stderr.print(
        Text(
            f"Previewed {len(shown)} of {len(batch.rows)} draft(s) ({request.fmt}); nothing was "
            f"written or recorded. To write them all (and record campaign '{batch.campaign}'), "
            "add --out DIR."
        )
    )


def _write(batch, request: LettersRequest, ledger: Path, stderr: Console) -> None:
    import pandas as pd

    from winback_cli.drafts import write_files
    from winback_cli.ledger import Campaign, recording
    from winback_cli.money import money_formatter

    rules, source = request.rules
    campaign = Campaign(
        name=batch.campaign,
        contact_date=request.today or dt.date.today(),
        as_of=batch.as_of,
        rules=source,
        out_dir=str(request.out),
        format=request.fmt,
    )
    contacts, files = batch.rows.assign(control=0), dict(batch.files)
    if len(batch.control):
        # Held out: recorded, at no cost, with the measure they would have had.
        held = batch.control.assign(control=1, cost=0.0, offer_code="", file="")
        contacts = pd.concat([contacts, held], ignore_index=True)
        files[CONTROL_FILE] = _control_csv(batch.control, rules)
    with recording(ledger, campaign, contacts) as added:
        write_files(request.out, files, force=request.force)
    drafts = len(batch.rows)
    extra = [name for name in files if name not in set(batch.rows["file"])]
    cost = money_formatter(rules.locale, rules.currency)(float(batch.rows["cost"].sum()))
    stderr.print(
        Text(
            f"Wrote {drafts} draft(s) ({request.fmt}) and {', '.join(extra)} to {request.out}. "
            f"Recorded campaign '{batch.campaign}' in {ledger}: {added} new, "
            f"{len(contacts) - added} already recorded; cost {cost}."
            + (
                f" Held out {len(batch.control)} customer(s) as the control group (no draft; "
                f"listed in {CONTROL_FILE}: do not contact them for this campaign)."
                if len(batch.control)
                else ""
            )
        )
    )


def _control_csv(control, rules: Rules) -> bytes:
    """The control group for the team: who must not get this campaign's measure."""
    from winback_cli.outputs import to_csv

    columns = [c for c in ("customer_id", "name", "status", "reason", "measure") if c in control]
    frame = control[columns].assign(note="control group: do not contact for this campaign")
    style = rules.csv_style
    return to_csv(frame, style=style, bom=style == "excel-de").encode()


def campaigns_command(request: CampaignsRequest, stdout: Console, stderr: Console) -> None:
    """List the campaigns of the ledger with counts and cost."""
    from winback_cli.errors import InputError
    from winback_cli.ledger import list_campaigns
    from winback_cli.outputs import to_csv, to_json, write_text_output

    rules, source = request.rules
    ledger = _ledger_path(request.ledger, source)
    if not ledger.is_file():
        raise InputError(
            f"{ledger}: no ledger here; `winback letters … --out DIR` creates it, "
            "or name one with --ledger PATH"
        )
    if request.verify is not None:
        _verify(request.verify, rules, ledger, stdout)
        return
    frame = list_campaigns(ledger)
    fmt = request.fmt
    if fmt == "auto":
        fmt = "table" if stdout.is_terminal else "csv"
    if fmt in ("csv", "json"):
        text = to_csv(frame, style=rules.csv_style) if fmt == "csv" else to_json(frame)
        write_text_output(None, text, stdout.file, force=False)
    else:
        stdout.print(campaigns_table(frame, rules, ledger))
    stderr.print(Text(f"{len(frame)} campaign(s) in {ledger}"))


def _verify(code: str, rules: Rules, ledger: Path, stdout: Console) -> None:
    """Say whether an offer code was handed out, to whom, and (generated) that it is genuine."""
    from winback_cli.codes import code_secret, verify_code
    from winback_cli.errors import InputError
    from winback_cli.ledger import find_code

    found = find_code(ledger, code)
    if found is None:
        raise InputError(f"{code}: no campaign in {ledger} handed out this code")
    where = (
        f"customer {found['customer_id']}, campaign '{found['campaign']}', "
        f"handed out {found['contact_date']}"
    )
    secret = None if rules.codes.pool else code_secret(rules.codes)
    if secret is not None:
        options = {"prefix": rules.codes.prefix, "length": rules.codes.length}
        if not verify_code(code, secret, found["campaign"], found["customer_id"], **options):
            raise InputError(f"{code}: recorded for {where}, but not made with this secret")
        where += "; generated with this secret"
    stdout.print(Text(f"{code.strip().upper()}: valid, {where}"))


def campaigns_table(frame, rules: Rules, ledger: Path) -> Table:
    """The campaigns as a Rich table, money in the rules' locale."""
    from winback_cli.money import money_formatter

    fmt = money_formatter(rules.locale, rules.currency)
    table = Table(title=f"campaigns in {ledger}", title_justify="left")
    for name, justify in (
        ("campaign", "left"),
        ("date", "left"),
        ("as of", "left"),
        ("customers", "right"),
        ("codes", "right"),
        ("cost", "right"),
        ("channels", "left"),
    ):
        # Dates and figures stay whole; names and channels wrap on a narrow terminal.
        wrap = name in ("campaign", "channels")
        table.add_column(name, justify=justify, overflow="fold", no_wrap=not wrap)
    for row in frame.itertuples(index=False):
        table.add_row(
            Text(str(row.campaign)),
            str(row.date),
            str(row.as_of),
            f"{row.customers:,}",
            f"{row.offer_codes:,}",
            fmt(row.cost),
            Text(str(row.channels)),
        )
    return table
