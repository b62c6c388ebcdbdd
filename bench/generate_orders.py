"""Generate a realistic synthetic order export for winback's benchmarks.

Every customer gets a first-order date, an own buying rhythm (gamma-distributed
gaps), a spend level (lognormal) and category preferences; a quarter of them
churn at a random point, some let their spend decay, some drop a category
mid-way, and about 3 % of the rows are credit notes (negative rows repeating a
past order's amount). Everything is vectorised numpy; orders are built per
block of customers and written in date order in chunks of about a million rows
with pyarrow, so 10M orders take seconds and a few hundred MB of memory.

    python bench/generate_orders.py --orders 1000000 --out bench/data/orders_1m.csv
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CHUNK_ROWS = 1_000_000
RETURN_SHARE = 0.03
PREF_ALPHA = 0.35  # Dirichlet concentration of category preferences: lower = fewer categories each
EN_COLUMNS = ["order_id", "customer_id", "order_date", "amount", "cost", "category", "quantity"]
DE_COLUMNS = [
    "Belegnummer", "Kundennummer", "Belegdatum", "Nettobetrag",
    "Wareneinsatz", "Warengruppe", "Menge",
]  # fmt: skip
EN_CATEGORIES = [
    "Tools", "Garden", "Kitchen", "Office", "Lighting", "Paint",
    "Plumbing", "Electrical", "Cleaning", "Safety", "Storage", "Fasteners",
]  # fmt: skip
DE_CATEGORIES = [
    "Werkzeug", "Garten", "Küche", "Büro", "Beleuchtung", "Farben",
    "Sanitär", "Elektro", "Reinigung", "Arbeitsschutz", "Lager", "Befestigung",
]  # fmt: skip
EPOCH = dt.date(1970, 1, 1)
# Compact storage per order row while all rows are held for sorting by date.
DTYPES = {
    "cust": np.int32, "day": np.int32, "cents": np.int64,
    "cost": np.int64, "cat": np.int8, "qty": np.int16,
}  # fmt: skip


@dataclass(frozen=True)
class Spec:
    """What to generate: sizes, time span, seed and file style."""

    orders: int
    customers: int
    end: dt.date
    years: float = 3.0
    seed: int = 1
    style: str = "en"
    parquet: bool = False


@dataclass(frozen=True)
class Customers:
    """Per-customer parameters, one array entry per customer (days since 1970)."""

    first: np.ndarray
    stop: np.ndarray
    spend: np.ndarray
    decay_to: np.ndarray
    drop_day: np.ndarray
    pref_cum: np.ndarray
    pref_cum_after: np.ndarray
    churner: np.ndarray
    mean_gap: np.ndarray
    shape: np.ndarray


def make_customers(rng: np.random.Generator, spec: Spec, n_categories: int) -> Customers:
    """Draw first-order date, rhythm, spend, churn, decay and category preferences."""
    n = spec.customers
    end = (spec.end - EPOCH).days
    start = end - round(spec.years * 365.25)
    # Most customers were acquired early in the window, fewer later; ids ascend with it.
    first = np.sort(start + (rng.beta(0.7, 1.5, n) * (end - 14 - start)).astype(np.int64))
    churner = rng.random(n) < 0.25
    stop = np.where(churner, first + (end - first) * rng.uniform(0.15, 0.95, n), end)
    stop = np.maximum(stop.astype(np.int64), first)
    decaying = ~churner & (rng.random(n) < 0.15 / 0.75)
    decay_to = np.where(decaying, rng.uniform(0.15, 0.45, n), 1.0)
    prefs = rng.dirichlet(np.full(n_categories, PREF_ALPHA), n)
    top = prefs.argmax(axis=1)
    dropper = rng.random(n) < 0.20
    drop_day = np.where(dropper, first + (stop - first) * rng.uniform(0.3, 0.8, n), end + 1)
    after = prefs.copy()
    after[np.arange(n)[dropper], top[dropper]] = 0.0
    after /= np.maximum(after.sum(axis=1, keepdims=True), 1e-12)
    return Customers(
        first=first,
        stop=stop,
        spend=rng.lognormal(np.log(90.0), 0.8, n),
        decay_to=decay_to,
        drop_day=drop_day.astype(np.int64),
        pref_cum=np.cumsum(prefs, axis=1).astype(np.float32),
        pref_cum_after=np.cumsum(after, axis=1).astype(np.float32),
        churner=churner,
        mean_gap=np.exp(rng.uniform(np.log(20.0), np.log(120.0), n)),  # log-uniform
        shape=rng.uniform(1.2, 4.0, n),
    )


def order_counts(rng: np.random.Generator, cust: Customers, n_orders: int) -> np.ndarray:
    """Orders per customer: at least one, the rest in proportion to active span / rhythm.

    Hitting `n_orders` exactly scales every rhythm by one common factor (about 1.15 with
    the defaults), which keeps customers' rhythms in proportion to each other.
    """
    n = len(cust.first)
    if n_orders < n:
        raise ValueError(f"--orders ({n_orders}) must be at least --customers ({n})")
    expected = (cust.stop - cust.first) / cust.mean_gap + 0.5
    return 1 + rng.multinomial(n_orders - n, expected / expected.sum())


def _block_orders(rng: np.random.Generator, cust: Customers, ids: np.ndarray, counts: np.ndarray):
    """Orders of one block of customers: dates from gamma gaps squeezed into the active span."""
    who = np.repeat(ids, counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(len(who)) - np.repeat(starts, counts)
    # Gap j precedes order j; gap 0 is dropped so every customer starts on its first date,
    # and one trailing gap per customer leaves room between the last order and the stop day.
    gaps = rng.gamma(cust.shape[who], 1.0)
    gaps[pos == 0] = 0.0
    trailing = rng.gamma(cust.shape[ids], 1.0)
    csum = np.cumsum(gaps)
    within = csum - np.repeat(csum[starts], counts)
    total = within[starts + counts - 1] + trailing
    span = (cust.stop - cust.first)[ids]
    day = cust.first[who] + np.floor(within / np.repeat(total, counts) * np.repeat(span, counts))
    day = day.astype(np.int64)

    progress = (day - cust.first[who]) / np.maximum(cust.stop[who] - cust.first[who], 1)
    qty = np.minimum(rng.geometric(0.45, len(who)), 50)
    euros = cust.spend[who] * rng.lognormal(0.0, 0.45, len(who)) * qty**0.6
    euros *= cust.decay_to[who] ** progress
    cents = np.clip(np.round(euros * 100), 50, 100_000_000).astype(np.int64)
    cost = np.round(cents * rng.uniform(0.55, 0.75, len(who))).astype(np.int64)

    table = np.where(
        (day >= cust.drop_day[who])[:, None], cust.pref_cum_after[who], cust.pref_cum[who]
    )
    u = rng.random(len(who), dtype=np.float32)
    cat = np.minimum((u[:, None] > table).sum(axis=1), table.shape[1] - 1)
    return who, day, cents, cost, cat, qty


def make_orders(rng: np.random.Generator, cust: Customers, counts: np.ndarray) -> dict:
    """All sales orders as compact arrays, built per block of about a million orders."""
    bounds = np.searchsorted(np.cumsum(counts), np.arange(CHUNK_ROWS, counts.sum(), CHUNK_ROWS))
    cols: dict[str, list] = {k: [] for k in DTYPES}
    for ids in np.split(np.arange(len(counts)), bounds):
        if len(ids):
            parts = _block_orders(rng, cust, ids, counts[ids])
            for (key, dtype), arr in zip(DTYPES.items(), parts, strict=True):
                cols[key].append(arr.astype(dtype))
    return {k: np.concatenate(v) for k, v in cols.items()}


def add_returns(rng: np.random.Generator, orders: dict, n_returns: int, end_day: int) -> dict:
    """Append credit notes: negative copies (full or partial) of randomly chosen past orders."""
    src = rng.choice(len(orders["day"]), size=n_returns, replace=False)
    qty = orders["qty"][src].astype(np.int64)
    back = np.where(rng.random(n_returns) < 0.75, qty, rng.integers(1, qty + 1))
    share = back / qty
    ret = {
        "cust": orders["cust"][src],
        "day": np.minimum(orders["day"][src] + rng.integers(3, 45, n_returns), end_day),
        "cents": -np.round(orders["cents"][src] * share).astype(np.int64),
        "cost": -np.round(orders["cost"][src] * share).astype(np.int64),
        "cat": orders["cat"][src],
        "qty": -back.astype(np.int16),
    }
    merged = {k: np.concatenate([orders[k], ret[k].astype(orders[k].dtype)]) for k in orders}
    # Date order with a random order within each day, as a shop's document numbers run.
    key = (merged["day"].astype(np.int64) << 32) | rng.integers(0, 2**32, len(merged["day"]))
    perm = np.argsort(key)
    del key
    for k in merged:  # one column at a time keeps only one extra copy alive
        merged[k] = merged[k][perm]
    return merged


def _text(numbers: np.ndarray, width: int = 0) -> pa.Array:
    """Non-negative integers as text, left-padded with zeros to `width`."""
    text = pc.cast(pa.array(numbers), pa.string())
    return pc.utf8_lpad(text, width, "0") if width else text


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    return pc.binary_join_element_wise(prefix, _text(numbers, width), "")


def _money(cents: np.ndarray, style: str, dots: np.ndarray | None) -> pa.Array:
    """Cents as `-1234.56` (en) or `-1234,56` / `-1.234,56` (de, dots where `dots`)."""
    neg, a = cents < 0, np.abs(cents)
    whole, frac = a // 100, a % 100
    text = _text(whole)
    if dots is not None:
        mil, th, un = whole // 1_000_000, (whole // 1000) % 1000, whole % 1000
        k_text = pc.binary_join_element_wise(_text(whole // 1000), _text(un, 3), ".")
        m_text = pc.binary_join_element_wise(_text(mil), _text(th, 3), _text(un, 3), ".")
        grouped = pc.if_else(pa.array(mil > 0), m_text, k_text)
        text = pc.if_else(pa.array(dots & (whole >= 1000)), grouped, text)
    number = pc.binary_join_element_wise(text, _text(frac, 2), "," if style == "de" else ".")
    return pc.binary_join_element_wise(pc.if_else(pa.array(neg), "-", ""), number, "")


def format_chunk(
    rows: dict, first_id: int, spec: Spec, lookups: dict, rng: np.random.Generator
) -> pa.Table:
    """One chunk of date-sorted rows as a table of text (CSV) or typed (Parquet) columns."""
    names = DE_COLUMNS if spec.style == "de" else EN_COLUMNS
    n = len(rows["day"])
    order_ids = _ids("O", np.arange(first_id, first_id + n) + 1, lookups["order_width"])
    customer_ids = pc.take(lookups["customer_ids"], pa.array(rows["cust"]))
    categories = pc.take(lookups["categories"], pa.array(rows["cat"]))
    if spec.parquet:
        days = pa.array(rows["day"].astype(np.int32), pa.date32())
        amount, cost = pa.array(rows["cents"] / 100.0), pa.array(rows["cost"] / 100.0)
        quantity = pa.array(rows["qty"].astype(np.int64))
    else:
        days = pc.take(lookups["day_text"], pa.array(rows["day"] - lookups["day0"]))
        dots = rng.random(n) < 0.5 if spec.style == "de" else None
        amount = _money(rows["cents"], spec.style, dots)
        cost = _money(rows["cost"], spec.style, dots)
        quantity = pa.array(rows["qty"].astype(np.int64))
    return pa.table(
        [order_ids, customer_ids, days, amount, cost, categories, quantity], names=names
    )


def _lookups(spec: Spec, rows: dict, n_categories: int) -> dict:
    """Small tables that chunks index into: customer ids, day strings, category names."""
    day0, day1 = int(rows["day"].min()), int(rows["day"].max())
    fmt = "%d.%m.%Y" if spec.style == "de" else "%Y-%m-%d"
    day_text = [(EPOCH + dt.timedelta(days=d)).strftime(fmt) for d in range(day0, day1 + 1)]
    names = DE_CATEGORIES if spec.style == "de" else EN_CATEGORIES
    return {
        "customer_ids": _ids("C", np.arange(spec.customers) + 1, max(6, len(str(spec.customers)))),
        "order_width": max(7, len(str(spec.orders))),
        "day0": day0,
        "day_text": pa.array(day_text),
        "categories": pa.array(names[:n_categories]),
    }


def _write(path: Path, spec: Spec, rows: dict, lookups: dict, rng: np.random.Generator) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    writer = None
    with open(path, "wb") as fh:
        if spec.style == "de" and not spec.parquet:
            fh.write(b"\xef\xbb\xbf")  # Excel's UTF-8 export starts with a BOM
        for begin in range(0, spec.orders, CHUNK_ROWS):
            chunk = {k: v[begin : begin + CHUNK_ROWS] for k, v in rows.items()}
            table = format_chunk(chunk, begin, spec, lookups, rng)
            if writer is None and spec.parquet:
                writer = pq.ParquetWriter(fh, table.schema)
            elif writer is None:
                delim = ";" if spec.style == "de" else ","
                # Arrow quotes header names whatever the style; exports don't, so write our own.
                fh.write((delim.join(table.column_names) + "\n").encode())
                options = pacsv.WriteOptions(
                    include_header=False, delimiter=delim, quoting_style="none"
                )
                writer = pacsv.CSVWriter(fh, table.schema, write_options=options)
            writer.write_table(table)
        writer.close()


def generate(spec: Spec, out: Path) -> dict:
    """Write the export to `out` (atomically) and return row, customer and return counts."""
    rng = np.random.default_rng(spec.seed)
    n_categories = int(rng.integers(6, 13))
    cust = make_customers(rng, spec, n_categories)
    n_returns = round(spec.orders * RETURN_SHARE)
    counts = order_counts(rng, cust, spec.orders - n_returns)
    rows = add_returns(rng, make_orders(rng, cust, counts), n_returns, (spec.end - EPOCH).days)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    _write(tmp, spec, rows, _lookups(spec, rows, n_categories), rng)
    os.replace(tmp, out)
    return {
        "rows": spec.orders,
        "customers": spec.customers,
        "returns": n_returns,
        "churners": int(cust.churner.sum()),
        "categories": n_categories,
    }


def parse_args(argv: list[str] | None = None) -> tuple[Spec, Path]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--orders", type=int, required=True, help="rows to write (credit notes included)"
    )
    p.add_argument("--customers", type=int, help="default: orders / 20")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--end", type=dt.date.fromisoformat, default=dt.date(2025, 10, 31), help="last order day"
    )
    p.add_argument("--years", type=float, default=3.0, help="history length")
    p.add_argument("--style", choices=["en", "de"], default="en")
    p.add_argument("--parquet", action="store_true", help="write typed Parquet instead of CSV")
    a = p.parse_args(argv)
    customers = a.customers or max(1, a.orders // 20)
    if a.orders < 1 or customers < 1 or customers > a.orders * (1 - RETURN_SHARE):
        p.error(f"need 1 <= --customers <= 97 % of --orders (got {customers} and {a.orders})")
    spec = Spec(a.orders, customers, a.end, a.years, a.seed, a.style, a.parquet)
    return spec, a.out


def main(argv: list[str] | None = None) -> None:
    spec, out = parse_args(argv)
    t0 = time.perf_counter()
    stats = generate(spec, out)
    secs = time.perf_counter() - t0
    mb = out.stat().st_size / 1e6
    print(
        f"wrote {out}: {stats['rows']:,} rows ({stats['returns']:,} credit notes), "
        f"{stats['customers']:,} customers ({stats['churners']:,} churners), "
        f"{stats['categories']} categories, {mb:,.1f} MB in {secs:.1f} s "
        f"({stats['rows'] / secs:,.0f} rows/s)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
