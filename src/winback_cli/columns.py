"""Recognise export headers and map them onto winback's canonical column names.

Exports name the same thing many ways (`Kundennummer`, `Kunden-Nr.`,
`customer id`). Headers are compared after folding case and dropping
everything but letters and digits. An explicit `columns:` mapping in the
rules wins over recognition; a profile (Shopify, WooCommerce, SAP, German
Excel) adds the headers of that system. Missing required columns are
reported all at once, together with the headers that were found.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from winback_cli.errors import ColumnError

ORDER_REQUIRED = ("customer_id", "order_date", "amount")
ORDER_OPTIONAL = ("order_id", "cost", "category", "quantity", "status", "currency", "code")
CUSTOMER_FIELDS = (
    "customer_id",
    "salutation",
    "first_name",
    "last_name",
    "name",
    "company",
    "email",
    "language",
    "preferred_channel",
    "opt_out",
    "contract_status",
    "contract_end",
    "churn_reason",
    "strategic",
)

# Order matters: the first alias found in a file wins when several match.
ALIASES: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "customer_id",
        "customer id",
        "customer number",
        "customer no",
        "customer",
        "client id",
        "account id",
        "kundennummer",
        "kunden-nr",
        "kundennr",
        "kunde",
        "kd-nr",
        "debitor",
        "debitorennummer",
        "kundenid",
    ),
    "order_date": (
        "order_date",
        "order date",
        "date",
        "invoice date",
        "bestelldatum",
        "belegdatum",
        "rechnungsdatum",
        "auftragsdatum",
        "datum",
    ),
    "amount": (
        "amount",
        "revenue",
        "net amount",
        "net revenue",
        "net sales",
        "sales",
        "total",
        "umsatz",
        "nettobetrag",
        "nettoumsatz",
        "betrag",
        "netto",
        "umsatz netto",
    ),
    "order_id": (
        "order_id",
        "order id",
        "order number",
        "order no",
        "invoice number",
        "invoice",
        "bestellnummer",
        "belegnummer",
        "auftragsnummer",
        "rechnungsnummer",
        "beleg",
    ),
    "cost": ("cost", "costs", "cogs", "cost of goods", "kosten", "wareneinsatz", "einstandspreis"),
    "category": (
        "category",
        "product category",
        "product group",
        "warengruppe",
        "kategorie",
        "produktgruppe",
        "artikelgruppe",
    ),
    "quantity": ("quantity", "qty", "units", "menge", "anzahl", "stückzahl"),
    "status": ("status", "order status", "bestellstatus", "belegstatus", "auftragsstatus"),
    "currency": ("currency", "währung", "waehrung"),
    # The offer code redeemed with an order; a bare "code" is too often a product code.
    "code": (
        "offer code",
        "discount code",
        "coupon",
        "coupon code",
        "voucher",
        "voucher code",
        "promo code",
        "gutscheincode",
        "rabattcode",
        "gutschein",
        "aktionscode",
    ),
    "salutation": ("salutation", "anrede", "title"),
    "first_name": ("first_name", "first name", "given name", "vorname"),
    "last_name": ("last_name", "last name", "surname", "family name", "nachname"),
    "name": ("name", "full name", "customer name", "kundenname"),
    "company": ("company", "company name", "firma", "unternehmen", "firmenname"),
    "email": ("email", "e-mail", "email address", "e-mail-adresse", "mail"),
    "language": ("language", "locale", "sprache", "korrespondenzsprache"),
    "preferred_channel": (
        "preferred_channel",
        "preferred channel",
        "channel",
        "bevorzugter kanal",
        "kanal",
        "kontaktweg",
    ),
    "opt_out": (
        "opt_out",
        "opt-out",
        "opt out",
        "do not contact",
        "unsubscribed",
        "werbesperre",
        "kein kontakt",
        "werbewiderspruch",
    ),
    "contract_status": ("contract_status", "contract status", "vertragsstatus"),
    "contract_end": ("contract_end", "contract end", "vertragsende", "laufzeitende"),
    "churn_reason": (
        "churn_reason",
        "churn reason",
        "reason",
        "kündigungsgrund",
        "abwanderungsgrund",
    ),
    "strategic": ("strategic", "key account", "strategisch", "schlüsselkunde", "a-kunde"),
}

PROFILE_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "shopify": {
        "customer_id": ("email",),
        "order_id": ("name",),
        "order_date": ("created at",),
        "amount": ("subtotal",),
        "status": ("financial status",),
        "quantity": ("lineitem quantity",),
        "category": ("vendor",),
        "currency": ("currency",),
        "code": ("discount code",),
    },
    "woocommerce": {
        "customer_id": ("customer user id", "customer id", "billing email", "customer"),
        "order_id": ("order number", "order id", "order #"),
        "order_date": ("order date", "date"),
        "amount": ("order subtotal amount", "net sales", "order total amount", "order total"),
        "status": ("order status", "status"),
    },
    "sap": {
        "customer_id": ("sold-to party", "auftraggeber", "kunde", "payer", "regulierer"),
        "order_id": ("billing document", "fakturabeleg", "sales document", "verkaufsbeleg"),
        "order_date": ("billing date", "fakturadatum", "belegdatum", "document date"),
        "amount": ("net value", "nettowert"),
        "cost": ("cost", "kosten", "verrechnungswert"),
        "category": ("material group", "warengruppe"),
    },
    "german_excel": {},
    "generic": {},
}


def normalise_header(header: str) -> str:
    """Fold a header for comparison: `Kunden-Nr.` and `kundennr` are the same.

    >>> normalise_header(" Kunden-Nr. ")
    'kundennr'
    """
    return re.sub(r"[^0-9a-zäöüß]", "", header.casefold())


def detect_profile(headers: Sequence[str]) -> str:
    """Guess the export's system from its headers; `generic` when nothing stands out."""
    folded = {normalise_header(h) for h in headers}
    if {"name", "email", "createdat", "lineitemquantity"} <= folded:
        return "shopify"
    if {"ordernumber", "orderstatus"} <= folded or "ordersubtotalamount" in folded:
        return "woocommerce"
    if folded & {"fakturabeleg", "fakturadatum", "nettowert", "billingdocument", "soldtoparty"}:
        return "sap"
    german = {normalise_header(a) for a in ("kundennummer", "belegdatum", "umsatz", "bestelldatum")}
    if folded & german:
        return "german_excel"
    return "generic"


@dataclass(frozen=True)
class ColumnMap:
    """Which header of a file feeds which canonical column."""

    source: str
    profile: str
    found: dict[str, str]  # canonical name -> header in the file

    def rename(self) -> dict[str, str]:
        """Header -> canonical name, for DataFrame.rename."""
        return {header: name for name, header in self.found.items()}


def _as_tuple(value: str | Sequence[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _find(headers: Sequence[str], candidates: Sequence[str], taken: set[str]) -> str | None:
    exact = {h: h for h in headers if h not in taken}
    for candidate in candidates:
        if candidate in exact:
            return candidate
    folded = {normalise_header(h): h for h in headers if h not in taken}
    for candidate in candidates:
        header = folded.get(normalise_header(candidate))
        if header is not None:
            return header
    return None


def map_columns(
    headers: Sequence[str],
    *,
    source: str,
    wanted: Sequence[str],
    required: Sequence[str],
    mapping: Mapping[str, str | Sequence[str]],
    profile: str = "auto",
) -> ColumnMap:
    """Resolve canonical columns in `headers`; raise one error listing every gap.

    Explicit mappings are resolved first and must exist (a mapped header that is
    missing is an error, not a silent fall-back). Then profile aliases, then
    the common English and German headers.
    """
    chosen = detect_profile(headers) if profile == "auto" else profile
    found: dict[str, str] = {}
    taken: set[str] = set()
    missing: list[str] = []
    for name, value in mapping.items():
        if name not in wanted and name in ALIASES:
            continue  # a mapping for the other file (orders vs customers)
        header = _find(headers, _as_tuple(value), taken)
        if header is None:
            if name in wanted:
                shown = " or ".join(repr(v) for v in _as_tuple(value))
                missing.append(f"{name} (mapped to {shown} in the rules)")
            continue
        found[name] = header
        taken.add(header)
    extra_aliases = PROFILE_ALIASES.get(chosen, {})
    for name in wanted:
        if name in found or name in mapping:
            continue
        candidates = extra_aliases.get(name, ()) + ALIASES.get(name, (name,))
        header = _find(headers, candidates, taken)
        if header is not None:
            found[name] = header
            taken.add(header)
        elif name in required:
            missing.append(name)
    if missing:
        shown_headers = ", ".join(repr(h) for h in headers) or "(none)"
        raise ColumnError(
            f"{source}: missing required column(s): {', '.join(missing)}. "
            f"Headers found: {shown_headers}. "
            "Fix: map them in the rules file, e.g.\n"
            "  columns:\n"
            + "".join(f"    {m.split(' ')[0]}: <header in your file>\n" for m in missing)
        )
    return ColumnMap(source=source, profile=chosen, found=found)
