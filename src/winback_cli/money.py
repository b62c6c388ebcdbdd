"""Format money for a locale with Babel, fast enough for whole columns.

Babel's `format_currency` is exact but slow per call; here Babel is asked
once for the locale's symbols and pattern and the result is applied to every
value. `MoneyFormat.many` (and `.column`, for Arrow) formats a whole array
at once, writing the UTF-8 bytes with integer arithmetic (`textbytes`), and
gives exactly the text of formatting each value on its own. Money shown to
people is never a raw float.

Two things differ from Babel on purpose and stay so: amounts are rounded
exactly as Python's `format(value, ".2f")` rounds the binary value (Babel
rounds the shortest decimal text half to even, so 1.015 is 1,01 here and 1,02
there), and an amount that rounds to zero is shown without a minus sign.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa

from winback_cli.textbytes import (
    NUL,
    constant,
    digits,
    either,
    fixed_digits,
    join_columns,
    pack,
    replace_rows,
)

_CENTS_LIMIT = 2.0**52  # below it a float number of cents has an exact fractional part
_PRODUCT_ERROR = 1e-15  # relative error bound of value * 100, with a wide margin


@dataclass(frozen=True)
class MoneyFormat:
    """One locale's currency pattern: `fmt(1234.5)` for one value, `fmt.many(array)` for many."""

    prefix: str
    suffix: str
    negative_prefix: str
    negative_suffix: str
    group: str
    decimal: str

    def __call__(self, value: float) -> str:
        plain = f"{abs(value):,.2f}".translate({ord(","): "\0", ord("."): self.decimal})
        plain = plain.replace("\0", self.group)
        if value < 0 and round(value, 2) != 0:
            return f"{self.negative_prefix}{plain}{self.negative_suffix}"
        return f"{self.prefix}{plain}{self.suffix}"

    def many(self, values) -> np.ndarray:
        """Each value formatted as `self(value)` would, as an object array of str."""
        return self.column(values).to_numpy(zero_copy_only=False)

    def column(self, values) -> pa.LargeStringArray:
        """Each value formatted as `self(value)` would, as an Arrow string array.

        Cents come from the float product `|value| * 100`; where it lies within
        its rounding error of a half cent (often: the mean of two amounts in
        cents), the exact product decides (`_exact_half_up`), so ties round
        exactly as Python does. NaN, infinity and amounts beyond 45 trillion are
        formatted one by one.
        """
        values = np.asarray(values, dtype=np.float64).ravel()
        with np.errstate(over="ignore", invalid="ignore"):  # huge and NaN go one by one
            scaled = np.abs(values) * 100
        usable = np.isfinite(scaled) & (scaled < _CENTS_LIMIT)
        scaled = np.where(usable, scaled, 0.0)
        floor = np.floor(scaled)
        fraction = scaled - floor  # exact: no rounding below 2**52
        up = fraction >= 0.5
        near = np.flatnonzero(np.abs(fraction - 0.5) <= scaled * _PRODUCT_ERROR)
        if len(near):
            up[near] = _exact_half_up(np.abs(values[near]), floor[near])
        cents = (floor + up).astype(np.int64)
        text = self._compose(cents, (values < 0) & (cents > 0))
        odd = np.flatnonzero(~usable)
        if not len(odd):
            return text
        exact = pa.array([self(float(v)) for v in values[odd]], type=pa.large_string())
        return replace_rows(text, odd, exact)

    def _compose(self, cents: np.ndarray, negative: np.ndarray) -> pa.LargeStringArray:
        """The text of whole cents, as bytes in fixed columns (see `textbytes`)."""
        whole = digits(cents // 100)
        group = np.frombuffer(self.group.encode(), np.uint8)
        blocks = [either(negative, self.negative_prefix, self.prefix)]
        for column in range(whole.shape[1]):
            blocks.append(whole[:, column : column + 1])
            right = whole.shape[1] - 1 - column  # digits right of this one
            if right and right % 3 == 0:  # a separator, where this digit is shown
                blocks.append(np.where(whole[:, column : column + 1] != NUL, group, NUL))
        blocks.append(constant(self.decimal, len(cents)))
        blocks.append(fixed_digits(cents % 100, 2))
        blocks.append(either(negative, self.negative_suffix, self.suffix))
        return pack(join_columns(blocks))


def _exact_half_up(amount: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Whether `amount` (>= 0) in cents, exactly, rounds up from `floor` as `.2f` rounds it.

    `.2f` rounds the exact binary value, ties to even. The exact product
    amount * 100 is hi * 100 + lo * 100 (Veltkamp's split: hi and lo have 26
    bits each, so both products are exact); hi * 100 - (floor + 0.5) is exact
    too, the two being within a factor of two (Sterbenz), and a float sum has
    the sign of the exact sum. Only for amounts whose product is near a half cent.
    """
    split = amount * 134_217_729.0  # 2**27 + 1
    hi = split - (split - amount)
    lo = amount - hi
    above = (hi * 100 - (floor + 0.5)) + lo * 100  # the sign of amount * 100 - half
    return (above > 0) | ((above == 0) & (floor % 2 == 1))


@lru_cache(maxsize=16)
def money_formatter(locale: str, currency: str) -> MoneyFormat:
    """Return a function that formats an amount like Babel does for `locale`.

    >>> money_formatter("de_DE", "EUR")(1234.5)
    '1.234,50\\xa0€'
    >>> money_formatter("en_US", "EUR")(-1234.5)
    '-€1,234.50'
    >>> money_formatter("de_DE", "EUR").many([0.5, -1234567.891]).tolist()
    ['0,50\\xa0€', '-1.234.567,89\\xa0€']
    """
    from babel.numbers import format_currency

    sample = format_currency(1234.5, currency, locale=locale)
    negative = format_currency(-1234.5, currency, locale=locale)
    group, decimal = _separators(sample)
    return MoneyFormat(
        prefix=sample.split("1")[0],
        suffix=sample.rsplit("0", 1)[1],
        negative_prefix=negative.split("1")[0],
        negative_suffix=negative.rsplit("0", 1)[1],
        group=group,
        decimal=decimal,
    )


def _separators(sample: str) -> tuple[str, str]:
    """Group and decimal symbols as they appear in '1<g>234<d>50'."""
    digits = sample[sample.index("1") : sample.rindex("0") + 1]
    return digits[1], digits[5]
