"""Write winback's example exports, their answer key and README (stdlib only).

A small coffee and tea wholesaler: about 40 customers, each one a scenario
that makes particular churn triggers fire, or none. The order history is
drawn with `random.Random(SEED)`, so every run writes identical files: the
same data once as an English CSV export and once as a German Excel export
(`;`, cp1252 / UTF-8 with BOM, decimal comma, dd.mm.yyyy, CRLF). Before
anything is written, a plain-Python re-implementation of the rules in
`rules.yaml` checks that every scenario fires exactly the triggers it was
designed for; `expected_statuses.csv` is that answer key.

Run it from anywhere: `python examples/generate_examples.py`.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import random
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20251101
AS_OF = dt.date(2025, 11, 1)  # the day after the latest order
# The parameters of rules.yaml, mirrored so the answer key can be checked here.
INACTIVE_MONTHS, LAPSE_MONTHS, LAPSE_MIN_ORDERS = 6, 4, 3
REVENUE_MONTHS, REVENUE_BELOW = 12, 0.5
OVERDUE_FACTOR, OVERDUE_MIN_DAYS = 2.5, 4
WINDOW_MONTHS, BASKET_BELOW, BASKET_MIN = 6, 0.6, 2
FREQUENCY_BELOW, FREQUENCY_MIN = 0.5, 4
ENDS_WITHIN_DAYS = 60
SEVERITY = {
    "no_order_6m": "churned",
    "revenue_halved": "at_risk",
    "stopped_category": "at_risk",
    "rhythm_broken": "at_risk",
    "smaller_baskets": "at_risk",
    "fewer_orders": "at_risk",
    "contract_cancelled": "churned",
    "contract_ending": "at_risk",
    "moved_away": "churned",
}  # in rules.yaml order
STATUS_RANK = ("active", "at_risk", "churned")

# category: (unit price in 2023, cost share, quantity range of a standard order);
# standard orders of the consumables are worth about the same, so a customer's mix of
# categories does not swing the average basket
CATALOGUE = {
    "Kaffee": (18.90, 0.62, (8, 16)),
    "Tee": (7.40, 0.55, (15, 30)),
    "Sirupe": (6.90, 0.60, (15, 30)),
    "Zubehör": (14.50, 0.48, (6, 14)),
    "Service": (89.00, 0.35, (1, 3)),
    "Maschinen": (1490.00, 0.78, (1, 1)),
}
SCALED = {"Kaffee", "Tee", "Sirupe", "Zubehör"}  # quantities that grow with the customer


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# --- scenarios ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """Orders roughly every `every` days; `last` pins the final order's date."""

    start: dt.date
    end: dt.date
    every: int
    mix: dict[str, int]  # category -> weight; one category per order
    size: float = 1.0  # scales the quantity of consumables
    last: dt.date | None = None


@dataclass(frozen=True)
class Doc:
    """One hand-placed document: an order with several lines, a credit note, a cancellation."""

    day: dt.date
    lines: tuple[tuple[str, int, float | None], ...]  # category, quantity, unit price or None
    kind: str = "order"  # order, return, cancelled


@dataclass(frozen=True)
class Customer:
    id: str
    company: str
    salutation: str  # German: Herr / Frau
    first_name: str
    last_name: str
    scenario: str
    expect: tuple[str, ...]
    plan: tuple[Phase | Doc, ...]
    language: str = "de"
    channel: str = "email"  # letter, email, phone
    opt_out: bool = False
    contract: str = ""  # active, cancelled, notice_given
    contract_end: str = ""
    reason: str = ""  # churn reason, English word (see REASON for the German one)
    strategic: bool = False
    moved_abroad: bool = False
    keep_categories_current: bool = True

    @property
    def name(self) -> str:
        return self.company or f"{self.first_name} {self.last_name}"

    @property
    def email(self) -> str:
        base = (self.company or f"{self.first_name}.{self.last_name}").casefold()
        for old, new in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("é", "e")):
            base = base.replace(old, new)
        slug = "".join(ch if ch.isalnum() else "-" for ch in base).strip("-")
        while "--" in slug:
            slug = slug.replace("--", "-")
        return f"info@{slug}.example" if self.company else f"{slug}@mail.example"


def every(
    start: str, end: str, days: int, mix: dict[str, int], size: float = 1.0, last: bool = False
) -> Phase:
    return Phase(d(start), d(end), days, mix, size, d(end) if last else None)


def doc(day: str, *lines: tuple[str, int, float | None], kind: str = "order") -> Doc:
    return Doc(d(day), lines, kind)


K, T, S, Z, SV, M = "Kaffee", "Tee", "Sirupe", "Zubehör", "Service", "Maschinen"
CHURNED_SILENT = ("no_order_6m", "revenue_halved", "rhythm_broken")

# fmt: off
# One scenario per customer, kept one short block each; the formatter would spread
# every argument over its own line and make the table unreadable.
CUSTOMERS = (
    # --- active: regular buyers, last order recent, nothing fires ------------------------
    Customer("K00001", "Café Sonnenschein GmbH", "Frau", "Claudia", "Sommer",
             "regular café every 2 weeks; machine bought 2024 in a multi-line order", (),
             (every("2022-11-07", "2025-10-31", 14, {K: 6, S: 2, Z: 1}, last=True),
              doc("2024-03-12", (K, 12, None), (M, 1, 1890.0), (SV, 2, None)),
              doc("2024-04-03", (Z, 2, None), kind="return"))),
    Customer("K00002", "Bäckerei Weißgerber", "Herr", "Günther", "Weißgerber",
             "bakery every 3 weeks; one credit note", (),
             (every("2022-11-14", "2025-10-24", 21, {K: 5, T: 1}, 1.2, last=True),
              doc("2025-02-14", (K, 2, None), kind="return")), channel="phone"),
    Customer("K00003", "Büro Schmidt, Meyer & Partner", "Frau", "Katrin", "Meyer",
             "office, monthly; one cancelled order (not counted)", (),
             (every("2023-01-10", "2025-10-28", 30, {K: 3, T: 2}, 0.6, last=True),
              doc("2024-06-18", (K, 10, None), kind="cancelled"))),
    Customer("00042", "Gasthaus Zur Mühle", "Herr", "Franz", "Müller",
             "all-digit customer id; inn, every 4 weeks", (),
             (every("2022-11-03", "2025-10-30", 28, {K: 4, S: 1}, last=True),), channel="letter"),
    Customer("K00005", "", "Herr", "Jörg", "Özdemir", "private buyer every 6 weeks", (),
             (every("2023-03-01", "2025-10-02", 45, {K: 1}, 0.15, last=True),)),
    Customer("K00006", "", "Frau", "Anna", "Becker", "private tea buyer every 2 months", (),
             (every("2023-05-10", "2025-09-18", 60, {T: 3, Z: 1}, 0.3, last=True),)),
    Customer("K00007", "Teehaus Grünblatt OHG", "Herr", "Malte", "Grünblatt",
             "tea shop every 4 weeks", (),
             (every("2022-11-21", "2025-10-27", 28, {T: 5, Z: 1}, 1.5, last=True),)),
    Customer("K00008", "Kanzlei Fuchs & Kollegen", "Frau", "Verena", "Fuchs",
             "law firm, service contract active until end of 2026", (),
             (every("2023-02-01", "2025-10-21", 30, {K: 1}, 0.5, last=True),
              every("2023-02-15", "2025-08-20", 91, {SV: 1}, last=True)),
             contract="active", contract_end="2026-12-31"),
    Customer("K00009", "", "Frau", "Emily", "Clarke", "English-speaking private buyer", (),
             (every("2023-09-04", "2025-10-22", 35, {T: 2, K: 1}, 0.2, last=True),),
             language="en"),
    Customer("K00010", "Coworking Loft Süd", "Herr", "Niklas", "Brandt",
             "new customer since June 2025", (),
             (every("2025-06-03", "2025-10-29", 14, {K: 3, S: 1}, 0.8, last=True),)),
    Customer("K00011", "[Test] Müller & Söhne", "Herr", "Hans", "Müller",
             "bracketed test-account name; small monthly orders", (),
             (every("2024-01-15", "2025-10-15", 30, {Z: 1}, 0.5, last=True),)),
    Customer("K00012", "Praxis Dr. Weiß", "Frau", "Heike", "Weiß",
             "surgery, monthly; two credit notes", (),
             (every("2023-04-03", "2025-10-20", 30, {K: 2, T: 1}, 0.4, last=True),
              doc("2024-09-10", (K, 2, None), kind="return"),
              doc("2025-07-08", (T, 3, None), kind="return"))),
    Customer("K00013", "Hotel Seeblick GmbH", "Herr", "Stefan", "Roth",
             "big hotel every 10 days; multi-line orders; one cancelled order", (),
             (every("2022-11-02", "2025-10-29", 10, {K: 5, S: 2, T: 2}, 2.0, last=True),
              doc("2024-12-03", (K, 30, None), (T, 15, None), (S, 12, None)),
              doc("2025-04-08", (K, 28, None), (Z, 6, None), (S, 10, None)),
              doc("2025-03-11", (K, 40, None), kind="cancelled")), channel="phone"),
    Customer("K00014", "", "Herr", "Maximilian", "Groß", "active, but opted out of mailings",
             (), (every("2023-02-20", "2025-09-30", 50, {K: 1}, 0.15, last=True),),
             channel="letter", opt_out=True),
    Customer("K00015", "Ferienwohnungen Straßer", "Frau", "Ingrid", "Straßer",
             "holiday flats, orders once a quarter", (),
             (every("2022-12-01", "2025-09-10", 91, {K: 3, Z: 1}, 0.7, last=True),),
             channel="letter"),
    Customer("K00016", "Green Leaf Ltd", "Herr", "Oliver", "Hughes",
             "English-speaking company, monthly tea", (),
             (every("2023-06-05", "2025-10-23", 30, {T: 4, Z: 1}, 0.8, last=True),),
             language="en"),
    Customer("K00017", "Yoga-Studio Lichtblick", "Frau", "Mira", "Lehmann",
             "studio, tea every 5 weeks", (),
             (every("2024-02-12", "2025-10-16", 35, {T: 1}, 0.6, last=True),)),
    Customer("K00018", "", "Frau", "Sophie", "Wagner", "private buyer every 40 days", (),
             (every("2023-08-01", "2025-10-09", 40, {K: 2, S: 1}, 0.2, last=True),)),
    Customer("K00019", "Weinstube Roß", "Herr", "Karl", "Roß", "wine bar, monthly", (),
             (every("2022-11-10", "2025-10-17", 30, {K: 1}, 0.6, last=True),),
             channel="letter"),
    # --- churned: no order for 6 months, moved away ---------------------------------------
    Customer("K00020", "Restaurant Adler", "Herr", "Paolo", "Bianchi",
             "restaurant, last order August 2024", CHURNED_SILENT,
             (every("2022-11-08", "2024-08-20", 21, {K: 4, S: 1}, 1.2, last=True),),
             channel="phone"),
    Customer("K00021", "", "Frau", "Sabine", "Krüger",
             "moved abroad (churn reason and flag); last order Feb 2025",
             (*CHURNED_SILENT, "moved_away"),
             (every("2023-03-06", "2025-02-11", 50, {K: 1, T: 1}, 0.2, last=True),),
             channel="letter", reason="moved abroad", moved_abroad=True),
    Customer("K00022", "", "Herr", "Lukas", "Hoffmann",
             "still ordering, but flagged as moved abroad", ("moved_away",),
             (every("2023-06-12", "2025-10-10", 30, {K: 1}, 0.15, last=True),),
             moved_abroad=True),
    Customer("K00023", "Imbiss Ecke", "Herr", "Murat", "Kaya",
             "three orders Dec 2024 - Mar 2025, then nothing", ("no_order_6m",),
             (doc("2024-12-05", (K, 6, None)), doc("2025-01-20", (K, 5, None)),
              doc("2025-03-28", (K, 6, None)))),
    Customer("K00024", "", "Herr", "Peter", "Neumann",
             "opted out; last order Nov 2024", CHURNED_SILENT,
             (every("2023-01-09", "2024-11-15", 30, {K: 1}, 0.15, last=True),), opt_out=True),
    Customer("K00025", "Getränke Schäfer KG", "Herr", "Rolf", "Schäfer",
             "business closed; last order May 2023", CHURNED_SILENT,
             (every("2022-11-04", "2023-05-23", 30, {K: 2, S: 2}, last=True),),
             reason="closed"),
    Customer("K00026", "Konditorei Lindner", "Frau", "Petra", "Lindner",
             "left over price; last order Jan 2025", (*CHURNED_SILENT, "fewer_orders"),
             (every("2023-01-16", "2025-01-15", 20, {K: 3, T: 1}, 0.8, last=True),),
             reason="price"),
    Customer("K00027", "Friseursalon Schnittpunkt", "Frau", "Jana", "Kraus",
             "salon, last order Feb 2024", CHURNED_SILENT,
             (every("2023-03-01", "2024-02-14", 30, {K: 1}, 0.4, last=True),)),
    Customer("K00048", "", "Herr", "James", "O'Brien",
             "English-speaking private buyer, last order March 2025",
             (*CHURNED_SILENT, "fewer_orders"),
             (every("2023-10-02", "2025-03-28", 30, {T: 1}, 0.2, last=True),), language="en"),
    # --- contracts -----------------------------------------------------------------------
    Customer("K00030", "Fitnessstudio Kraftwerk", "Herr", "Dennis", "Vogel",
             "contract cancelled (ended 30.09.2025), went to a competitor",
             ("contract_cancelled",),
             (every("2023-01-05", "2025-09-22", 30, {K: 3, S: 1}, 0.7, last=True),),
             contract="cancelled", contract_end="2025-09-30", reason="competitor"),
    Customer("K00031", "Autohaus Berger GmbH", "Frau", "Nicole", "Berger",
             "notice given, contract runs until 31.03.2026", ("contract_cancelled",),
             (every("2022-12-01", "2025-10-27", 30, {K: 1}, 0.9, last=True),),
             contract="notice_given", contract_end="2026-03-31"),
    Customer("K00032", "Steuerbüro Köhler", "Herr", "Bernd", "Köhler",
             "active contract ending 15.12.2025", ("contract_ending",),
             (every("2023-01-12", "2025-10-14", 30, {K: 2, T: 1}, 0.5, last=True),),
             contract="active", contract_end="2025-12-15"),
    # --- at risk: order behaviour changed -------------------------------------------------
    Customer("K00040", "Hotel Bergblick AG", "Herr", "Andreas", "Huber",
             "strategic; baskets less than half since May 2025", ("smaller_baskets",),
             (every("2022-11-15", "2025-04-30", 14, {K: 1}, 2.0),
              every("2025-05-06", "2025-10-28", 14, {K: 1}, 0.8, last=True)),
             channel="phone", strategic=True),
    Customer("K00041", "Kita Regenbogen", "Frau", "Julia", "Schulz",
             "every 3 weeks until April 2025, then 3 orders in 6 months", ("fewer_orders",),
             (every("2023-02-06", "2025-04-25", 20, {K: 1, T: 1}, 0.5),
              doc("2025-06-12", (K, 7, None)), doc("2025-08-19", (T, 12, None)),
              doc("2025-10-14", (K, 7, None)))),
    Customer("K00043", "Bistro Flügel", "Herr", "Tobias", "Flügel",
             "stopped buying tea after May 2025, still buys coffee", ("stopped_category",),
             (every("2023-01-18", "2025-05-20", 21, {K: 3, T: 2}, 0.6, last=True),
              every("2025-06-10", "2025-10-24", 21, {K: 1}, 0.7, last=True)),
             keep_categories_current=False),
    Customer("K00044", "Catering Wagner GmbH", "Herr", "Felix", "Wagner",
             "ordered every 2 weeks; nothing since 05.09.2025", ("rhythm_broken",),
             (every("2023-01-09", "2025-09-05", 14, {K: 3, S: 1}, last=True),)),
    Customer("K00045", "Restaurant Lindenhof", "Frau", "Monika", "Linde",
             "orders as often as ever, but less than half the volume since May 2024",
             ("revenue_halved",),
             (every("2022-11-11", "2024-04-30", 30, {K: 1}, 2.2),
              every("2024-05-14", "2025-10-22", 30, {K: 1}, 0.9, last=True))),
    Customer("K00046", "Bistro Zeitlos", "Herr", "Jan", "Peters",
             "fewer and smaller orders since May 2025",
             ("revenue_halved", "smaller_baskets", "fewer_orders"),
             (every("2023-04-03", "2024-10-31", 15, {K: 1}, 1.6),
              every("2024-11-04", "2025-04-28", 15, {K: 1}, 1.0),
              doc("2025-05-20", (K, 3, None)), doc("2025-07-08", (K, 3, None)),
              doc("2025-08-26", (K, 2, None)), doc("2025-10-16", (K, 3, None)))),
    Customer("K00049", "Zahnarztpraxis Dr. Kühn", "Herr", "Matthias", "Kühn",
             "quarterly machine service stopped after March 2025", ("stopped_category",),
             (every("2023-03-13", "2025-10-20", 30, {K: 1}, 0.4, last=True),
              every("2023-04-20", "2025-03-20", 91, {SV: 1}, last=True)),
             keep_categories_current=False),
    Customer("K00050", "Eventagentur Blau", "Frau", "Lena", "Blau",
             "bought machines 2023/24 (one returned); now only small orders",
             ("revenue_halved",),
             (every("2023-04-03", "2025-10-13", 30, {K: 2, Z: 1}, 0.5, last=True),
              doc("2023-05-10", (M, 1, 3490.0)),
              doc("2024-03-19", (M, 2, 1490.0), (Z, 4, None)),
              doc("2024-04-10", (M, 1, 1490.0), kind="return"))),
)
# fmt: on


# --- order history --------------------------------------------------------------------------


@dataclass
class Line:
    customer: str
    day: dt.date
    category: str
    quantity: int
    amount: float
    cost: float
    kind: str  # order, return, cancelled
    group: str  # lines of one document share it
    number: str = ""  # document number, given in date order


@dataclass
class History:
    lines: list[Line] = field(default_factory=list)

    def add(
        self,
        customer: str,
        day: dt.date,
        category: str,
        quantity: int,
        kind: str,
        group: str,
        price: float | None = None,
    ) -> None:
        unit, share, _ = CATALOGUE[category]
        unit = price or round(unit * (1 + 0.04 * (day.year - 2023)), 2)  # yearly price rise
        amount = round(quantity * unit, 2)
        sign = -1 if kind == "return" else 1
        self.lines.append(
            Line(
                customer,
                day,
                category,
                sign * quantity,
                sign * amount,
                sign * round(amount * share, 2),
                kind,
                group,
            )
        )


def months_before(day: dt.date, months: int) -> dt.date:
    """First day of the month `months` calendar months before `day` (a 1st)."""
    if day.day != 1:
        raise ValueError(f"the examples assume an as-of date on the 1st, not {day}")
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def weekday(day: dt.date, end: dt.date) -> dt.date:
    """Move a weekend day to Monday (back to Friday when Monday is past `end`)."""
    if day.weekday() < 5:
        return day
    monday = day + dt.timedelta(days=7 - day.weekday())
    return monday if monday <= end else day - dt.timedelta(days=day.weekday() - 4)


def phase_days(phase: Phase, rng: random.Random) -> list[dt.date]:
    days, day = [], phase.start
    while day <= phase.end:
        days.append(weekday(day, phase.end))
        day += dt.timedelta(days=round(phase.every * rng.uniform(0.8, 1.2)))
    if phase.last is not None:
        keep = phase.last - dt.timedelta(days=phase.every // 2)
        days = [x for x in days if x <= keep] + [phase.last]
    return days


def quantity(category: str, size: float, rng: random.Random) -> int:
    low, high = CATALOGUE[category][2]
    if category in SCALED:
        low, high = max(1, round(low * size)), max(1, round(high * size))
    return rng.randint(low, high)


def build_history(rng: random.Random) -> History:
    history = History()
    for customer in CUSTOMERS:
        for n, step in enumerate(customer.plan):
            if isinstance(step, Doc):
                for category, qty, price in step.lines:
                    history.add(
                        customer.id, step.day, category, qty, step.kind, f"{customer.id}/{n}", price
                    )
                continue
            categories, weights = zip(*step.mix.items(), strict=True)
            for k, day in enumerate(phase_days(step, rng)):
                category = rng.choices(categories, weights)[0]
                history.add(
                    customer.id,
                    day,
                    category,
                    quantity(category, step.size, rng),
                    "order",
                    f"{customer.id}/{n}/{k}",
                )
        if customer.keep_categories_current:
            keep_current(history, customer.id)
    return history


def keep_current(history: History, customer: str) -> None:
    """A regular category not bought lately joins the last order, so nothing lapses by chance."""
    cutoff = months_before(AS_OF, LAPSE_MONTHS)
    orders = [x for x in history.lines if x.customer == customer and x.kind == "order"]
    last = max(orders, key=lambda x: x.day)
    per_category: dict[str, list[Line]] = defaultdict(list)
    for line in orders:
        per_category[line.category].append(line)
    for category, lines in sorted(per_category.items()):
        if (
            last.day >= cutoff
            and len({x.group for x in lines}) >= LAPSE_MIN_ORDERS
            and max(x.day for x in lines) < cutoff
        ):
            history.add(customer, last.day, category, lines[-1].quantity, "order", last.group)


def number_documents(history: History) -> list[Line]:
    """Give orders (100001...) and credit notes (GS-00001...) numbers in date order."""
    groups: dict[str, list[Line]] = defaultdict(list)
    for line in history.lines:
        groups[line.group].append(line)
    ordered = sorted(groups.values(), key=lambda ls: (ls[0].day, ls[0].customer, ls[0].group))
    rows, next_order, next_credit = [], 100001, 1
    for lines in ordered:
        if lines[0].kind == "return":
            number, next_credit = f"GS-{next_credit:05d}", next_credit + 1
        else:
            number, next_order = str(next_order), next_order + 1
        for line in sorted(lines, key=lambda x: x.category):
            line.number = number
            rows.append(line)
    return rows


# --- writing --------------------------------------------------------------------------------

YES_NO = {True: ("yes", "ja"), False: ("no", "nein")}
SALUTATION = {"Herr": "Mr", "Frau": "Ms", "": ""}
CHANNEL = {"letter": "Brief", "email": "E-Mail", "phone": "Telefon"}
CONTRACT = {
    "active": "aktiv",
    "cancelled": "gekündigt",
    "notice_given": "Kündigung eingegangen",
    "": "",
}
REASON = {
    "moved abroad": "ins Ausland verzogen",
    "moved": "umgezogen",
    "price": "Preis",
    "closed": "Betrieb aufgegeben",
    "competitor": "Wettbewerber",
    "": "",
}


def german_number(value: float) -> str:
    """1234.5 -> 1.234,50, as German Excel saves a number cell to CSV."""
    text = f"{abs(value):,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return ("-" if value < 0 else "") + text


def german_date(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


def write_csv(
    name: str,
    header: list[str],
    rows: list[list[str]],
    *,
    german: bool = False,
    encoding: str = "utf-8",
) -> None:
    with (HERE / name).open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(
            handle, delimiter=";" if german else ",", lineterminator="\r\n" if german else "\n"
        )
        writer.writerow(header)
        writer.writerows(rows)


def write_orders(rows: list[Line]) -> None:
    english = [
        [
            x.number,
            x.customer,
            x.day.isoformat(),
            f"{x.amount:.2f}",
            f"{x.cost:.2f}",
            x.category,
            str(x.quantity),
            "cancelled" if x.kind == "cancelled" else "completed",
        ]
        for x in rows
    ]
    german = [
        [
            x.number,
            x.customer,
            german_date(x.day),
            german_number(x.amount),
            german_number(x.cost),
            x.category,
            str(x.quantity),
            "storniert" if x.kind == "cancelled" else "abgeschlossen",
        ]
        for x in rows
    ]
    write_csv(
        "orders_en.csv",
        [
            "order_id",
            "customer_id",
            "order_date",
            "amount",
            "cost",
            "category",
            "quantity",
            "status",
        ],
        english,
    )
    write_csv(
        "orders_de.csv",
        [
            "Belegnummer",
            "Kundennummer",
            "Belegdatum",
            "Nettobetrag",
            "Wareneinsatz",
            "Warengruppe",
            "Menge",
            "Status",
        ],
        german,
        german=True,
        encoding="cp1252",
    )


def write_customers() -> None:
    english, german = [], []
    for c in sorted(CUSTOMERS, key=lambda c: c.id):
        end = d(c.contract_end) if c.contract_end else None
        english.append(
            [
                c.id,
                SALUTATION[c.salutation],
                c.first_name,
                c.last_name,
                c.company,
                c.email,
                c.language,
                c.channel,
                YES_NO[c.opt_out][0],
                c.contract,
                end.isoformat() if end else "",
                c.reason,
                YES_NO[c.strategic][0],
                YES_NO[c.moved_abroad][0],
            ]
        )
        german.append(
            [
                c.id,
                c.salutation,
                c.first_name,
                c.last_name,
                c.company,
                c.email,
                c.language,
                CHANNEL[c.channel],
                YES_NO[c.opt_out][1],
                CONTRACT[c.contract],
                german_date(end) if end else "",
                REASON[c.reason],
                YES_NO[c.strategic][1],
                YES_NO[c.moved_abroad][1],
            ]
        )
    write_csv(
        "customers_en.csv",
        [
            "customer_id",
            "salutation",
            "first_name",
            "last_name",
            "company",
            "email",
            "language",
            "preferred_channel",
            "opt_out",
            "contract_status",
            "contract_end",
            "churn_reason",
            "strategic",
            "moved_abroad",
        ],
        english,
    )
    write_csv(
        "customers_de.csv",
        [
            "Kundennummer",
            "Anrede",
            "Vorname",
            "Nachname",
            "Firma",
            "E-Mail",
            "Sprache",
            "Bevorzugter Kanal",
            "Werbesperre",
            "Vertragsstatus",
            "Vertragsende",
            "Kündigungsgrund",
            "Strategisch",
            "Ins Ausland verzogen",
        ],
        german,
        german=True,
        encoding="utf-8-sig",
    )


# --- the answer key: the triggers re-implemented on plain Python data -----------------------


def order_triggers(lines: list[Line]) -> set[str]:
    """Order-based triggers of one customer, as rules.example.yaml describes them."""
    buys = [x for x in lines if x.amount >= 0]  # credit notes are revenue, not orders
    day: dict[str, dt.date] = {}
    value: dict[str, float] = defaultdict(float)
    for x in buys:
        day[x.number] = min(day.get(x.number, x.day), x.day)
        value[x.number] += x.amount
    last = max(day.values())
    fired = {"no_order_6m"} if last < months_before(AS_OF, INACTIVE_MONTHS) else set()
    monthly: dict[int, float] = defaultdict(float)
    for x in lines:  # month 0 is the month before the as-of date
        monthly[AS_OF.year * 12 + AS_OF.month - x.day.year * 12 - x.day.month - 1] += x.amount
    sums = [sum(monthly[k + j] for j in range(REVENUE_MONTHS)) for k in range(max(monthly) + 1)]
    if sums[0] < REVENUE_BELOW * max(sums):
        fired.add("revenue_halved")
    cutoff = months_before(AS_OF, LAPSE_MONTHS)
    per_category: dict[str, set[str]] = defaultdict(set)
    for x in buys:
        per_category[x.category].add(x.number)
    if last >= cutoff and any(
        len(ns) >= LAPSE_MIN_ORDERS and max(day[n] for n in ns) < cutoff
        for ns in per_category.values()
    ):
        fired.add("stopped_category")
    days = sorted(set(day.values()))
    if len(days) >= OVERDUE_MIN_DAYS:
        gap = statistics.median((b - a).days for a, b in itertools.pairwise(days))
        if (AS_OF - last).days > OVERDUE_FACTOR * gap:
            fired.add("rhythm_broken")
    start = months_before(AS_OF, WINDOW_MONTHS)
    earlier = months_before(start, WINDOW_MONTHS)
    recent = [value[n] for n, x in day.items() if start <= x < AS_OF]
    before = [value[n] for n, x in day.items() if earlier <= x < start]
    if min(len(recent), len(before)) >= BASKET_MIN and sum(recent) / len(
        recent
    ) < BASKET_BELOW * sum(before) / len(before):
        fired.add("smaller_baskets")
    if len(before) >= FREQUENCY_MIN and len(recent) < FREQUENCY_BELOW * len(before):
        fired.add("fewer_orders")
    return fired


def customer_triggers(customer: Customer) -> set[str]:
    """Triggers on the customer file: contract status and end, the moved-abroad flag."""
    fired = set()
    end = d(customer.contract_end) if customer.contract_end else None
    if customer.contract in ("cancelled", "notice_given") or (end and end < AS_OF):
        fired.add("contract_cancelled")
    if end and AS_OF <= end <= AS_OF + dt.timedelta(days=ENDS_WITHIN_DAYS):
        fired.add("contract_ending")
    if customer.moved_abroad:
        fired.add("moved_away")
    return fired


def answer_key(rows: list[Line]) -> list[list[str]]:
    """Check that every scenario fires exactly its designed triggers; return the key rows."""
    counted = [x for x in rows if x.kind != "cancelled"]
    if max(x.day for x in counted) != AS_OF - dt.timedelta(days=1):
        raise SystemExit(f"the latest order must be the day before {AS_OF}")
    per_customer: dict[str, list[Line]] = defaultdict(list)
    for x in counted:
        per_customer[x.customer].append(x)
    key, wrong = [], []
    for c in sorted(CUSTOMERS, key=lambda c: c.id):
        fired = order_triggers(per_customer[c.id]) | customer_triggers(c)
        if fired != set(c.expect):
            wrong.append(
                f"{c.id} ({c.scenario}): designed {sorted(c.expect)}, fired {sorted(fired)}"
            )
        ids = [t for t in SEVERITY if t in fired]
        status = max((SEVERITY[t] for t in ids), key=STATUS_RANK.index, default="active")
        key.append([c.id, status, "; ".join(ids)])
    if wrong:
        raise SystemExit("scenarios do not fire as designed:\n" + "\n".join(wrong))
    return key


README = """\
# Example exports

The order and customer exports of a small coffee and tea wholesaler (cafés,
hotels, offices and some private buyers): {customers} customers, {rows} order
rows from {first} to 2025-10-31. Each customer is a scenario that makes
particular churn triggers fire, or none, so you can see what `winback scan`
reports and why. The data is made up; `generate_examples.py` writes it
(deterministic, standard library only) and checks the answer key below.

- `orders_en.csv`, `customers_en.csv`: English style, `,` separated, UTF-8,
  dates `2025-03-02`, amounts `1234.50`.
- `orders_de.csv`, `customers_de.csv`: the same data as a German Excel
  "CSV (Trennzeichen-getrennt)" export: `;` separated, dates `02.03.2025`,
  amounts `1.234,50`, CRLF line ends, German headers and values (`ja`/`nein`,
  `gekündigt`); the orders are cp1252, the customers UTF-8 with BOM.
- `rules.yaml`: the rules for both, the default triggers plus `moved_away`,
  which reads the `moved_abroad` / `Ins Ausland verzogen` column.
- `expected_statuses.csv`: the answer key, `customer_id,status,triggers` for
  every customer the scan reports.
- `generate_examples.py`: writes all of the above and this README.

```sh
winback scan examples/orders_en.csv --customers examples/customers_en.csv \\
    --rules examples/rules.yaml --status all
winback scan examples/orders_de.csv --customers examples/customers_de.csv \\
    --rules examples/rules.yaml --status all
```

Both give the same customers, statuses and triggers. The as-of date is
2025-11-01, the day after the latest order; "the last 6 months" is
2025-05-01 to 2025-10-31.

Worth knowing when you read the output:

- Credit notes (`GS-…` documents) are negative amounts: they lower revenue but
  are not orders.
- Some orders have several lines (same order id, different categories); they
  count as one order.
- Two rows have status `cancelled` (`storniert`): winback leaves them out by
  default (`exclude_status`) and lists them with `--rejects`.
- Customer ids are text: `00042` stays `00042`.
- Opted-out customers (K00014, K00024) and the strategic one (K00040) show in
  the `opt_out` and `strategic` columns; K00021 gave "moved abroad" as churn
  reason, which rules a win-back out.

Every trigger of `rules.yaml` fires for at least one customer:

{kinds}

| customer | name | scenario | status | triggers |
| --- | --- | --- | --- | --- |
{table}
"""


def write_readme(key: list[list[str]], rows: list[Line]) -> None:
    by_id = {c.id: c for c in CUSTOMERS}
    order = {"churned": 0, "at_risk": 1, "active": 2}
    table = "\n".join(
        f"| `{cid}` | {by_id[cid].name.replace('|', '/')} | {by_id[cid].scenario} | {status} "
        f"| {triggers.replace('; ', ', ') or 'none'} |"
        for cid, status, triggers in sorted(key, key=lambda k: (order[k[1]], k[0]))
    )
    kinds = "\n".join(
        f"- `{trigger}` ({SEVERITY[trigger]}): "
        + ", ".join(cid for cid, _, fired in key if trigger in fired.split("; "))
        for trigger in SEVERITY
    )
    text = README.format(
        customers=len(key),
        rows=len(rows),
        kinds=kinds,
        table=table,
        first=min(x.day for x in rows).isoformat(),
    )
    (HERE / "README.md").write_text(text, encoding="utf-8")


def main() -> None:
    rows = number_documents(build_history(random.Random(SEED)))
    key = answer_key(rows)
    write_orders(rows)
    write_customers()
    write_csv("expected_statuses.csv", ["customer_id", "status", "triggers"], key)
    write_readme(key, rows)
    print(f"wrote {len(rows)} order rows for {len(CUSTOMERS)} customers to {HERE}")


if __name__ == "__main__":
    main()
