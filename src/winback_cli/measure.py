"""Did a campaign work: outcomes of contacted and control customers after the contact.

Pure computations over the campaign's ledger rows (`ledger.read_campaign`)
and the order rows (`load.load_orders`). A customer is *won back* when they
placed an order (a row with a positive amount) dated on or after their
contact date and before the contact date plus the window; orders, revenue
(net of returns), returns, complaints and offer-code redemptions are all
counted in that same window, so contacted and control customers are
compared over the same span. Revenue gained minus the campaign's cost and
the return on cost describe the contacted group; with a control group the
lift is the difference of the two win-back rates with Newcombe's 95 %
interval (`stats.newcombe_difference`), and the incremental revenue is the
contacted group's revenue per customer minus the control group's, times the
contacted customers. *Keeping them* applies the scan's order-based triggers
as of the end of the data to the customers won back.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from winback_cli.durations import Duration
from winback_cli.stats import newcombe_difference

DIMENSIONS = ("measure", "channel", "segment", "reason", "trigger")
COMPLAINT = re.compile(r"complain|reklamation|beschwerde|retour|return|refund|erstatt", re.I)


@dataclass(frozen=True)
class Lift:
    """Contacted vs control: rates, their difference with a 95 % interval, extra revenue."""

    contacted_rate: float
    control_rate: float
    difference: float
    lower: float
    upper: float
    incremental_revenue: float
    incremental_net: float  # incremental revenue minus the campaign's cost


@dataclass(frozen=True)
class MeasureResult:
    campaign: str
    window: Duration
    data_until: dt.date  # the day after the latest order: nothing later is known
    customers: pd.DataFrame  # one row per ledger row, with its outcome
    summary: pd.DataFrame  # figure, contacted, control
    breakdown: pd.DataFrame  # dimension, value, counts, rates, money
    lift: Lift | None  # None without a control group
    keeping: dict[str, float]
    has_codes: bool
    notes: tuple[str, ...]


def outcomes(
    contacts: pd.DataFrame, orders: pd.DataFrame, window: Duration, until: pd.Timestamp
) -> pd.DataFrame:
    """Per ledger row: won back, days to the first order, orders, revenue, returns, redemptions."""
    people = contacts.copy()
    people["contact_date"] = pd.to_datetime(people["contact_date"])
    people["window_end"] = people["contact_date"] + window._offset()
    columns = ["customer_id", "order_date", "amount"]
    columns += [c for c in ("order_id", "code", "status") if c in orders.columns]
    rows = orders[columns].merge(
        people[["customer_id", "contact_date", "window_end"]], on="customer_id"
    )
    date = rows["order_date"]
    rows = rows.loc[(date >= rows["contact_date"]) & (date < rows["window_end"]) & (date < until)]
    buy = rows.loc[rows["amount"] > 0]
    key = buy["order_id"] if "order_id" in buy else pd.Series(buy.index, index=buy.index)
    grouped = buy.assign(key=key.astype("str")).groupby("customer_id")
    first = grouped["order_date"].min()
    status = rows["status"].astype("str") if "status" in rows else pd.Series("", index=rows.index)
    rows = rows.assign(
        is_return=rows["amount"] < 0, is_complaint=status.str.contains(COMPLAINT, na=False)
    )
    by_customer = rows.groupby("customer_id")
    ids = people["customer_id"]
    people["orders_after"] = ids.map(grouped["key"].nunique()).fillna(0).astype(int)
    people["won_back"] = people["orders_after"] > 0
    people["first_order_after"] = ids.map(first)
    people["days_to_first_order"] = (people["first_order_after"] - people["contact_date"]).dt.days
    people["revenue_after"] = ids.map(by_customer["amount"].sum()).fillna(0.0).round(2)
    people["returns_after"] = ids.map(by_customer["is_return"].sum()).fillna(0).astype(int)
    people["complaints_after"] = ids.map(by_customer["is_complaint"].sum()).fillna(0).astype(int)
    used = set()
    if "code" in rows:
        used = set(rows["code"].fillna("").astype("str").str.strip().str.upper()) - {""}
    code = people["offer_code"].fillna("").astype("str").str.strip().str.upper()
    people["redeemed"] = (code != "") & code.isin(used)
    people["window_complete"] = people["window_end"] <= until
    people["group"] = np.where(people["control"], "control", "contacted")
    return people


def _group_figures(frame: pd.DataFrame) -> dict[str, float]:
    n = len(frame)
    won = int(frame["won_back"].sum())
    revenue = float(frame["revenue_after"].sum())
    cost = float(frame["cost"].sum())
    net = revenue - cost
    return {
        "customers": n,
        "won back": won,
        "win-back rate": won / n if n else np.nan,
        "median days to first order": float(frame["days_to_first_order"].median())
        if won
        else np.nan,
        "orders after contact": int(frame["orders_after"].sum()),
        "revenue after contact": round(revenue, 2),
        "revenue per customer": round(revenue / n, 2) if n else np.nan,
        "offer codes handed out": int((frame["offer_code"].fillna("") != "").sum()),
        "offer codes redeemed": int(frame["redeemed"].sum()),
        "cost": round(cost, 2),
        "revenue minus cost": round(net, 2),
        "return on cost": net / cost if cost > 0 else np.nan,
        "returns after contact": int(frame["returns_after"].sum()),
        "complaints after contact": int(frame["complaints_after"].sum()),
    }


def summarise(people: pd.DataFrame) -> pd.DataFrame:
    """Figure | contacted | control, one row per figure."""
    contacted = _group_figures(people.loc[~people["control"]])
    control = _group_figures(people.loc[people["control"]])
    return pd.DataFrame(
        {
            "figure": list(contacted),
            "contacted": list(contacted.values()),
            "control": list(control.values()),
        }
    )


def lift(people: pd.DataFrame) -> Lift | None:
    """Contacted vs control; None when the campaign has no control group."""
    treated, held = people.loc[~people["control"]], people.loc[people["control"]]
    if held.empty or treated.empty:
        return None
    k1, n1 = int(treated["won_back"].sum()), len(treated)
    k0, n0 = int(held["won_back"].sum()), len(held)
    d, lower, upper = newcombe_difference(k1, n1, k0, n0)
    per_customer = treated["revenue_after"].mean() - held["revenue_after"].mean()
    extra = float(per_customer * n1)
    return Lift(
        k1 / n1,
        k0 / n0,
        d,
        lower,
        upper,
        round(extra, 2),
        round(extra - float(treated["cost"].sum()), 2),
    )


def breakdown(people: pd.DataFrame) -> pd.DataFrame:
    """Contacted and control outcomes by measure, channel, segment, reason and trigger."""
    parts = [people.assign(dimension="all", value="all")]
    for dimension in DIMENSIONS[:-1]:
        parts.append(people.assign(dimension=dimension, value=people[dimension].astype("str")))
    fired = people.assign(value=people["triggers"].fillna("").astype("str").str.split("; "))
    parts.append(fired.explode("value").assign(dimension="trigger"))
    long = pd.concat(parts, ignore_index=True)
    long["value"] = long["value"].replace("", "(none)")
    long["treated"] = ~long["control"]
    long["won_treated"] = long["won_back"] & long["treated"]
    long["won_control"] = long["won_back"] & long["control"]
    for column in ("revenue_after", "cost", "orders_after"):
        long[column] = long[column].where(long["treated"], 0)
    long["redeemed"] = long["redeemed"] & long["treated"]
    table = long.groupby(["dimension", "value"], sort=False).agg(
        contacted=("treated", "sum"),
        won_back=("won_treated", "sum"),
        control=("control", "sum"),
        control_won_back=("won_control", "sum"),
        orders=("orders_after", "sum"),
        revenue=("revenue_after", "sum"),
        redeemed=("redeemed", "sum"),
        cost=("cost", "sum"),
    )
    table = table.reset_index()
    ints = ["contacted", "won_back", "control", "control_won_back", "orders", "redeemed"]
    table[ints] = table[ints].astype(int)
    table["win_back_rate"] = table["won_back"] / table["contacted"].where(table["contacted"] > 0)
    table["control_rate"] = table["control_won_back"] / table["control"].where(table["control"] > 0)
    table["revenue_minus_cost"] = (table["revenue"] - table["cost"]).round(2)
    table["return_on_cost"] = table["revenue_minus_cost"] / table["cost"].where(table["cost"] > 0)
    table[["revenue", "cost"]] = table[["revenue", "cost"]].round(2)
    order = [
        "dimension",
        "value",
        "contacted",
        "won_back",
        "win_back_rate",
        "control",
        "control_won_back",
        "control_rate",
        "orders",
        "revenue",
        "redeemed",
        "cost",
        "revenue_minus_cost",
        "return_on_cost",
    ]
    return table[order]


def keeping(people: pd.DataFrame, statuses: pd.Series) -> dict[str, float]:
    """Of the contacted customers won back: left again, at risk again, returns, complaints.

    `statuses` is the scan status (churned / at_risk / active) by customer id as of
    the end of the data.
    """
    won = people.loc[people["won_back"] & ~people["control"]]
    status = won["customer_id"].map(statuses).fillna("active")
    return {
        "won back": len(won),
        "left again (churned now)": int((status == "churned").sum()),
        "at risk again": int((status == "at_risk").sum()),
        "still active": int((status == "active").sum()),
        "with returns after returning": int((won["returns_after"] > 0).sum()),
        "with complaints after returning": int((won["complaints_after"] > 0).sum()),
    }
