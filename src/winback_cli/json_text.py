"""JSON and JSON Lines text of a result table, laid out exactly as `json.dumps` lays it out.

`outputs.table_bytes` hands tables here. Each column is spelled by its kind
(`outputs.column_kind`): ISO dates, null for missing and for infinities,
numbers as Python's `repr` writes them; the keys, separators and brackets are
constant parts joined between the columns' cells, some thousand rows at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from json.encoder import encode_basestring

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from winback_cli.arrowtext import text as scalar
from winback_cli.outputs import column_kind, each_column, format_dates, joined_rows
from winback_cli.textbytes import float_reprs, joined

_JSON_SPECIAL = bytes(range(32)) + b'"\\'  # what json.dumps escapes in a string


def json_pieces(
    df: pd.DataFrame,
    *,
    before: str,
    between: str,
    after: str,
    separator: str,
    start: str,
    end: str,
    indent: str = "",
) -> Iterator[memoryview]:
    """Rows as JSON objects laid out exactly as `json.dumps` would, `between` them.

    The keys, separators and brackets are constant parts between the columns'
    cells, joined by Arrow (`outputs.joined_rows`) and read straight from its buffer.
    """
    if df.shape[1] == 0:
        empty = start[: start.index("{")] + "{}"
        return iter([memoryview((before + between.join([empty] * len(df)) + after).encode())])
    rows = len(df)
    opening = pa.concat_arrays(
        [pa.array([before + start], pa.large_string()), pa.repeat(scalar(start), rows - 1)]
    )
    closing = pa.concat_arrays(
        [pa.repeat(scalar(end + between), rows - 1), pa.array([end + after], pa.large_string())]
    )
    parts: list = [opening]
    for i, (name, cells) in enumerate(zip(df.columns, each_column(df, _json_cells), strict=True)):
        key = f"{separator if i else ''}{indent}{encode_basestring(str(name))}: "
        # A repeated array, not a scalar: Arrow joins arrays several times faster.
        parts += [pa.repeat(scalar(key), rows), cells]
    return joined_rows([*parts, closing], "")


def _json_cells(series: pd.Series) -> pa.Array:
    """Each value as JSON text; null for missing and for ±inf (JSON has no infinity)."""
    kind = column_kind(series)
    if kind == "int":
        text = pa.array(series).cast(pa.large_string())
    elif kind == "bool":
        text = pc.if_else(pa.array(series, type=pa.bool_()), scalar("true"), scalar("false"))
    elif kind == "float":
        text = float_reprs(series.to_numpy("float64", na_value=np.nan))
    elif kind == "date":
        text = _json_strings(format_dates(series, "T"))
    else:
        text = _json_strings(pa.array(series, pa.large_string(), from_pandas=True))
    return pc.fill_null(text.cast(pa.large_string()), scalar("null"))


def _json_strings(text: pa.Array) -> pa.Array:
    """Quote strings for JSON; only the few with quotes, backslashes or controls are escaped."""
    quote = scalar('"')
    encoded = pc.binary_join_element_wise(quote, text, quote, scalar(""))
    everything = bytes(joined(text))
    if len(everything.translate(None, _JSON_SPECIAL)) == len(everything):
        return encoded  # the usual case, seen in one pass over the bytes
    special = np.flatnonzero(pc.fill_null(pc.match_substring_regex(text, r'[\x00-\x1f"\\]'), False))
    if not len(special):
        return encoded
    fixed = encoded.to_numpy(zero_copy_only=False).astype(object)
    for i in special:
        fixed[i] = encode_basestring(text[i].as_py())
    return pa.array(fixed, pa.large_string())
