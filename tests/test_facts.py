"""Per-customer facts: the helpers that make them fast keep them right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from winback_cli.facts import compute_facts, factorize_text


def test_factorize_text_handles_chunked_arrow_columns_and_sorts():
    chunked = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([["b", "a"], ["b", "c"]])))
    codes, uniques = factorize_text(chunked, sort=True)
    assert uniques.tolist() == ["a", "b", "c"]
    assert codes.tolist() == [1, 0, 1, 2]


def _orders(rows):
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"]).astype("datetime64[s]")
    return frame


def test_lines_of_one_order_count_once_and_shared_ids_stay_apart():
    frame = _orders(
        [
            ("A", "1", "2025-01-02", 10.0),
            ("A", "1", "2025-01-02", 5.0),  # two lines, one order
            ("B", "1", "2025-01-03", 7.0),  # the same id used by another customer
            ("B", "", "2025-01-04", 1.0),
            ("B", "", "2025-01-05", 2.0),  # no id: each its own order
        ]
    )
    facts, ids = compute_facts(frame, pd.Timestamp("2025-02-01"))
    table = facts.customers.set_index(ids)
    assert table.loc["A", "orders"] == 1 and table.loc["A", "revenue_total"] == 15.0
    assert table.loc["B", "orders"] == 3
    assert np.isclose(table.loc["A", "aov"], 15.0)
