"""Fixed vocabularies: the words exports use for yes/no, languages, contract states, reasons.

Exports write the same meaning many ways (`ja`, `X`, `true`, `1`;
`gekündigt`, `cancelled`). These functions fold them onto winback's
canonical values, vectorised over a column. A value that fits no word is
reported back to the caller, which decides how to warn.
"""

from __future__ import annotations

import pandas as pd

TRUE_WORDS = frozenset({"1", "y", "yes", "true", "t", "x", "ja", "j", "wahr", "on"})
FALSE_WORDS = frozenset({"0", "n", "no", "false", "f", "nein", "falsch", "off", "", "-"})

LANGUAGES = {
    "de": ("de", "deu", "ger", "deutsch", "german", "de_de", "de-de", "de_at", "de_ch"),
    "en": ("en", "eng", "englisch", "english", "en_us", "en-us", "en_gb", "en-gb"),
    "fr": ("fr", "fra", "französisch", "french", "francais", "français", "fr_fr"),
    "it": ("it", "ita", "italienisch", "italian", "italiano", "it_it"),
    "es": ("es", "spa", "spanisch", "spanish", "español", "es_es"),
    "nl": ("nl", "nld", "niederländisch", "dutch", "nederlands", "nl_nl"),
}

CONTRACT_STATUS = {
    "active": ("active", "aktiv", "running", "laufend", "ongoing", "ok"),
    "cancelled": ("cancelled", "canceled", "gekündigt", "terminated", "beendet", "storniert"),
    "notice_given": (
        "notice_given",
        "notice given",
        "notice",
        "cancellation announced",
        "kündigung angekündigt",
        "kündigung eingegangen",
        "kündigung",
        "in kündigung",
        "to be cancelled",
    ),
    "expired": ("expired", "abgelaufen", "ausgelaufen", "ended"),
}

REASONS = {
    "price": ("price", "preis", "too expensive", "zu teuer", "preise"),
    "quality": ("quality", "qualität", "qualitaet", "defects", "mängel"),
    "service": ("service", "kundenservice", "support", "lieferung", "delivery"),
    "complaint": ("complaint", "reklamation", "beschwerde", "complaints"),
    "competitor": ("competitor", "wettbewerber", "konkurrenz", "buys elsewhere", "mitbewerber"),
    "moved": ("moved", "umgezogen", "umzug", "relocated", "moved abroad", "ins ausland verzogen"),
    "closed": (
        "closed",
        "geschlossen",
        "insolvent",
        "betrieb aufgegeben",
        "closed down",
        "geschäftsaufgabe",
        "business closed",
    ),
    "no_need": ("no_need", "no need", "kein bedarf", "not needed", "bedarf entfallen"),
    "unknown": ("unknown", "unbekannt", "sonstiges", "other", "andere"),
}


def _lookup(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {word: key for key, words in table.items() for word in words}


_LANGUAGE_OF = _lookup(LANGUAGES)
_CONTRACT_OF = _lookup(CONTRACT_STATUS)
_REASON_OF = _lookup(REASONS)


def fold(values: pd.Series) -> pd.Series:
    """Lower-case and strip a text column for vocabulary look-ups."""
    return values.astype("str").str.strip().str.casefold()


def parse_flags(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Yes/no column -> (bool values, mask of values that are neither).

    >>> flags, unknown = parse_flags(pd.Series(["ja", "", "X", "vielleicht"]))
    >>> flags.tolist(), unknown.tolist()
    ([True, False, True, False], [False, False, False, True])
    """
    folded = fold(values)
    truthy = folded.isin(TRUE_WORDS)
    unknown = ~truthy & ~folded.isin(FALSE_WORDS)
    return truthy.astype(bool), unknown.astype(bool)


def normalise_language(values: pd.Series) -> pd.Series:
    """Language column -> two-letter codes; unknown text kept as its first two letters."""
    folded = fold(values)
    mapped = folded.map(_LANGUAGE_OF)
    fallback = folded.str.slice(0, 2)
    return mapped.fillna(fallback).astype("str")


def normalise_contract_status(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Contract status -> active/cancelled/notice_given/expired/''; mask of unknown words."""
    folded = fold(values)
    mapped = folded.map(_CONTRACT_OF)
    unknown = mapped.isna() & (folded != "")
    return mapped.fillna("").astype("str"), unknown.astype(bool)


def normalise_reason(values: pd.Series) -> pd.Series:
    """Churn reason text -> a reason category, or '' when empty, 'unknown' when unmatched."""
    folded = fold(values)
    mapped = folded.map(_REASON_OF)
    return mapped.where(folded != "", "").fillna("unknown").astype("str")
