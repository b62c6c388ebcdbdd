"""Format money for a locale with Babel, fast enough for whole columns.

Babel's `format_currency` is exact but slow per call; here Babel is asked
once for the locale's symbols and pattern and the result is applied to every
value. Money shown to people is never a raw float.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache


@lru_cache(maxsize=16)
def money_formatter(locale: str, currency: str) -> Callable[[float], str]:
    """Return a function that formats an amount like Babel does for `locale`.

    >>> money_formatter("de_DE", "EUR")(1234.5)
    '1.234,50\\xa0€'
    >>> money_formatter("en_US", "EUR")(-1234.5)
    '-€1,234.50'
    """
    from babel.numbers import format_currency

    sample = format_currency(1234.5, currency, locale=locale)
    negative = format_currency(-1234.5, currency, locale=locale)
    group, decimal = _separators(sample)
    prefix, suffix = sample.split("1")[0], sample.rsplit("0", 1)[1]
    neg_prefix, neg_suffix = negative.split("1")[0], negative.rsplit("0", 1)[1]

    def format_one(value: float) -> str:
        plain = f"{abs(value):,.2f}".translate({ord(","): "\0", ord("."): decimal}).replace(
            "\0", group
        )
        if value < 0 and round(value, 2) != 0:
            return f"{neg_prefix}{plain}{neg_suffix}"
        return f"{prefix}{plain}{suffix}"

    return format_one


def _separators(sample: str) -> tuple[str, str]:
    """Group and decimal symbols as they appear in '1<g>234<d>50'."""
    digits = sample[sample.index("1") : sample.rindex("0") + 1]
    return digits[1], digits[5]
