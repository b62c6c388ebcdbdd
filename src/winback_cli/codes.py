"""Offer codes the shop will accept: taken from a pool, or generated and verifiable.

Two sources, because the shop system must know every code. A pool is a CSV
exported from the shop (`codes.pool`): each draft takes the next code that no
campaign in the ledger has used. Generated codes are derived with HMAC-SHA256
from a secret (environment variable `codes.secret_env`, or `codes.secret`)
and the campaign and customer, so they are unique per customer and campaign,
cannot be guessed without the secret, and can be checked later with
`verify_code`. Codes are assigned for all drafts before any file is written;
running out of pool codes is an error.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from winback_cli.errors import InputError, RulesError
from winback_cli.playbook_rules import CodesRules

# 32 symbols without 0/O and 1/I, which people misread when they type a code.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
MIN_SECRET_LENGTH = 16
PLACEHOLDER = "PREVIEW-CODE"


def code_secret(codes: CodesRules, environ: Mapping[str, str] | None = None) -> bytes | None:
    """The HMAC secret: the environment variable wins over the YAML; None when neither is set."""
    environ = os.environ if environ is None else environ
    secret = environ.get(codes.secret_env) or codes.secret
    if not secret:
        return None
    if len(secret) < MIN_SECRET_LENGTH:
        raise RulesError(
            f"the offer-code secret ({codes.secret_env} or codes.secret) has {len(secret)} "
            f"characters; use at least {MIN_SECRET_LENGTH} random ones, e.g. the output of "
            "python -c 'import secrets; print(secrets.token_urlsafe(24))'"
        )
    return secret.encode("utf-8")


def generate_code(
    secret: bytes, campaign: str, customer_id: str, *, prefix: str = "WB", length: int = 12
) -> str:
    """The code of one customer in one campaign, e.g. `WB-7KQ2-MX9P-A3F4`.

    >>> generate_code(b"0123456789abcdef", "spring", "K1")
    'WB-LRV6-KXVJ-8KUS'
    """
    message = f"winback-offer-code\x1f{campaign}\x1f{customer_id}".encode()
    number = int.from_bytes(hmac.new(secret, message, hashlib.sha256).digest(), "big")
    symbols = []
    for _ in range(length):
        number, digit = divmod(number, len(ALPHABET))
        symbols.append(ALPHABET[digit])
    body = "".join(symbols)
    groups = "-".join(body[i : i + 4] for i in range(0, length, 4))
    return f"{prefix}-{groups}" if prefix else groups


def verify_code(
    code: str,
    secret: bytes,
    campaign: str,
    customer_id: str,
    *,
    prefix: str = "WB",
    length: int = 12,
) -> bool:
    """Whether `code` is the one generated for this customer and campaign (case ignored)."""
    expected = generate_code(secret, campaign, customer_id, prefix=prefix, length=length)
    return hmac.compare_digest(expected.encode(), code.strip().upper().encode())


def read_pool(path: Path, column: str) -> list[str]:
    """Codes of a pool CSV in file order, blanks and repeats left out."""
    from winback_cli.columns import normalise_header
    from winback_cli.tables import read_table

    raw = read_table(str(path))
    headers = {normalise_header(h): h for h in raw.headers}
    header = column if column in raw.headers else headers.get(normalise_header(column))
    if header is None:
        raise InputError(
            f"{path}: no column '{column}' with offer codes (codes.pool_column); "
            f"headers found: {', '.join(raw.headers) or '(none)'}"
        )
    values = raw.frame[header].astype("str").str.strip()
    return list(dict.fromkeys(v for v in values if v))


def assign_codes(
    customer_ids: Sequence[str],
    codes: CodesRules,
    *,
    campaign: str,
    base_dir: Path,
    used: set[str],
    existing: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
    preview: bool = False,
) -> tuple[dict[str, str], list[str]]:
    """A code for each customer (reusing this campaign's codes from the ledger), and notes.

    Raises InputError when a pool has too few unused codes, before anything is written.
    """
    notes: list[str] = []
    result = {cid: existing[cid] for cid in customer_ids if existing.get(cid)}
    needed = [cid for cid in customer_ids if cid not in result]
    if not needed:
        return result, notes
    if codes.pool:
        path = Path(codes.pool)
        path = path if path.is_absolute() else base_dir / path
        pool = read_pool(path, codes.pool_column)
        taken = used | set(result.values())
        free = [code for code in pool if code not in taken]
        if len(free) < len(needed):
            raise InputError(
                f"{path}: {len(needed)} draft(s) need an offer code but only {len(free)} unused "
                f"code(s) are left ({len(pool)} in the pool, {len(pool) - len(free)} already "
                f"used). Add codes to the pool, or write fewer drafts with --limit {len(free)}. "
                "Nothing was written."
            )
        result.update(zip(needed, free, strict=False))
        return result, notes
    secret = code_secret(codes, environ)
    if secret is None:
        if not preview:
            raise RulesError(
                f"{len(needed)} draft(s) need an offer code, but no secret is set. Fix: set the "
                f"environment variable {codes.secret_env} to a long random text, or give "
                "codes.pool (a CSV of codes exported from your shop) in the rules"
            )
        notes.append(
            f"offer codes are shown as {PLACEHOLDER}: set {codes.secret_env} (or codes.pool) "
            "before writing the drafts"
        )
        result.update(dict.fromkeys(needed, PLACEHOLDER))
        return result, notes
    for cid in needed:
        result[cid] = generate_code(secret, campaign, cid, prefix=codes.prefix, length=codes.length)
    clash = used & {result[cid] for cid in needed}
    if len(set(result.values())) < len(result) or clash:
        raise InputError(
            "two offer codes came out the same; raise codes.length and run again "
            "(nothing was written)"
        )
    return result, notes
