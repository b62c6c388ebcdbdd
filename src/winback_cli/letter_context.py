"""What a letter template sees: one plain dictionary per customer, and the locale to format in.

The scan row becomes `customer` (every column, missing values as None, dates
as dates), next to the greeting for the template's language, the reason,
the measure and its offer with the code, the sender and the campaign. Only
plain dicts, lists, strings, numbers and dates go in, so the sandbox has
nothing to reach through. The variables are documented in the README.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from winback_cli.columns import CUSTOMER_FIELDS
from winback_cli.rules import Rules

# The locale for each language when the rules' locale is for another language.
DEFAULT_LOCALES = {
    "de": "de_DE",
    "en": "en_GB",
    "fr": "fr_FR",
    "it": "it_IT",
    "es": "es_ES",
    "nl": "nl_NL",
}
MALE = {"herr", "hr", "hr.", "mr", "mr.", "monsieur", "signor", "señor", "dhr", "dhr."}
FEMALE = {"frau", "fr", "fr.", "ms", "ms.", "mrs", "mrs.", "miss", "madame", "signora", "mevr"}
GREETINGS = {
    "de": {
        "male": "Sehr geehrter Herr {last},",
        "female": "Sehr geehrte Frau {last},",
        "person": "Guten Tag {first} {last},",
        "nobody": "Sehr geehrte Damen und Herren,",
    },
    "en": {
        "male": "Dear Mr {last},",
        "female": "Dear Ms {last},",
        "person": "Dear {first} {last},",
        "nobody": "Dear Sir or Madam,",
    },
}


def letter_locale(language: str, rules: Rules) -> str:
    """The Babel locale for money and dates in a letter of `language`."""
    if rules.locale.split("_")[0].casefold() == language:
        return rules.locale
    return DEFAULT_LOCALES.get(language, language or rules.locale)


def greeting(language: str, salutation: str, first: str, last: str) -> str:
    """The personal salutation line, formal in German ("Sie").

    >>> greeting("de", "Frau", "Claudia", "Sommer")
    'Sehr geehrte Frau Sommer,'
    >>> greeting("en", "Herr", "Franz", "Müller")
    'Dear Mr Müller,'
    """
    words = GREETINGS.get(language, GREETINGS["en"])
    title = salutation.strip().casefold().split(" ")[0] if salutation.strip() else ""
    if last and title in MALE:
        kind = "male"
    elif last and title in FEMALE:
        kind = "female"
    elif last:
        kind = "person"
    else:
        kind = "nobody"
    return words[kind].format(first=first, last=last).replace("  ", " ")


def plain(value: Any) -> Any:
    """A cell as a template value: None for missing, dates as dates, numpy as Python."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA:
        return None
    return value


def _text(customer: dict[str, Any], key: str) -> str:
    value = customer.get(key)
    return "" if value is None else str(value).strip()


def build_context(
    row: dict[str, Any],
    *,
    rules: Rules,
    measure,
    offer_code: str,
    language: str,
    as_of: dt.date,
    campaign: str,
    trigger_kinds: dict[str, str],
    trigger_labels: dict[str, str],
) -> dict[str, Any]:
    """The variables of one customer's letter; see the module docstring."""
    # Every customer-file field exists, so templates work whichever columns a file has.
    customer = dict.fromkeys(CUSTOMER_FIELDS)
    customer.update({str(key): plain(value) for key, value in row.items()})
    ids = [t for t in _text(customer, "triggers").split("; ") if t]
    evidence = dict(
        part.split(": ", 1) for part in _text(customer, "evidence").split(" | ") if ": " in part
    )
    offer = measure.offer
    sender = rules.templates.sender
    valid_until = offer.valid_for.after(as_of).date() if offer.valid_for else None
    return {
        "customer": customer,
        "greeting": greeting(
            language,
            _text(customer, "salutation"),
            _text(customer, "first_name"),
            _text(customer, "last_name"),
        ),
        "triggers": [
            {"id": t, "label": trigger_labels.get(t, t), "evidence": evidence.get(t, "")}
            for t in ids
        ],
        "trigger_kinds": sorted({trigger_kinds[t] for t in ids if t in trigger_kinds}),
        "reason": {
            "category": _text(customer, "reason"),
            "source": _text(customer, "reason_source"),
            "evidence": _text(customer, "reason_evidence"),
        },
        "measure": {
            "id": measure.id,
            "channel": _text(customer, "channel"),
            "owner": measure.owner,
            "cost": measure.cost,
            "contact_from": customer.get("contact_from"),
        },
        "offer": {
            "kind": offer.kind,
            "percent": offer.percent,
            "amount": offer.amount,
            "text": offer.text,
            "code": offer_code,
            "valid_until": valid_until,
        },
        "offer_code": offer_code,
        "sender": sender.model_dump(),
        "signer": measure.owner or sender.name,
        "campaign": campaign,
        "as_of": as_of,
        "language": language,
        "locale": letter_locale(language, rules),
        "currency": rules.currency,
    }
