"""Prepare a letter campaign: who gets a draft, with which code, rendered, in memory.

`prepare` runs the scan (`scan.run_scan`), plans reasons and measures with
the feedback file and the ledger's contacts, takes the leaving customers
that get a measure (most valuable first, `--limit`), assigns offer codes,
renders every draft and builds every file's bytes. Nothing is written
here: a failing template, a missing secret or an empty code pool stops the
run before the first file exists.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from winback_cli.errors import UsageError
from winback_cli.scan import ScanOptions, ScanResult

CAMPAIGN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")


@dataclass(frozen=True)
class LettersOptions:
    """What to draft; the command builds this from its arguments."""

    scan: ScanOptions
    ledger: Path
    fmt: str = "md"
    campaign: str | None = None
    limit: int | None = None
    feedback: str | None = None
    today: dt.date | None = None
    preview: bool = False
    environ: Mapping[str, str] | None = None
    holdout: float = 0.0  # share held out as a control group (`holdout.control_mask`)


@dataclass(frozen=True)
class Batch:
    """A prepared campaign: the drafted rows, their files, and notes for people."""

    campaign: str
    as_of: dt.date
    table: pd.DataFrame  # every customer, with reasons and measures
    rows: pd.DataFrame  # the drafted customers, with offer_code, template and file
    files: dict[str, bytes]  # file name in the output folder -> content
    result: ScanResult
    notes: list[str] = field(default_factory=list)
    control: pd.DataFrame = field(default_factory=pd.DataFrame)  # held out: no draft


def campaign_name(name: str | None, as_of: dt.date) -> str:
    """The given name, checked, or `winback-<as-of date>`."""
    name = name if name is not None else f"winback-{as_of.isoformat()}"
    if not CAMPAIGN_NAME.match(name):
        raise UsageError(
            f"--campaign {name!r}: use up to 64 letters, digits, spaces, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def _rules_dir(source: str) -> Path | None:
    path = Path(source)
    return path.parent if source and path.is_file() else None


def prepare(options: LettersOptions) -> Batch:
    """Scan, plan, select, assign codes and render; see the module docstring."""
    from winback_cli.ledger import campaign_codes, last_contacts, used_codes
    from winback_cli.playbook import plan
    from winback_cli.reasons import load_feedback
    from winback_cli.scan import run_scan

    rules = options.scan.rules
    result = run_scan(options.scan)
    name = campaign_name(options.campaign, result.as_of)
    notes = [n for n in result.notes if not n.startswith("playbook:")]
    feedback = None
    if options.feedback:
        feedback, feedback_notes = load_feedback(options.feedback, rules)
        notes.extend(feedback_notes)
    contacts = last_contacts(options.ledger, exclude_campaign=name)
    table, plan_notes = plan(
        result.table,
        rules,
        result.signals,
        pd.Timestamp(result.as_of),
        feedback=feedback,
        last_contacts=contacts,
        today=options.today,
    )
    notes.extend(plan_notes)
    rows = table.loc[table["measure"] != ""]
    if options.limit is not None and len(rows) > options.limit:
        notes.append(
            f"--limit {options.limit}: drafting the {options.limit} most valuable of {len(rows)}"
        )
        rows = rows.head(options.limit)
    rows = rows.reset_index(drop=True)
    rows, control = _hold_out(rows, name, options.holdout, notes)
    measures = rules.playbook.measures()
    needs = rows["measure"].map(lambda m: measures[m].offer.needs_code).astype(bool)
    from winback_cli.codes import assign_codes

    codes, code_notes = assign_codes(
        rows.loc[needs, "customer_id"].astype("str").tolist(),
        rules.codes,
        campaign=name,
        base_dir=_rules_dir(options.scan.rules_source) or Path.cwd(),
        used=used_codes(options.ledger),
        existing=campaign_codes(options.ledger, name),
        environ=options.environ,
        preview=options.preview,
    )
    notes.extend(code_notes)
    rows["offer_code"] = [codes.get(c, "") for c in rows["customer_id"].astype("str")]
    rows, files = _render(rows, options, name, result.as_of)
    if not options.preview:
        files.update(_side_files(rows, options, name, result.as_of))
    return Batch(name, result.as_of, table, rows, files, result, notes, control)


def _hold_out(rows: pd.DataFrame, name: str, share: float, notes: list[str]):
    """Split off the control group: the same customers on every run of the campaign."""
    from winback_cli.holdout import control_mask

    if share <= 0:
        return rows, rows.iloc[0:0]
    held = control_mask(rows["customer_id"].astype("str"), name, share)
    notes.append(
        f"--holdout {share:.0%}: {int(held.sum())} of {len(rows)} selected customer(s) "
        "form the control group: no draft, recorded in the ledger as control"
    )
    return rows.loc[~held].reset_index(drop=True), rows.loc[held].reset_index(drop=True)


def _render(rows: pd.DataFrame, options: LettersOptions, name: str, as_of: dt.date):
    """Render every draft first; only then build file contents."""
    from winback_cli.drafts import draft_bytes, safe_stems, to_address
    from winback_cli.letter_context import build_context
    from winback_cli.letters import Templates

    rules = options.scan.rules
    templates = Templates(rules, _rules_dir(options.scan.rules_source))
    measures = rules.playbook.measures()
    kinds = {t.id: t.kind for t in rules.triggers}
    labels = {t.id: t.title for t in rules.triggers}
    fallback = rules.templates.fallback_language
    sender = rules.templates.sender
    from_address = to_address(sender.name or sender.company, sender.email)
    rendered, languages, template_files = [], [], []
    for row in rows.to_dict("records"):
        measure = measures[row["measure"]]
        language = str(row.get("language") or "").strip() or fallback
        file_name, written_in = templates.pick(measure.template, language)
        context = build_context(
            row,
            rules=rules,
            measure=measure,
            offer_code=row["offer_code"],
            language=written_in,
            as_of=as_of,
            campaign=name,
            trigger_kinds=kinds,
            trigger_labels=labels,
        )
        customer = str(row["customer_id"])
        rendered.append(
            templates.render(file_name, context, customer=customer, html=options.fmt == "html")
        )
        languages.append(written_in)
        template_files.append(file_name)
    rows = rows.assign(template=template_files, language_used=languages)
    stems = safe_stems(rows["customer_id"].astype("str").tolist())
    rows["file"] = [f"{stem}.{options.fmt}" for stem in stems]
    files: dict[str, bytes] = {}
    for row, draft in zip(rows.to_dict("records"), rendered, strict=True):
        # Talking points for a call or visit are internal: never addressed to the customer.
        to = None
        if row["channel"] in ("letter", "email"):
            to = to_address(str(row.get("name") or ""), str(row.get("email") or ""))
        files[row["file"]] = draft_bytes(
            draft, options.fmt, language=row["language_used"], to=to, sender=from_address
        )
    return rows, files


def _side_files(
    rows: pd.DataFrame, options: LettersOptions, name: str, as_of: dt.date
) -> dict[str, bytes]:
    """manifest.csv, and codes.csv for the shop when the codes were generated here."""
    from winback_cli.drafts import CODES, MANIFEST, manifest
    from winback_cli.outputs import to_csv

    rules = options.scan.rules
    style = rules.csv_style
    files = {MANIFEST: to_csv(manifest(rows), style=style, bom=style == "excel-de").encode()}
    coded = rows.loc[rows["offer_code"] != ""]
    if len(coded) and not rules.codes.pool:
        measures = rules.playbook.measures()
        offers = coded["measure"].map(lambda m: measures[m].offer)
        export = pd.DataFrame(
            {
                "code": coded["offer_code"],
                "customer_id": coded["customer_id"].astype("str"),
                "campaign": name,
                "offer": offers.map(lambda o: o.kind),
                "percent": offers.map(lambda o: o.percent * 100 if o.percent else None),
                "amount": offers.map(lambda o: o.amount),
                "valid_until": offers.map(
                    lambda o: o.valid_for.after(as_of).date() if o.valid_for else None
                ),
            }
        )
        files[CODES] = to_csv(export, style=style, bom=style == "excel-de").encode()
    return files
