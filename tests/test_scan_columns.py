"""Whole-column steps of the scan give what the row-by-row rules they replace give."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from winback_cli.playbook import _align
from winback_cli.reasons import fired_trigger
from winback_cli.scan import _ranking
from winback_cli.trigger_text import fired_texts
from winback_cli.triggers import Evaluation
from winback_cli.value import _percentile_ranks, abc_segments

SCORES = st.sampled_from([0.0, -0.0, 1.0, 2.5, 50.0, np.nan, np.inf, -3.0])


def evaluation(fired: dict[str, list[bool]], evidence: dict[str, list[str]]) -> Evaluation:
    rows = len(next(iter(fired.values()), []))
    return Evaluation(
        pd.DataFrame(fired, index=range(rows)),
        pd.DataFrame(evidence, index=range(rows), dtype=object),
        np.array(["active"] * rows, dtype=object),
        (),
    )


def test_fired_triggers_are_named_and_explained_in_rules_order():
    result = evaluation(
        {"gone": [True, False, True, False], "less": [True, True, False, False]},
        {"gone": ["last order 1", "", "last order 3", ""], "less": ["a | b", "x", "", "stale"]},
    )
    names, evidence = fired_texts(result, np.arange(4))
    assert names.tolist() == ["gone; less", "less", "gone", ""]
    assert evidence.tolist() == [
        "gone: last order 1 | less: a | b",
        "less: x",
        "gone: last order 3",
        "",
    ]
    assert str(names.dtype) == "str" and str(evidence.dtype) == "str"


def test_texts_are_made_for_the_rows_asked_for_in_their_order():
    result = evaluation(
        {"gone": [True, False, True, False], "less": [True, True, False, False]},
        {"gone": ["last order 1", "", "last order 3", ""], "less": ["a", "x", "", "stale"]},
    )
    names, evidence = fired_texts(result, np.array([2, 3, 0]))  # row 1 is left out
    assert names.tolist() == ["gone", "", "gone; less"]
    assert evidence.tolist() == ["gone: last order 3", "", "gone: last order 1 | less: a"]
    assert names.index.equals(pd.RangeIndex(3))


def test_no_triggers_mean_empty_texts():
    names, evidence = fired_texts(evaluation({}, {}), np.arange(0))
    assert names.tolist() == evidence.tolist() == []


@given(st.lists(st.tuples(SCORES, st.sampled_from(["K1", "K10", "K2", "ä", "B"])), max_size=30))
def test_rank_sorts_as_pandas_does(rows):
    table = pd.DataFrame(
        {
            "customer_id": pd.Series([r[1] for r in rows], dtype="str"),
            "value_score": pd.Series([r[0] for r in rows], dtype="float64"),
            "row": range(len(rows)),
        }
    )
    expected = table.sort_values(
        ["value_score", "customer_id"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
    ranked = table.take(_ranking(table)).reset_index(drop=True)
    pd.testing.assert_frame_equal(ranked, expected)


@settings(deadline=None)
@given(st.lists(SCORES | st.floats(-1e6, 1e6), max_size=60))
def test_percentile_ranks_are_pandas_ranks(values):
    series = pd.Series(values, dtype="float64")
    expected = series.rank(pct=True, method="average")
    pd.testing.assert_series_equal(_percentile_ranks(series), expected, check_exact=True)


def reference_segments(values: pd.Series, shares: dict[str, float]) -> pd.Series:
    """The former pandas implementation of `abc_segments`, kept as the oracle."""
    names = list(shares)
    rest = chr(ord(names[-1]) + 1)
    positive = values.clip(lower=0).fillna(0)
    total = positive.sum()
    order = positive.sort_values(ascending=False, kind="stable")
    before = (order.cumsum() - order) / total if total > 0 else order * 0 + 1
    limits = np.cumsum([shares[name] for name in names])
    position = np.searchsorted(limits, before.to_numpy() + 1e-12, side="left")
    labels = np.array([*names, rest], dtype=object)[np.minimum(position, len(names))]
    labels[(order <= 0).to_numpy()] = rest
    return pd.Series(labels, index=order.index).reindex(values.index).astype("str")


@settings(deadline=None)
@given(st.lists(st.sampled_from([0.0, 5.0, 10.0, -1.0, np.nan]) | st.floats(0, 1e6), max_size=60))
def test_segments_match_the_former_pandas_version(values):
    series = pd.Series(values, dtype="float64", index=range(10, 10 + len(values)))
    shares = {"A": 0.8, "B": 0.15}
    pd.testing.assert_series_equal(abc_segments(series, shares), reference_segments(series, shares))


@given(st.lists(st.lists(st.sampled_from(["a", "b", "a.b", "a-b", "ab"]), max_size=3), max_size=20))
def test_a_trigger_is_found_exactly_when_split_would_find_it(names):
    triggers = pd.Series(["; ".join(row) for row in names] + [None], dtype="str")
    for wanted in ("a", "b", "a.b"):
        expected = [wanted in text.split("; ") for text in triggers.fillna("")]
        assert fired_trigger(triggers, wanted).tolist() == expected


def test_signals_line_up_with_the_customers_as_reindex_would():
    signals = pd.DataFrame(
        {"probable": ["price", "", "quality"], "evidence": ["a", "", "c"]},
        index=pd.Index(["x", "y", "z"], name="customer_id"),
    )
    ids = pd.Series(["z", "q", "x", "x"])
    expected = signals.reindex(ids).fillna("").reset_index(drop=True)
    pd.testing.assert_frame_equal(_align(signals, ids), expected)
    empty = _align(signals.iloc[:0], ids)
    assert empty.to_numpy().tolist() == [["", ""]] * 4


def test_signals_already_in_the_customers_order_are_taken_as_they_are():
    signals = pd.DataFrame(
        {"probable": ["price", "", "quality"], "evidence": ["a", "", "c"]},
        index=pd.Index(["x", "y", "z"], name="customer_id"),
    )
    ids = pd.Series(["x", "y", "z"])
    expected = signals.reindex(ids).fillna("").reset_index(drop=True)
    pd.testing.assert_frame_equal(_align(signals, ids), expected)
