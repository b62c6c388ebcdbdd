"""Fast paths for money columns of bare numbers: `-12.5`, `1234,56`, `1.234,56`, `12,50 €`.

Exports from shops and ERPs mostly hold numbers with one decimal separator,
maybe thousands marks, and at most one currency mark written the same way on
every value. `parse_bare` reads such a column with Arrow's cast, after
checking on the buffers that it reads exactly what `amounts`' full reading
would: the same numbers, separator and currencies. Any other column gets
None and goes to that full reading.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from winback_cli.facts_text import text_buffers

OTHER = {".": ",", ",": "."}
PLAIN = b"0123456789.,-"  # the bytes of bare numbers such as -1234.50 or 12,5
_AMBIGUOUS = r"^-?[1-9][0-9]{0,2}[.,][0-9]{3}$"
# What may stand between a currency mark and the number, longest first: with a space
# there, `€` alone would leave the space on the number.
_GAPS = ("\u00a0", "\u202f", " ", "")


def parse_bare(
    text: pa.Array,
    present: frozenset[int],
    decimal: str | None,
    hint: str,
    spellings: dict[str, str],
) -> tuple[pa.Array, str, frozenset[str]] | None:
    """Numbers, decimal separator and currencies of a column of bare numbers; else None.

    `present` are the bytes in `text` (`bytes_in`); `spellings` map each way of
    writing a currency mark (`€`, `EUR`, `eur`) to its ISO code.
    """
    plain = _parse_plain(text, present, decimal, hint)
    if plain is not None:
        return (*plain, frozenset())
    if present <= set(PLAIN):
        return None
    marked = _strip_mark(text, spellings)
    if marked is None:
        return None
    bare, iso = marked
    plain = _parse_plain(bare, bytes_in(bare), decimal, hint)
    return None if plain is None else (*plain, frozenset({iso}))


def _strip_mark(text: pa.Array, spellings: dict[str, str]) -> tuple[pa.Array, str] | None:
    """`text` without the currency mark every value carries the same way (`12,50 €`,
    `€12.50`), and the mark's ISO code; None unless every value has that mark.

    >>> bare, iso = _strip_mark(pa.array(["12,50 €", "-3 €"], pa.large_string()), {"€": "EUR"})
    >>> bare.to_pylist(), iso
    (['12,50', '-3'], 'EUR')
    """
    first = text[0].as_py() if len(text) else ""
    for spelling, iso in spellings.items():
        for gap in _GAPS:
            for affix, at_end in ((gap + spelling, True), (spelling + gap, False)):
                if first.endswith(affix) if at_end else first.startswith(affix):
                    bare = _without(text, affix.encode(), at_end)
                    if bare is not None:
                        return bare, iso
    return None


def _without(text: pa.Array, affix: bytes, at_end: bool) -> pa.Array | None:
    """`text` with `affix` cut off the end (or the start) of every value; None unless
    every value has it there, and its bytes nowhere else."""
    offsets, data = text_buffers(text)
    k, n = len(affix), len(text)
    if (np.diff(offsets) < k).any():
        return None
    at = offsets[1:] - k if at_end else offsets[:-1]
    if any((data[at + j] != byte).any() for j, byte in enumerate(affix)):
        return None
    low = int(offsets[0])
    body = data[low : offsets[-1]].tobytes()
    bare = body.translate(None, affix)
    if len(body) - len(bare) != k * n:
        return None  # the mark's bytes stand elsewhere too (`1 234,56 €`)
    return _texts(offsets - low - k * np.arange(n + 1), bare)  # each value before lost k


def bytes_in(array: pa.Array) -> frozenset[int]:
    """The byte values that occur in the array's text, to skip kernels that cannot matter.

    One pass over the data buffer (which may hold bytes of a sliced-away part: a
    needle then only looks present, which costs time, never correctness) deletes
    the bytes of bare numbers; what is left is searched a distinct byte at a time.
    """
    data = array.buffers()[2]
    if data is None or data.size == 0:
        return frozenset()
    raw = data.to_pybytes()
    found = {byte for byte in PLAIN if byte in raw}
    rest = raw.translate(None, PLAIN)
    while rest:  # few distinct bytes besides digits: a currency mark, spaces, letters
        found.add(rest[0])
        rest = rest.translate(None, rest[:1])
    return frozenset(found)


def maybe(present: frozenset[int], needles: Iterable[str]) -> list[str]:
    """The needles whose bytes all occur in the text."""
    return [needle for needle in needles if set(needle.encode()) <= present]


def _parse_plain(
    text: pa.Array, present: frozenset[int], decimal: str | None, hint: str
) -> tuple[pa.Array, str] | None:
    """Fast path for columns of bare numbers like `-12.5`, `1234,56` or `1.234,56`; None if
    not plain.

    Arrow's cast does the checking: with only digits, one kind of separator and
    `-` in the text it reads exactly the values `-?[0-9]+([.,][0-9]+)?` plus
    `.5` and `-.5`, which the full path reads alike, and `5.`, which it refuses:
    a column with such a value goes there. Thousands marks (German exports
    write `1.234,56`) are checked to group digits by three and then removed.
    """
    if not present <= set(PLAIN):
        return None
    found = set(maybe(present, ".,"))
    used = decimal or hint
    if len(found) == 1 and not decimal:
        sep = next(iter(found))
        # A separator that is the hint is used as decimal either way: no need to prove it.
        if sep != hint and _proves_decimal(text, sep):
            used = sep
    marks = None
    if OTHER[used] in found:
        # With every mark grouping thousands, every value is readable with `used` and none
        # only with the mark, so the full path decides on `used` too: the hint, given or
        # proved.
        marks = _thousands_marks(text, OTHER[used], used)
        if marks is None:
            return None  # the full path judges the values that are not
    if used in found and _ends_with(text, used):
        return None
    text = _cast_ready(text, marks, used)
    try:
        return finite(pc.cast(text, pa.float64())), used
    except pa.ArrowInvalid:
        return None


def _thousands_marks(text: pa.Array, mark: str, sep: str) -> np.ndarray | None:
    """Where `mark` stands in these bare numbers (byte positions in the data buffer), if
    every one groups thousands before the decimal `sep`; else None.

    That is 1-3 digits, not starting with 0, then the marks, each followed by
    three digits, as in `-1.234.567,89`: what the full path's shape allows.

    >>> _thousands_marks(pa.array(["1.234,5", "-12.345.678"], pa.large_string()), ".", ",")
    array([ 1, 10, 14])
    >>> _thousands_marks(pa.array(["12.34,5"], pa.large_string()), ".", ",") is None
    True
    """
    offsets, data = text_buffers(text)
    low = int(offsets[0])
    marks = np.flatnonzero(data[low : offsets[-1]] == ord(mark)) + low
    if not len(marks):
        return marks
    value = np.searchsorted(offsets, marks, side="right") - 1
    end = offsets[value + 1]
    if (marks + 4 > end).any():
        return None
    if ((data[marks[:, None] + np.arange(1, 4)] - np.uint8(ord("0"))) > 9).any():
        return None  # bytes below `0` wrap past 9 as well
    after = marks + 4
    at = data[np.minimum(after, len(data) - 1)]
    if not ((after == end) | (at == ord(mark)) | (at == ord(sep))).all():
        return None
    first = np.r_[True, value[1:] != value[:-1]]
    if ((np.diff(marks) != 4) & ~first[1:]).any():
        return None  # marks of one value four bytes apart: three digits between
    start = offsets[value[first]]
    start = start + (data[start] == ord("-"))
    lead = marks[first] - start
    if ((lead < 1) | (lead > 3)).any() or (data[start] == ord("0")).any():
        return None
    for k in range(3):  # the one to three bytes before the first mark are digits
        inside = start + k < marks[first]
        if ((data[(start + k)[inside]] - np.uint8(ord("0"))) > 9).any():
            return None
    return marks


def _cast_ready(text: pa.Array, marks: np.ndarray | None, sep: str) -> pa.Array:
    """`text` without its thousands marks (at `marks`, from `_thousands_marks`) and with `.`
    for the decimal `sep`, as Arrow's cast reads numbers; made on the buffers, several
    times faster than replace kernels.

    >>> text = pa.array(["1.234,5", "-7"], pa.large_string())
    >>> _cast_ready(text, _thousands_marks(text, ".", ","), ",").to_pylist()
    ['1234.5', '-7']
    """
    if marks is None and sep == ".":
        return text
    offsets, data = text_buffers(text)
    low = int(offsets[0])
    starts = offsets - low
    if marks is not None:  # each value starts earlier by the marks before it
        starts = starts - np.searchsorted(marks, offsets)
    table = bytes.maketrans(b",", b".") if sep == "," else None
    gone = OTHER[sep].encode() if marks is not None else b""
    return _texts(starts, data[low : offsets[-1]].tobytes().translate(table, gone))


def _texts(offsets: np.ndarray, data: bytes) -> pa.LargeStringArray:
    """A text array, none missing, from its offsets (from 0) and its bytes."""
    return pa.LargeStringArray.from_buffers(
        len(offsets) - 1, pa.py_buffer(offsets.astype(np.int64)), pa.py_buffer(data), null_count=0
    )


def _ends_with(text: pa.Array, sep: str) -> bool:
    """Does a value end with `sep` (`5.`)? Arrow reads it as 5, the full path refuses it.

    The last byte of each value, read from the buffers: a third of the time
    of an Arrow kernel.
    """
    offsets, data = text_buffers(text)
    filled = offsets[1:] > offsets[:-1]
    return bool((data[offsets[1:][filled] - 1] == ord(sep)).any())


def _proves_decimal(plain: pa.Array, sep: str) -> bool:
    """True if some plain value can only be read with `sep` as decimal separator."""
    position = pc.find_substring(plain, sep)
    after = pc.subtract(pc.subtract(pc.binary_length(plain), position), 1)
    if pc.any(pc.and_(pc.greater_equal(position, 0), pc.not_equal(after, 3))).as_py():
        return True  # cheap answer for the usual `12.50`; `1.234` needs the regex
    with_sep = pc.sum(pc.greater_equal(position, 0)).as_py() or 0
    return with_sep > (pc.sum(pc.match_substring_regex(plain, _AMBIGUOUS)).as_py() or 0)


def finite(numbers: pa.Array) -> pa.Array:
    """Overflowing exponents or digit strings give inf: that is no amount either."""
    return pc.if_else(pc.is_finite(numbers), numbers, pa.scalar(None, pa.float64()))
