"""Numbers and quoting written column-wise read exactly as the one-value-at-a-time rules say."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from winback_cli.outputs import table_bytes, to_csv, to_json, to_jsonl, write_text_output
from winback_cli.textbytes import float_reprs, plain_decimals

FLOATS = st.floats(allow_nan=True, allow_infinity=True)
DECIMALS = st.builds(
    lambda n, places: n / 10**places, st.integers(-(10**13), 10**13), st.integers(0, 7)
)


def plain(value: float, decimal: str) -> str | None:
    """The CSV spelling of one float: half away from zero to 6 decimals, no exponent."""
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if abs(value) >= 9e12:
        return np.format_float_positional(value, precision=6, trim="-").replace(".", decimal)
    magnitude = math.floor(abs(value) * 1_000_000 + 0.5)
    whole, fraction = divmod(magnitude, 1_000_000)
    text = str(whole) + (decimal + f"{fraction:06d}".rstrip("0") if fraction else "")
    return ("-" if value < 0 and magnitude else "") + text


@settings(max_examples=300, deadline=None)
@given(st.lists(FLOATS | DECIMALS, max_size=40), st.sampled_from([".", ","]))
def test_csv_floats_follow_the_rule_for_every_value(values, decimal):
    array = np.array(values, dtype=np.float64)
    assert plain_decimals(array, decimal).to_pylist() == [plain(v, decimal) for v in values]


def test_missing_values_become_nulls_all_at_once(monkeypatch):
    # A scan without lifetime values has whole columns of NaN: none of them may take
    # the one-by-one path that huge values and infinities take.
    import winback_cli.textbytes as textbytes

    spelled = []
    original = textbytes._huge_or_infinite
    monkeypatch.setattr(
        textbytes, "_huge_or_infinite", lambda v, d: spelled.append(v) or original(v, d)
    )
    values = np.array([np.nan] * 1000 + [np.inf, 2.5, 1e20])
    assert plain_decimals(values, ",").to_pylist() == [None] * 1000 + [
        "inf",
        "2,5",
        "100000000000000000000",
    ]
    assert spelled == [np.inf, 1e20]


@settings(max_examples=300, deadline=None)
@given(st.lists(FLOATS | DECIMALS, max_size=40))
def test_json_floats_are_their_repr(values):
    expected = [repr(v) if math.isfinite(v) else None for v in values]
    assert float_reprs(np.array(values, dtype=np.float64)).to_pylist() == expected


def test_json_floats_around_the_edges_of_the_short_path():
    values = [0.0, -0.0, 1e-4, 9.99e-05, 4e9, 3.999999999e9, 123.0, -5.5, 1 / 3, 2.675, 1e16]
    assert float_reprs(np.array(values)).to_pylist() == [repr(v) for v in values]


def read_back(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def test_text_is_wrapped_in_quotes_only_where_needed():
    names = ["plain", "a, b", 'say "hi"', "two\nlines", "semi;colon", None]
    df = pd.DataFrame({"name": pd.Series(names, dtype="str"), "n": range(6)})
    text = to_csv(df)
    assert text.splitlines()[1:3] == ["plain,0", '"a, b",1']
    assert read_back(text, ",")[1:] == [[n or "", str(i)] for i, n in enumerate(names)]
    german = to_csv(df, style="excel-de")
    assert german.split("\r\n")[2] == "a, b;1"  # no delimiter inside: no quotes
    assert read_back(german, ";")[1:] == [[n or "", str(i)] for i, n in enumerate(names)]


def test_text_held_by_arrow_in_chunks_is_written_whole():
    chunked = pa.chunked_array([["=x", "a,b"], ["c", None]], pa.large_string())
    df = pd.DataFrame({"name": pd.Series(pd.arrays.ArrowExtensionArray(chunked))})
    assert to_csv(df) == 'name\n\'=x\n"a,b"\nc\n\n'


def frame() -> pd.DataFrame:
    return pd.DataFrame({"name": ["Müller, A", "=x"], "value": [1.5, None], "n": [1, 2]})


def test_table_bytes_are_the_text_encoded():
    df = frame()
    assert bytes(table_bytes(df, "csv", style="excel-de", bom=True)) == to_csv(
        df, style="excel-de", bom=True
    ).encode("utf-8")
    assert bytes(table_bytes(df, "json")) == to_json(df).encode("utf-8")
    assert bytes(table_bytes(df, "jsonl")) == to_jsonl(df).encode("utf-8")
    empty = df.iloc[:0]
    assert [bytes(table_bytes(empty, f)) for f in ("csv", "json", "jsonl")] == [
        b"name,value,n\n",
        b"[]\n",
        b"",
    ]


def test_bytes_are_written_like_text(tmp_path):
    data = table_bytes(frame(), "csv", style="excel-de")
    path = write_text_output(tmp_path / "out.csv", data, io.StringIO(), force=False, bom=True)
    assert path.read_bytes() == to_csv(frame(), style="excel-de", bom=True).encode("utf-8")
    stream = io.StringIO()
    write_text_output(None, data, stream, force=False)
    assert stream.getvalue() == to_csv(frame(), style="excel-de")
    raw = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    write_text_output(None, table_bytes(frame(), "jsonl"), raw, force=False)
    assert raw.buffer.getvalue() == to_jsonl(frame()).encode("utf-8")
