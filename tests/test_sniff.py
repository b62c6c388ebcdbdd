"""Decoding data files and finding their delimiter."""

from __future__ import annotations

import csv
import io
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winback_cli import sniff
from winback_cli.errors import InputError
from winback_cli.sniff import (
    Decoded,
    StreamDecoder,
    decode_bytes,
    detect_delimiter,
    is_utf8,
    newline_count,
)


@pytest.mark.parametrize(
    ("data", "text", "encoding"),
    [
        (b"Kunde;Betrag\n1;2,50\n", "Kunde;Betrag\n1;2,50\n", "utf-8"),
        ("Kunde;Ort\n1;Köln\n".encode(), "Kunde;Ort\n1;Köln\n", "utf-8"),
        (b"\xef\xbb\xbfKunde;Betrag\n", "Kunde;Betrag\n", "utf-8-sig"),
    ],
)
def test_utf8_is_read_as_is(data, text, encoding):
    assert decode_bytes(data, "orders.csv") == Decoded(text=text, encoding=encoding)


def test_windows_1252_is_read_with_a_warning():
    data = "Kunde;Ort;Betrag\n1;Berlin;5 €\n2;Köln;3\n".encode("cp1252")
    decoded = decode_bytes(data, "orders.csv")
    assert decoded.text == "Kunde;Ort;Betrag\n1;Berlin;5 €\n2;Köln;3\n"
    assert decoded.encoding == "cp1252"
    (warning,) = decoded.warnings
    assert warning.startswith("orders.csv was read as Windows-1252 (cp1252)")
    assert "not valid UTF-8 at line 2" in warning
    assert "UTF-8" in warning


def test_bytes_undefined_in_windows_1252_are_refused_with_the_line():
    with pytest.raises(InputError, match=r"orders\.csv.*0x81 at line 3"):
        decode_bytes(b"a;b\n1;2\n3;\x81\n", "orders.csv")


def test_nul_bytes_suggest_exporting_as_csv():
    with pytest.raises(InputError) as caught:
        decode_bytes(b"PK\x03\x04\nabc\x00", "orders.xlsx.csv")
    message = str(caught.value)
    assert "orders.xlsx.csv contains NUL bytes at line 2" in message
    assert "Export it as CSV" in message


def test_utf16_is_refused_with_the_fix():
    with pytest.raises(InputError, match=r"UTF-16.*UTF-8"):
        decode_bytes("a\tb\n".encode("utf-16"), "orders.txt")


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b" \r\n\t\n", "\u00a0\n".encode()])
def test_empty_files_are_refused(data):
    with pytest.raises(InputError, match=r"orders\.csv is empty"):
        decode_bytes(data, "orders.csv")


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("Kunde;Betrag;Datum\n1;2,50;07.10.2025\n2;3,75;08.10.2025\n", ";"),
        ("customer,amount\n1,2.50\n2,3.75\n", ","),
        ("customer\tamount\n1\t2,50\n", "\t"),
        ("customer|amount\n1|2.50\n", "|"),
        ("customer\n1\n2\n", ","),
        ('id,note\n1,"a;b;c"\n2,"x;y;z"\n', ","),
        ('id,note\n1,"line one\nline; two"\n2,ok\n', ","),
        ('id;note\n1;12" pipe, long\n2;ok\n', ";"),
        ("Name, Vorname;Betrag\nMüller, Hans;1,5\nSchmidt, Eva, Dr.;2\n", ";"),
        ("a;b\n1;2\n\n\n", ";"),
        ("a;b\r\n1;2\r\n", ";"),
        ("a,b;c\n1,2;3\n4,5;6\n", ";"),
    ],
)
def test_detect_delimiter(text, delimiter):
    assert detect_delimiter(text, "orders.csv") == delimiter


def test_detect_delimiter_uses_only_the_first_lines():
    text = "a;b\n" + "1;2\n" * 150 + "x,y,z\n" * 1000
    assert detect_delimiter(text, "orders.csv") == ";"


def test_detect_delimiter_on_blank_text_says_the_file_is_empty():
    with pytest.raises(InputError, match=r"orders\.csv is empty"):
        detect_delimiter("\n\n", "orders.csv")


# --- properties -------------------------------------------------------------------------


@given(st.binary(max_size=200))
def test_any_bytes_decode_or_raise_input_error(data):
    try:
        decoded = decode_bytes(data, "orders.csv")
    except InputError as error:
        assert "orders.csv" in str(error)
        return
    assert decoded.encoding in {"utf-8", "utf-8-sig", "cp1252"}
    assert decoded.text.strip()


@given(st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0"), min_size=1))
def test_utf8_text_round_trips(text):
    expected = text.removeprefix("\ufeff")  # a leading BOM is dropped, by design
    if not expected.strip():
        return
    assert decode_bytes(text.encode(), "orders.csv").text == expected


def table(delimiter: str):
    others = "".join(d for d in ";,\t|" if d != delimiter)
    cell = st.text(st.characters(codec="utf-8", exclude_characters=others + "\r\0"), max_size=8)
    return st.integers(2, 6).flatmap(
        lambda width: st.lists(st.lists(cell, min_size=width, max_size=width), min_size=1)
    )


@given(st.sampled_from(";,\t|").flatmap(lambda d: st.tuples(st.just(d), table(d))))
def test_delimiter_of_any_written_table_is_found(case):
    delimiter, rows = case
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    assert detect_delimiter(buffer.getvalue(), "orders.csv") == delimiter


@pytest.mark.parametrize("cut", range(1, 12))
@pytest.mark.parametrize("tail", [b"ok,1\n", b"K\xc3\xb6ln,2\n", b"caf\xe9,3\n"])
def test_a_file_read_in_blocks_decodes_like_the_whole_file(cut, tail):
    # Blocks may end inside a character; a plain ASCII block after that is not
    # valid UTF-8 on its own merits, which the ASCII shortcut must not hide.
    first = b"M\xc3\xbcller,1\n" if tail.isascii() or b"\xc3" in tail else b"Mueller,1\n"
    data = b"name,n\n" + first + tail + b"end,4\n"  # (a file mixing both is not cp1252)
    whole = decode_bytes(data, "x.csv")
    decoder = StreamDecoder("x.csv")
    blocks = [data[k : k + cut] for k in range(0, len(data), cut)]
    out = b"".join(decoder.decode(b, final=k == len(blocks) - 1) for k, b in enumerate(blocks))
    assert out.decode("utf-8") == whole.text
    assert decoder.encoding == whole.encoding


@given(st.binary(max_size=40) | st.text(max_size=20).map(str.encode))
def test_the_quick_utf8_check_judges_like_the_decoder(data):
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        assert not is_utf8(data)
    else:
        assert is_utf8(data)


pieces = st.lists(
    st.sampled_from([b"ab,1\n", b"K\xc3\xb6ln,2\n", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xe9"])
    | st.binary(max_size=4),
    max_size=30,
)


def decoded_in_blocks(data: bytes, size: int) -> tuple:
    decoder = StreamDecoder("x.csv")
    blocks = [data[k : k + size] for k in range(0, len(data), size)] or [b""]
    try:
        out = b"".join(
            decoder.decode(bytearray(b), final=k == len(blocks) - 1) for k, b in enumerate(blocks)
        )
    except InputError as error:
        return ("error", str(error))
    return (bytes(out), decoder.encoding, decoder.warnings)


@settings(max_examples=300, deadline=None)
@given(pieces, st.integers(1, 9))
def test_blocks_checked_quickly_decode_as_the_decoder_alone_would(parts, size):
    data = b"".join(parts)
    quick = decoded_in_blocks(data, size)
    with patch.object(sniff, "is_utf8", lambda _data: False):  # always the decoder
        assert quick == decoded_in_blocks(data, size)


@pytest.mark.parametrize("end", [b"\xe0\x80", b"\xc3\xc3", b"\xf4\x90", b"\xe2\x82"])
def test_a_block_ending_in_a_broken_character_decodes_as_the_decoder_alone_would(end):
    # `\xe2\x82` may go on in the next block; the others are wrong already, so the
    # whole block, umlaut included, is read as cp1252 as the decoder would read it.
    data = b"K\xc3\xb6ln,1\n" + end + b"ab\n"
    quick = decoded_in_blocks(data, 10)
    with patch.object(sniff, "is_utf8", lambda _data: False):
        assert quick == decoded_in_blocks(data, 10)


@given(st.binary(max_size=300), st.integers(0, 3))
def test_newline_count_counts_like_bytes_count(data, megabytes):
    # Past a megabyte the count goes on in the next step; its edge must not lose or add one.
    data = b"\n" * (megabytes << 20) + data + b"x\n" * megabytes
    assert newline_count(data) == data.count(b"\n")
    assert newline_count(bytearray(data)) == data.count(b"\n")


def test_a_byte_undefined_in_windows_1252_in_a_later_block_names_its_line_in_the_file():
    # The first block turns the file to cp1252 (`caf\xe9`); the third holds 0x90 on line 5.
    data = b"name,n\ncaf\xe9,1\nab,2\ncd,3\nx\x90y,4\n"
    assert decoded_in_blocks(data, 12) == (
        "error",
        "x.csv is neither UTF-8 nor Windows-1252: byte 0x90 at line 5 means nothing in "
        "either; save it as UTF-8 (Excel: 'CSV UTF-8') and try again",
    )
