"""The benchmark generator writes valid, documented, reproducible order exports."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[f"bench_{name}"] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


gen = _load("generate_orders")
bench = _load("bench_scan")
END = dt.date(2025, 10, 31)


def _generate(tmp: Path, name: str, *extra: str) -> Path:
    out = tmp / name
    gen.main(["--orders", "2000", "--out", str(out), *extra])
    return out


@pytest.fixture(scope="module")
def en_file(tmp_path_factory) -> Path:
    return _generate(tmp_path_factory.mktemp("en"), "orders.csv", "--seed", "7")


@pytest.fixture(scope="module")
def en(en_file) -> pd.DataFrame:
    return pd.read_csv(en_file, dtype=str, keep_default_na=False)


def test_en_file_has_the_documented_columns_and_formats(en_file, en):
    assert en_file.read_text(encoding="utf-8").splitlines()[0] == ",".join(gen.EN_COLUMNS)
    assert len(en) == 2000
    assert en["order_id"].str.fullmatch(r"O\d{7}").all()
    assert en["order_id"].is_unique
    assert en["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert en["customer_id"].nunique() == 100  # orders / 20 by default
    assert en["order_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert en["amount"].str.fullmatch(r"-?\d+\.\d{2}").all()
    assert en["cost"].str.fullmatch(r"-?\d+\.\d{2}").all()
    assert en["quantity"].str.fullmatch(r"-?\d+").all()
    assert 6 <= en["category"].nunique() <= 12


def test_rows_run_in_date_order_within_the_requested_years(en):
    dates = pd.to_datetime(en["order_date"])
    assert dates.is_monotonic_increasing
    assert en["order_id"].is_monotonic_increasing
    assert dates.max() <= pd.Timestamp(END)
    assert dates.min() >= pd.Timestamp(END) - pd.DateOffset(years=3, days=2)


def test_cost_is_a_share_of_the_amount(en):
    amount, cost = en["amount"].astype(float), en["cost"].astype(float)
    share = cost / amount
    assert share.between(0.54, 0.76).all()


def test_credit_notes_are_negative_copies_of_earlier_orders(en):
    amount, qty = en["amount"].astype(float), en["quantity"].astype(int)
    notes = en[amount < 0]
    assert 40 <= len(notes) <= 80  # ~3 %
    assert (qty[amount < 0] < 0).all() and (qty[amount > 0] > 0).all()
    sales = en[amount > 0].assign(value=amount[amount > 0])
    for _, note in notes.iterrows():
        earlier = sales[
            (sales["customer_id"] == note["customer_id"])
            & (sales["category"] == note["category"])
            & (sales["order_date"] <= note["order_date"])
        ]
        assert (earlier["value"] >= -float(note["amount"]) - 0.01).any()
    full = {(r.customer_id, r.amount) for r in sales.itertuples()}
    assert any((n.customer_id, n.amount.lstrip("-")) in full for n in notes.itertuples())


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path, en_file):
    again = _generate(tmp_path, "again.csv", "--seed", "7")
    other = _generate(tmp_path, "other.csv", "--seed", "8")
    assert again.read_bytes() == en_file.read_bytes()
    assert other.read_bytes() != en_file.read_bytes()


def _de_number(text: pd.Series) -> pd.Series:
    return text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False).astype(float)


def test_de_style_is_a_german_excel_export_of_the_same_orders(tmp_path, en):
    path = _generate(tmp_path, "orders_de.csv", "--seed", "7", "--style", "de")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    de = pd.read_csv(path, sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    assert list(de.columns) == gen.DE_COLUMNS
    assert de["Belegdatum"].str.fullmatch(r"\d{2}\.\d{2}\.\d{4}").all()
    money = r"-?(\d+|\d{1,3}(\.\d{3})+),\d{2}"
    assert de["Nettobetrag"].str.fullmatch(money).all()
    assert de["Nettobetrag"].str.contains(r"\d\.\d{3},").any()  # some with a thousands dot
    assert (_de_number(de["Nettobetrag"]) == en["amount"].astype(float)).all()
    assert (_de_number(de["Wareneinsatz"]) == en["cost"].astype(float)).all()
    iso = pd.to_datetime(de["Belegdatum"], format="%d.%m.%Y").dt.strftime("%Y-%m-%d")
    assert (iso == en["order_date"]).all()
    assert (de["Kundennummer"] == en["customer_id"]).all()


def test_parquet_holds_the_same_orders_typed(tmp_path, en):
    path = _generate(tmp_path, "orders.parquet", "--seed", "7", "--parquet")
    table = pd.read_parquet(path)
    assert list(table.columns) == gen.EN_COLUMNS
    assert str(table["amount"].dtype) == "float64"
    assert table["order_date"].iloc[0] == dt.date.fromisoformat(en["order_date"].iloc[0])
    assert (table["amount"].to_numpy() == en["amount"].astype(float).to_numpy()).all()
    assert (table["customer_id"] == en["customer_id"]).all()


def test_more_customers_than_orders_is_refused(tmp_path):
    with pytest.raises(SystemExit):
        gen.main(["--orders", "10", "--customers", "50", "--out", str(tmp_path / "x.csv")])


@given(st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=50), st.booleans())
def test_money_text_reads_back_as_the_same_cents(cents, dotted):
    values = np.array(cents, dtype=np.int64)
    en_text = pd.Series(gen._money(values, "en", None).to_pylist())
    assert ((en_text.astype(float) * 100).round() == values).all()
    dots = np.full(len(values), dotted)
    de_text = pd.Series(gen._money(values, "de", dots).to_pylist())
    assert de_text.str.fullmatch(r"-?(\d+|\d{1,3}(\.\d{3})+),\d{2}").all()
    assert ((_de_number(de_text) * 100).round() == values).all()


@settings(max_examples=10, deadline=None)
@given(orders=st.integers(40, 400), ratio=st.integers(2, 30), seed=st.integers(0, 2**16))
def test_any_size_gives_exactly_the_requested_rows_and_customers(
    tmp_path_factory, orders, ratio, seed
):
    out = tmp_path_factory.mktemp("h") / "o.csv"
    spec = gen.Spec(orders=orders, customers=max(1, orders // ratio), end=END, seed=seed)
    gen.generate(spec, out)
    table = pd.read_csv(out, dtype=str)
    assert len(table) == orders
    assert table["customer_id"].nunique() == spec.customers
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", table["order_date"].max())


@pytest.mark.parametrize(
    ("text", "n"), [("20k", 20_000), ("1m", 1_000_000), ("2.5M", 2_500_000), ("5000", 5000)]
)
def test_bench_sizes_read_like_people_write_them(text, n):
    assert bench.parse_size(text) == n


@pytest.mark.parametrize(
    ("median", "code", "verdict"),
    [
        (0.21, 0, "within the target of 0.3 s"),
        (0.31, 0, "above the target of 0.3 s"),
        (0.21, 2, "FAILED (exit 2)"),
    ],
)
def test_bench_says_whether_help_starts_within_the_target(median, code, verdict):
    assert bench.startup_verdict(median, code) == verdict


def _run(wall_s: float, rss_mb: float = 100.0, code: int = 0):
    return bench.Run(wall_s=wall_s, peak_rss_mb=rss_mb, returncode=code, stdout="", stderr="")


def test_each_round_gives_its_ratio_to_duckdb():
    runs = {"winback": _run(3.0, 200), "winback-same-work": _run(2.0, 150), "duckdb": _run(1.5)}
    assert bench.ratio_notes("10m #2", runs) == [
        "10m #2: winback/DuckDB wall 2.00x, peak RSS 2.00x",
        "10m #2: winback-same-work/DuckDB wall 1.33x, peak RSS 1.50x",
    ]
    runs["duckdb"] = None  # skipped: nothing to compare with
    assert bench.ratio_notes("10m", runs) == []


def test_repeated_rounds_are_summed_up_as_medians_and_ranges():
    walls = {"winback": [20.0, 18.0, 30.0], "duckdb": [10.0, 12.0, 15.0]}
    notes = bench.summary_notes("10m", walls, {"winback": [2.0, 1.5, 2.0]})
    assert notes == [
        "10m: winback median 20.00 s (18.00-30.00) of 3 runs",
        "10m: duckdb median 12.00 s (10.00-15.00) of 3 runs",
        "10m: winback/DuckDB wall, median of 3 rounds: 2.00x (1.50-2.00)",
    ]


def test_repeat_runs_the_tools_in_turn_and_summarises(monkeypatch, tmp_path):
    # winback fails in round 2 and DuckDB in round 3: only rounds 1 and 4 give a
    # ratio; pairing the successful runs by position would compare round 3 with 2.
    rounds = {  # winback, winback-same-work, duckdb
        "1m": (_run(4.0), _run(3.0), _run(2.0)),
        "1m #2": (_run(9.0, code=1), _run(3.0), _run(2.5)),
        "1m #3": (_run(6.0), _run(3.0), _run(1.0, code=1)),
        "1m #4": (_run(9.0), _run(4.5), _run(3.0)),
    }
    calls = []

    def fake_round(name, csv, work, args, reference):
        calls.append(name)
        return dict(zip(("winback", "winback-same-work", "duckdb"), rounds[name], strict=True))

    monkeypatch.setattr(bench, "run_round", fake_round)
    monkeypatch.setattr(
        bench, "ensure_data", lambda label, style="en": (tmp_path / "x.csv", {"orders": 10})
    )
    monkeypatch.setattr(bench, "flag_notes", lambda label, runs, work: [])
    (tmp_path / "x.csv").write_text("order_id\n")
    table, notes, ok = bench.bench_size("1m", tmp_path, bench.argparse.Namespace(repeat=4))
    assert calls == ["1m", "1m #2", "1m #3", "1m #4"]
    assert [r[:2] for r in table[:4]] == [
        ["1m", "winback"],
        ["1m", "winback-same-work"],
        ["1m", "duckdb"],
        ["1m #2", "winback"],
    ]
    assert not ok  # runs failed
    assert "1m: winback median 6.00 s (4.00-9.00) of 3 runs" in notes
    assert "1m: winback/DuckDB wall, median of 2 rounds: 2.50x (2.00-3.00)" in notes
    assert "1m: winback-same-work/DuckDB wall, median of 3 rounds: 1.50x (1.20-1.50)" in notes


def test_de_style_scans_the_german_file_and_duckdb_the_english_one(monkeypatch, tmp_path):
    made, rounds = [], []

    def fake_data(label, style="en"):
        made.append((label, style))
        path = tmp_path / f"{label}_{style}.csv"
        path.write_text("x\n")
        return path, {"orders": 10}

    def fake_round(name, csv, work, args, reference):
        rounds.append((name, csv.name, reference.name))
        return {"winback": _run(2.0), "winback-same-work": _run(1.0), "duckdb": _run(1.0)}

    monkeypatch.setattr(bench, "ensure_data", fake_data)
    monkeypatch.setattr(bench, "run_round", fake_round)
    monkeypatch.setattr(bench, "flag_notes", lambda label, runs, work: [])
    args = bench.argparse.Namespace(repeat=2, style="de")
    table, notes, ok = bench.bench_size("1m", tmp_path, args)
    assert ok
    assert made == [("1m", "de"), ("1m", "en")]
    assert rounds == [("1m-de", "1m_de.csv", "1m_en.csv"), ("1m-de #2", "1m_de.csv", "1m_en.csv")]
    assert table[0][:2] == ["1m-de", "winback"]
    assert "1m-de: winback/DuckDB wall, median of 2 rounds: 2.00x (2.00-2.00)" in notes


def test_split_adds_both_scans_with_one_row_written_and_their_ratios(monkeypatch, tmp_path):
    scans = []

    def fake_scan(csv, out, timeout_s, rules=None, top=None):
        scans.append((out.name, rules is not None, top))
        return _run({None: 8.0, 1: 7.0}[top] - (1.0 if rules else 0.0))

    monkeypatch.setattr(bench, "run_scan", fake_scan)
    monkeypatch.setattr(bench, "run_duckdb", lambda csv, out, timeout_s: _run(6.5))
    monkeypatch.setattr(bench, "has_duckdb", lambda: True)
    args = bench.argparse.Namespace(split=True, timeout=60, no_duckdb=False)
    runs = bench.run_round("10m #2", tmp_path / "x.csv", tmp_path, args)
    assert list(runs) == [
        "winback",
        "winback-same-work",
        "winback-top1",
        "winback-same-work-top1",
        "duckdb",
    ]
    assert scans == [
        ("10m-run2_winback.csv", False, None),
        ("10m-run2_winback_same_work.csv", True, None),
        ("10m-run2_winback_top1.csv", False, 1),
        ("10m-run2_winback_same_work_top1.csv", True, 1),
    ]
    assert bench.ratio_notes("10m #2", runs)[2:] == [
        "10m #2: winback-top1/DuckDB wall 1.08x, peak RSS 1.00x",
        "10m #2: winback-same-work-top1/DuckDB wall 0.92x, peak RSS 1.00x",
    ]


def test_without_split_each_scan_runs_once_with_its_whole_table(monkeypatch, tmp_path):
    tops = []
    monkeypatch.setattr(
        bench, "run_scan", lambda csv, out, t, rules=None, top=None: tops.append(top) or _run(1.0)
    )
    args = bench.argparse.Namespace(timeout=60, no_duckdb=True)
    runs = bench.run_round("1m", tmp_path / "x.csv", tmp_path, args)
    assert list(runs) == ["winback", "winback-same-work", "duckdb"]
    assert tops == [None, None]
    assert runs["duckdb"] is None
