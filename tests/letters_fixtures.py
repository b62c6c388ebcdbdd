"""A small shop for letter tests: four customers, monthly orders, rules with a playbook."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

SECRET = "a-test-secret-of-enough-length"
RULES = """\
locale: de_DE
triggers:
  - id: no_order_6m
    kind: inactive
    for: 6mo
    severity: churned
    label: No order for 6 months
playbook:
  rules:
    - id: price_discount
      when: {reason: price}
      channel: letter
      offer: {kind: discount, percent: 10%, valid_for: 8w}
      cost: 2.5
  default:
    channel: letter
    allow_channels: [email]
    offer: {kind: bonus, amount: 1234.5, valid_for: 4w}
    cost: 1.5
templates:
  sender:
    name: Anna Berger
    company: Rösterei am Markt GmbH
    email: vertrieb@roesterei.example
    phone: "+49 30 1234"
"""
CUSTOMERS = [
    # id, salutation, first, last, company, email, language, channel, opt-out, reason
    ("K1", "Frau", "Claudia", "Sommer", "Café Sonnenschein & Co", "cs@cafe.example", "de",
     "E-Mail", "nein", ""),
    ("K2", "Mr", "James", "O'Brien", "", "james@mail.example", "en", "letter", "no",
     "too expensive"),
    ("K3", "Herr", "Karl", "Roß", "Weinstube Roß", "karl@wein.example", "de", "Brief", "nein", ""),
    ("K4", "Herr", "Peter", "Neumann", "", "peter@mail.example", "de", "E-Mail", "ja", ""),
]  # fmt: skip
LAST_ORDER = {"K1": dt.date(2025, 3, 2), "K2": dt.date(2025, 2, 10), "K4": dt.date(2025, 1, 20)}
FIRST_ORDER = dt.date(2023, 1, 5)
SHOP_LAST_ORDER = dt.date(2025, 10, 15)  # K3 still orders: the as-of date is the day after


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    days, year, month = [], first.year, first.month
    while (year, month) < (last.year, last.month):
        days.append(dt.date(year, month, min(first.day, 28)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return [*days, last]


def write_shop(folder: Path, *, extra_customer: str | None = None) -> dict[str, Path]:
    """Orders, customers and rules files in `folder`; `extra_customer` adds a churned id."""
    customers = list(CUSTOMERS)
    last = dict(LAST_ORDER, K3=SHOP_LAST_ORDER)
    if extra_customer is not None:
        customers.append(
            (extra_customer, "", "", "", "Odd Id Ltd", "odd@id.example", "en", "", "no", "")
        )
        last[extra_customer] = dt.date(2025, 1, 10)
    order_lines = ["order_id,customer_id,order_date,amount"]
    number = 1000
    for customer_id, last_day in last.items():
        for day in _months(FIRST_ORDER, last_day):
            number += 1
            order_lines.append(f'{number},"{customer_id}",{day.isoformat()},120.50')
    header = (
        "customer_id,salutation,first_name,last_name,company,email,language,"
        "preferred_channel,opt_out,churn_reason"
    )
    customer_lines = [header] + [",".join(f'"{value}"' for value in row) for row in customers]
    paths = {
        "orders": folder / "orders.csv",
        "customers": folder / "customers.csv",
        "rules": folder / "rules.yaml",
    }
    paths["orders"].write_text("\n".join(order_lines) + "\n", encoding="utf-8")
    paths["customers"].write_text("\n".join(customer_lines) + "\n", encoding="utf-8")
    paths["rules"].write_text(RULES, encoding="utf-8")
    return paths


def letters_args(paths: dict[str, Path], *more: str) -> list[str]:
    """Arguments of `winback letters` for the shop in `paths`."""
    return [
        "letters",
        str(paths["orders"]),
        "--customers",
        str(paths["customers"]),
        "--rules",
        str(paths["rules"]),
        *more,
    ]
