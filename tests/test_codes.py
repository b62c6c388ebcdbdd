"""Offer codes: generated ones are unique and verifiable, a pool is used once and can run out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from winback_cli.codes import ALPHABET, assign_codes, generate_code, verify_code
from winback_cli.errors import InputError, RulesError
from winback_cli.playbook_rules import CodesRules

SECRET = b"a-secret-of-sixteen-or-more"
ENV = {"WINBACK_CODE_SECRET": SECRET.decode()}


def test_a_generated_code_is_verifiable_for_its_customer_and_campaign_only():
    code = generate_code(SECRET, "spring", "K00042")
    assert verify_code(code, SECRET, "spring", "K00042")
    assert verify_code(code.lower(), SECRET, "spring", "K00042")  # typed by hand
    assert not verify_code(code, SECRET, "autumn", "K00042")
    assert not verify_code(code, SECRET, "spring", "K00043")
    assert not verify_code(code, b"another-secret-of-length", "spring", "K00042")


@given(st.lists(st.text(min_size=1, max_size=12), min_size=2, max_size=50, unique=True))
def test_generated_codes_are_unique_and_use_the_readable_alphabet(customers):
    codes = [generate_code(SECRET, "spring", customer) for customer in customers]
    assert len(set(codes)) == len(codes)
    for code in codes:
        prefix, *groups = code.split("-")
        assert prefix == "WB" and [len(g) for g in groups] == [4, 4, 4]
        assert set("".join(groups)) <= set(ALPHABET)


def test_codes_are_assigned_for_every_customer_and_reused_within_a_campaign():
    codes, notes = assign_codes(
        ["a", "b"],
        CodesRules(),
        campaign="spring",
        base_dir=None,
        used={"WB-OLD1"},
        existing={"a": "WB-FROM-LEDGER"},
        environ=ENV,
    )
    assert codes == {"a": "WB-FROM-LEDGER", "b": generate_code(SECRET, "spring", "b")}
    assert notes == []


def test_writing_without_a_secret_is_refused_and_a_preview_shows_a_placeholder():
    with pytest.raises(RulesError, match="WINBACK_CODE_SECRET"):
        assign_codes(
            ["a"], CodesRules(), campaign="c", base_dir=None, used=set(), existing={}, environ={}
        )
    codes, notes = assign_codes(
        ["a"], CodesRules(), campaign="c", base_dir=None, used=set(), existing={}, environ={},
        preview=True,
    )  # fmt: skip
    assert codes == {"a": "PREVIEW-CODE"}
    assert "WINBACK_CODE_SECRET" in notes[0]


def test_a_short_secret_is_refused():
    with pytest.raises(RulesError, match="at least 16"):
        assign_codes(
            ["a"], CodesRules(secret="short"), campaign="c", base_dir=None, used=set(),
            existing={}, environ={},
        )  # fmt: skip


def test_pool_codes_are_taken_in_order_skipping_used_ones(tmp_path):
    (tmp_path / "pool.csv").write_text("Gutscheincode\nA1\nA2\nA2\n\nA3\nA4\n", encoding="utf-8")
    rules = CodesRules(pool="pool.csv", pool_column="gutscheincode")
    codes, _ = assign_codes(
        ["x", "y"], rules, campaign="c", base_dir=tmp_path, used={"A1", "A3"}, existing={}
    )
    assert codes == {"x": "A2", "y": "A4"}


def test_an_exhausted_pool_is_an_error_that_says_how_many_are_left(tmp_path):
    (tmp_path / "pool.csv").write_text("code\nA1\nA2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"3 draft\(s\) need an offer code but only 1 unused"):
        assign_codes(
            ["x", "y", "z"],
            CodesRules(pool=str(tmp_path / "pool.csv")),
            campaign="c",
            base_dir=tmp_path,
            used={"A1"},
            existing={},
        )


def test_a_pool_without_the_code_column_names_the_headers(tmp_path):
    (tmp_path / "pool.csv").write_text("voucher\nA1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no column 'code'.*voucher"):
        assign_codes(
            ["x"], CodesRules(pool="pool.csv"), campaign="c", base_dir=tmp_path, used=set(),
            existing={},
        )  # fmt: skip
