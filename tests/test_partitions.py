"""Order rows grouped by customer, spilled to disk past a threshold, lose nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winback_cli.partitions import PartitionStore, partition_of


def orders(n: int, customers: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": pd.Series(
                [f"K{c:05d}" for c in rng.integers(0, customers, n)], dtype="str"
            ),
            "order_date": pd.Timestamp("2025-01-01")
            + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
            "amount": rng.normal(50, 20, n).round(2),
            "_row": np.arange(2, n + 2, dtype=np.int64),
        }
    )


def test_small_input_stays_in_memory_as_one_group():
    frame = orders(100, 10)
    with PartitionStore(spill_rows=1000) as store:
        store.add(frame)
        groups = [read() for read in store.groups()]
        assert not store.spilled
    assert len(groups) == 1 and groups[0][0] is frame


@pytest.mark.parametrize("mapped", [True, False])  # False: how Windows reads them
def test_large_input_is_split_into_groups_of_whole_customers(monkeypatch, mapped):
    from winback_cli import partitions

    monkeypatch.setattr(partitions, "MAP_FILES", mapped)
    frames = [orders(500, 80, seed) for seed in range(6)]
    with PartitionStore(spill_rows=1000) as store:
        store.expected_rows = 3000
        for frame in frames:
            store.add(frame)
        assert store.spilled
        folder = store._folder
        pieces = [read() for read in store.groups()]
        groups = [pd.concat(group, ignore_index=True) for group in pieces]
        assert not list(folder.iterdir())  # each group's files go once it is read
    assert all(len(group) == 1 for group in pieces)  # one schema: the pieces come as one frame
    assert not folder.exists()  # spilled files are removed
    assert len(groups) == 5  # 1.5 x 3000 expected rows / 1000 per group
    owners = pd.concat([g[["customer_id"]].assign(group=k) for k, g in enumerate(groups)])
    assert owners.groupby("customer_id")["group"].nunique().max() == 1
    everything = pd.concat(frames, ignore_index=True)
    back = pd.concat(groups, ignore_index=True)
    key = ["customer_id", "_row", "order_date", "amount"]
    pd.testing.assert_frame_equal(
        back.sort_values(key).reset_index(drop=True)[key],
        everything.sort_values(key).reset_index(drop=True)[key],
    )
    for group in groups:  # rows keep the order they were added in, slice by slice
        rows = group["_row"].to_numpy()
        slices = np.flatnonzero(np.diff(rows) < 0)
        assert len(slices) <= len(frames) - 1


def test_slices_with_other_columns_come_back_apart_and_combine_as_in_memory():
    from winback_cli.load import combine

    with_cost = orders(300, 40, 1).assign(cost=12.5, category="Tee")
    plain = orders(300, 40, 2)  # a second file without cost or category columns
    with PartitionStore(spill_rows=100) as store:
        store.expected_rows = 600
        store.add(with_cost)
        store.add(plain)
        groups = [combine(read()) for read in store.groups()]
    key = ["customer_id", "_row", "amount"]
    back = pd.concat(groups, ignore_index=True).sort_values(key, ignore_index=True)
    whole = combine([with_cost, plain]).sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(back, whole)


def test_unknown_input_size_gets_the_default_number_of_groups():
    with PartitionStore(spill_rows=10) as store:
        store.add(orders(50, 30))
        assert len(list(store.groups())) > 1


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=50), st.integers(1, 40))
def test_equal_ids_share_a_group_in_range(ids, parts):
    series = pd.Series(ids + ids[::-1], dtype="str")
    groups = partition_of(series, parts)
    assert ((groups >= 0) & (groups < parts)).all()
    assert (groups[: len(ids)] == groups[len(ids) :][::-1]).all()


def test_running_numbers_spread_evenly():
    ids = pd.Series([f"C{i:07d}" for i in range(100_000)], dtype="str")
    counts = np.bincount(partition_of(ids, 16), minlength=16)
    assert counts.min() > 0.8 * counts.mean()


def test_a_full_disk_is_a_clear_error_not_a_traceback(monkeypatch):
    import pyarrow.feather as feather

    from winback_cli.errors import OutputError

    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(feather, "write_feather", full)
    with PartitionStore(spill_rows=10) as store:
        store.expected_rows = 100
        with pytest.raises(OutputError, match=r"No space left.*TMPDIR"):
            store.add(orders(50, 30))  # written on a thread: the error comes with the
            list(store.groups())  # next slices or, at the latest, when groups are read


def test_a_scan_spilled_to_disk_in_small_slices_equals_the_scan_in_memory(monkeypatch):
    from typer.testing import CliRunner

    from winback_cli import partitions, slices
    from winback_cli.cli import app

    from .conftest import EXAMPLES

    args = [
        "scan",
        str(EXAMPLES / "orders_de.csv"),
        "--customers",
        str(EXAMPLES / "customers_de.csv"),
        "--rules",
        str(EXAMPLES / "rules.yaml"),
        "--status",
        "all",
        "--format",
        "csv",
    ]
    whole = CliRunner().invoke(app, args)
    monkeypatch.setattr(slices, "SLICE_BYTES", 4096)
    monkeypatch.setattr(partitions, "SPILL_ROWS", 200)
    spilled = CliRunner().invoke(app, args)
    assert whole.exit_code == spilled.exit_code == 0
    assert spilled.stdout == whole.stdout
    assert spilled.stderr == whole.stderr
    assert len(whole.stdout.splitlines()) == 40  # header + 39 customers


@given(
    st.lists(st.text("ABCKD-0123456789", max_size=12), min_size=1, max_size=40),
    st.integers(1, 9),
    st.integers(0, 14),
)
@settings(max_examples=200, deadline=None)
def test_a_customers_group_does_not_depend_on_the_other_ids(ids, parts, width):
    # Ids of one length take a faster path; it must give each id the group the
    # general path gives it, or a customer's rows could land in two groups.
    same = [i.rjust(width, "0")[-width:] if width else "" for i in ids]
    alone = partition_of(pd.Series(same, dtype="str"), parts)
    mixed = partition_of(pd.Series([*same, "x" * 20], dtype="str"), parts)[:-1]
    assert (alone == mixed).all()
