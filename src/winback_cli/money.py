"""Format money for a locale with Babel, fast enough for whole columns.

Babel's `format_currency` is exact but slow per call; here Babel is asked
once for the locale's symbols and pattern and the result is applied to every
value. `MoneyFormat.many` (and `.column`, for Arrow) formats a whole array
at once, writing the UTF-8 bytes with integer arithmetic, and gives exactly
the text of formatting each value on its own. Money shown to people is never a raw float.

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

_CENTS_LIMIT = 2.0**52  # below it a float number of cents has an exact fractional part
_PRODUCT_ERROR = 1e-15  # relative error bound of value * 100, with a wide margin
_POWERS = 10 ** np.arange(14, dtype=np.int64)  # 2**52 cents is below 10**14 units


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

        Cents come from the float product `|value| * 100`; the rare values whose
        product lies within its rounding error of a half cent (and NaN, infinity
        and amounts beyond 45 trillion) are formatted one by one, so ties round
        exactly as Python does.
        """
        values = np.asarray(values, dtype=np.float64).ravel()
        with np.errstate(over="ignore", invalid="ignore"):  # huge and NaN go one by one
            scaled = np.abs(values) * 100
        usable = np.isfinite(scaled) & (scaled < _CENTS_LIMIT)
        scaled = np.where(usable, scaled, 0.0)
        floor = np.floor(scaled)
        fraction = scaled - floor  # exact: no rounding below 2**52
        near_half = np.abs(fraction - 0.5) <= scaled * _PRODUCT_ERROR
        cents = (floor + (fraction >= 0.5)).astype(np.int64)
        text = self._compose(cents, (values < 0) & (cents > 0))
        odd = np.flatnonzero(~usable | near_half)
        if not len(odd):
            return text
        exact = pa.array([self(float(v)) for v in values[odd]], type=pa.large_string())
        position = np.arange(len(values))
        position[odd] = len(values) + np.arange(len(odd))
        return pa.concat_arrays([text, exact]).take(pa.array(position))

    def _compose(self, cents: np.ndarray, negative: np.ndarray) -> pa.LargeStringArray:
        """Lay every amount out as one row of UTF-8 bytes with fixed columns, and pack them.

        Each column has one job (a prefix byte, a digit, a separator byte, ...);
        where a row has nothing to say there, for leading zeros or a shorter
        prefix, the byte is NUL. The text never contains NUL, so the non-NUL
        bytes in row order are the Arrow data buffer.
        """
        group, decimal = (np.frombuffer(t.encode(), np.uint8) for t in (self.group, self.decimal))
        units = cents // 100
        digits = np.maximum(np.searchsorted(_POWERS, units, side="right"), 1)
        places = int(digits.max(initial=1))
        prefix = _by_sign(negative, self.prefix, self.negative_prefix)
        suffix = _by_sign(negative, self.suffix, self.negative_suffix)
        whole = prefix.shape[1] + places + (places - 1) // 3 * len(group)
        data = np.empty((len(cents), whole + len(decimal) + 2 + suffix.shape[1]), np.uint8)
        data[:, : prefix.shape[1]] = prefix
        column, rest = whole, units
        for place in range(places):  # right to left; leading zeros become NUL
            rest, digit = np.divmod(rest, 10)
            shown = digits > place
            if place % 3 == 0 and place:
                column -= len(group)
                data[:, column : column + len(group)] = np.where(shown[:, None], group, 0)
            column -= 1
            data[:, column] = digit + 48 * shown
        data[:, whole : whole + len(decimal)] = decimal
        column = whole + len(decimal)
        data[:, column] = 48 + cents % 100 // 10
        data[:, column + 1] = 48 + cents % 10
        data[:, column + 2 :] = suffix
        kept = data != 0
        offsets = np.zeros(len(cents) + 1, dtype=np.int64)
        np.cumsum(np.count_nonzero(kept, axis=1), out=offsets[1:])
        return pa.LargeStringArray.from_buffers(
            len(cents), pa.py_buffer(offsets), pa.py_buffer(data[kept])
        )


def _by_sign(negative: np.ndarray, positive_text: str, negative_text: str) -> np.ndarray:
    """Byte columns holding one text or the other per row, NUL-padded on the left."""
    encoded = [text.encode() for text in (positive_text, negative_text)]
    width = max(map(len, encoded))
    padded = [np.frombuffer(text.rjust(width, b"\0"), np.uint8) for text in encoded]
    return np.where(negative[:, None], padded[1], padded[0])


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
