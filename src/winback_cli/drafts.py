"""Turn rendered drafts into files: safe names, md/txt/html/eml, the manifest, atomic writes.

A customer id can hold anything (`../../x`, `CON`, `Müller/Köln`), so file
names keep only letters, digits, `_` and `-`, and any id that had to change
gets a short hash of the original so two ids never share a file. `.eml`
drafts are RFC 5322 messages built with the `email` package, marked
`X-Unsent: 1` so mail programs open them as drafts. HTML is a small
standalone page whose customer values were escaped when rendered. Every
file is checked before the first is written and written atomically.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

import pandas as pd

from winback_cli.atomic import check_writable, write_atomic
from winback_cli.letters import Rendered

MANIFEST = "manifest.csv"
CODES = "codes.csv"
MANIFEST_COLUMNS = (
    "customer_id",
    "name",
    "email",
    "status",
    "reason",
    "measure",
    "channel",
    "offer",
    "offer_code",
    "template",
    "file",
    "cost",
    "contact_from",
)
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10))}
_RESERVED |= {f"lpt{i}" for i in range(10)}
_MAX_STEM = 60


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def safe_stems(customer_ids: Sequence[str]) -> list[str]:
    """A file-name stem per customer id, unique even where file systems ignore case.

    >>> safe_stems(["K00042", "../../x", "CON"])
    ['K00042', 'x-9cdf6a50', 'CON-a3dbc4b6']
    """
    stems, seen = [], set()
    for cid in customer_ids:
        stem = _UNSAFE.sub("_", cid).strip("_-")[:_MAX_STEM]
        if stem != cid or not stem or stem.casefold() in _RESERVED or stem.casefold() in seen:
            stem = f"{stem or 'customer'}-{_hash(cid)}"
        seen.add(stem.casefold())
        stems.append(stem)
    return stems


def _one_line(text: str) -> str:
    """Header values may not hold line breaks (they would start a new header)."""
    return " ".join(str(text).split())


def to_address(name: str, email: str) -> Address | None:
    """An e-mail address with display name, or None when `email` is not one."""
    email = email.strip()
    if not email or "@" not in email or any(c.isspace() for c in email):
        return None
    try:
        local, domain = email.rsplit("@", 1)
        return Address(display_name=_one_line(name), username=local, domain=domain)
    except (ValueError, IndexError, HeaderParseError):
        return None


def eml_bytes(draft: Rendered, *, to: Address | None, sender: Address | None) -> bytes:
    """An unsent RFC 5322 draft with To, Subject and a UTF-8 plain-text body (CRLF lines)."""
    message = EmailMessage(policy=policy.SMTP)
    if to is not None:
        message["To"] = to
    if sender is not None:
        message["From"] = sender
    message["Subject"] = _one_line(draft.subject)
    message["X-Unsent"] = "1"
    # 8bit keeps the draft readable in an editor; RFC 5322 allows lines up to 998 bytes.
    longest = max((len(line.encode()) for line in draft.body.splitlines()), default=0)
    message.set_content(draft.body, cte="8bit" if longest <= 998 else "quoted-printable")
    return message.as_bytes()


def html_page(draft: Rendered, language: str) -> str:
    """A standalone page; subject and body were autoescaped when rendered."""
    paragraphs = [p for p in draft.body.strip("\n").split("\n\n") if p.strip()]
    body = "\n".join("<p>" + p.replace("\n", "<br>\n") + "</p>" for p in paragraphs)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{language}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{draft.subject}</title>\n</head>\n<body>\n"
        f"<p><strong>{draft.subject}</strong></p>\n{body}\n</body>\n</html>\n"
    )


def draft_bytes(
    draft: Rendered,
    fmt: str,
    *,
    language: str,
    to: Address | None = None,
    sender: Address | None = None,
) -> bytes:
    """The file content of one draft in `fmt` (md, txt, html or eml)."""
    if fmt == "eml":
        return eml_bytes(draft, to=to, sender=sender)
    if fmt == "html":
        return html_page(draft, language).encode("utf-8")
    if fmt == "md":
        head = f"# {draft.subject}\n\n" if draft.subject else ""
    else:
        head = f"{draft.subject}\n\n" if draft.subject else ""
    return (head + draft.body).encode("utf-8")


def manifest(rows: pd.DataFrame) -> pd.DataFrame:
    """The manifest columns of the drafted rows, in order (missing ones empty)."""
    frame = rows.reindex(columns=MANIFEST_COLUMNS).reset_index(drop=True)
    text = [c for c in MANIFEST_COLUMNS if c not in ("cost", "contact_from")]
    frame[text] = frame[text].fillna("").astype("str")
    return frame


def write_files(out: Path, files: dict[str, bytes], *, force: bool) -> list[Path]:
    """Check every target, then write each atomically; without force nothing is replaced."""
    out.mkdir(exist_ok=True)
    targets = [out / name for name in files]
    check_writable(targets, force=force)
    for path, data in zip(targets, files.values(), strict=True):
        write_atomic(path, data, force=force)
    return targets
