"""Random order frames and a plain pandas reference of the facts, for testing `compute_facts`.

The reference says what the facts mean in the slowest, most obvious way:
group-bys over order rows. `order_frames` draws frames that stress the fast
paths: customer ids of one length, of many lengths, long and non-ASCII; order
ids that repeat across lines, customers and days, are empty, or come sorted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import strategies as st

AS_OF = pd.Timestamp("2025-07-01")
START = pd.Timestamp("2023-01-01")

CUSTOMER_STYLES = {
    "fixed": ["C0001", "C0002", "C0017", "C0100", "C0999", "D0001"],
    "variable": ["1", "2", "10", "22", "100", "9"],
    "long": [f"customer.{i}@example-company-{i}.com" for i in (1, 2, 3, 10, 11)],
    "unicode": ["Müller", "Muller", "Zoë", "zoe", "Ärger", "Öl"],
}
ORDER_IDS = ["", "A1", "A2", "B7", "1000", "999", "Ö-1"]
CATEGORIES = ["", "Tools", " Tools", "garden", "Wäsche", "  "]
EXACT_AMOUNTS = [-30.0, -7.25, 0.0, 5.5, 12.75, 40.0, 120.5]  # sums exact in any order
AMOUNTS = [*EXACT_AMOUNTS, 19.99, 0.1, 0.2, -0.3]


@st.composite
def order_frames(draw, max_rows: int = 40, amounts: list[float] = AMOUNTS) -> pd.DataFrame:
    """A small order frame (customer_id, order_date, amount, order_id, cost, category)."""
    style = draw(st.sampled_from(sorted(CUSTOMER_STYLES)))
    row = st.tuples(
        st.sampled_from(CUSTOMER_STYLES[style]),
        st.integers(0, (AS_OF - START).days + 20),  # a few rows after the as-of date
        st.sampled_from(amounts),
        st.sampled_from(ORDER_IDS),
        st.sampled_from(CATEGORIES),
        st.sampled_from([None, 0.5]),
    )
    rows = draw(st.lists(row, min_size=1, max_size=max_rows))
    frame = pd.DataFrame(
        rows, columns=["customer_id", "day", "amount", "order_id", "category", "cost_share"]
    )
    frame["order_date"] = (START + pd.to_timedelta(frame.pop("day"), unit="D")).astype(
        "datetime64[s]"
    )
    share = frame.pop("cost_share").astype(float)
    frame["cost"] = frame["amount"] * share
    # Exports sorted by order number take the exact path: numbers as text (1000 before
    # 999) or as numbers (999 before 1000: by length in bytes, then text).
    order = draw(st.sampled_from(["file", "text", "number"]))
    if order == "text":
        frame = frame.sort_values("order_id", kind="stable").reset_index(drop=True)
    elif order == "number":
        frame["_bytes"] = frame["order_id"].str.encode("utf-8").str.len()
        frame = frame.sort_values(["_bytes", "order_id"], kind="stable").reset_index(drop=True)
        frame = frame.drop(columns="_bytes")
    return frame.astype({"customer_id": "str", "order_id": "str", "category": "str"})


def random_frame(seed: int, rows: int = 3000, customers: int = 300) -> pd.DataFrame:
    """A bigger seeded frame: line items sharing order ids, returns, categories, costs."""
    rng = np.random.default_rng(seed)
    customer = rng.integers(0, customers, rows)
    order = rng.integers(0, rows // 3, rows)  # about three lines per order id
    day = rng.integers(0, (AS_OF - START).days, rows)
    day = np.where(rng.random(rows) < 0.8, day[order % len(day)], day)  # lines mostly share a day
    amount = np.round(rng.gamma(2.0, 40.0, rows), 2) * np.where(rng.random(rows) < 0.05, -1, 1)
    frame = pd.DataFrame(
        {
            "customer_id": [f"K{c:05d}" if c % 7 else f"K-{c}" for c in customer],
            "order_date": (START + pd.to_timedelta(day, unit="D")).astype("datetime64[s]"),
            "amount": amount,
            "order_id": [f"SO{o}" if o % 11 else "" for o in order],
            "cost": np.where(rng.random(rows) < 0.1, np.nan, amount * 0.6),
            "category": rng.choice(["Tools", "Garden", "Kitchen", ""], rows),
        }
    )
    return frame.astype({"customer_id": "str", "order_id": "str", "category": "str"})


def reference_orders(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per order: customer, day (earliest line), amount, and the order key."""
    lines = frame.loc[frame["amount"] >= 0].copy()
    lines["day"] = _days(lines["order_date"])
    own = lines["order_id"] == ""
    lines["key"] = np.where(own, "row" + lines.index.astype(str), "id" + lines["order_id"])
    return (
        lines.groupby(["customer_id", "key"])
        .agg(day=("day", "min"), amount=("amount", "sum"))
        .reset_index()
    )


def reference_customers(frame: pd.DataFrame) -> pd.DataFrame:
    """Orders, order days, first/last order day, median gap, revenue, returns per customer."""
    orders = reference_orders(frame)
    days = orders.groupby("customer_id")["day"]
    distinct = orders[["customer_id", "day"]].drop_duplicates().sort_values(["customer_id", "day"])
    gaps = distinct.groupby("customer_id")["day"].diff()
    returns = frame.loc[frame["amount"] < 0].groupby("customer_id")["amount"]
    table = pd.DataFrame(
        {
            "orders": orders.groupby("customer_id").size(),
            "order_days": days.nunique(),
            "first": days.min(),
            "last": days.max(),
            "median_gap_days": gaps.groupby(distinct["customer_id"]).median(),
            "order_value": orders.groupby("customer_id")["amount"].sum(),
        }
    )
    table = table.reindex(sorted(frame["customer_id"].unique()))
    table["revenue_total"] = frame.groupby("customer_id")["amount"].sum()
    table["returns"] = returns.size().reindex(table.index, fill_value=0)
    table["returns_value"] = -returns.sum().reindex(table.index, fill_value=0.0)
    return table


def reference_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """Distinct orders and latest line day per customer and (stripped) category."""
    lines = frame.loc[frame["amount"] >= 0].copy()
    lines["category"] = lines["category"].str.strip()
    lines["day"] = _days(lines["order_date"])
    lines["key"] = np.where(
        lines["order_id"] == "", "row" + lines.index.astype(str), "id" + lines["order_id"]
    )
    lines = lines.loc[lines["category"] != ""]
    grouped = lines.groupby(["customer_id", "category"])
    return pd.DataFrame({"orders": grouped["key"].nunique(), "last_day": grouped["day"].max()})


def reference_purchase_days(frame: pd.DataFrame) -> tuple[pd.Series, int]:
    """Net value per (customer, purchase day) with each return on the latest purchase day."""
    orders = reference_orders(frame)
    value = orders.groupby(["customer_id", "day"])["amount"].sum()
    left_out = 0
    for row in frame.loc[frame["amount"] < 0].itertuples():
        day = _days(pd.Series([row.order_date]))[0]
        if row.customer_id not in value.index.get_level_values(0):
            left_out += 1
            continue
        days = value.loc[row.customer_id].index
        earlier = days[days <= day]
        if len(earlier):
            value.loc[(row.customer_id, earlier.max())] += row.amount
        else:
            left_out += 1
    return value, left_out


def _days(dates: pd.Series) -> np.ndarray:
    return np.asarray(dates, dtype="datetime64[D]").astype(np.int64)
