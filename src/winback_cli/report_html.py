"""The churn report as one self-contained HTML page: inline CSS, charts as inline SVG.

No script, no font or image from the network: the file opens anywhere and
can be forwarded by e-mail. Every text that comes from the data (names,
reasons, segments) is escaped. Money is formatted for the rules' locale.
"""

from __future__ import annotations

import math
from html import escape

import pandas as pd

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#222;max-width:960px;
margin:2em auto;padding:0 1em;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}
h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
.muted{color:#666}.cards{display:flex;flex-wrap:wrap;gap:12px;margin:1em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:1.4em}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}
th,td{border-bottom:1px solid #eee;padding:4px 10px;text-align:right}
th{background:#f5f5f5}td.l,th.l{text-align:left}
svg text{font-size:11px;fill:#333}
"""


def _num(value, kind: str, money) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if kind == "money":
        return money(value)
    if kind == "pct":
        return f"{value * 100:.1f}%"
    return f"{value:,.0f}"


def bar_chart(labels: list[str], values: list[float], title: str, width: int = 900) -> str:
    """Vertical bars with the value on top of each; one SVG element."""
    height, top, bottom, left = 220, 20, 40, 30
    n = max(len(values), 1)
    peak = max([*values, 1])
    step = (width - left) / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    usable = height - top - bottom
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = usable * value / peak
        x = left + i * step + step * 0.15
        y = top + usable - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
            f'fill="#c0392b"><title>{escape(label)}: {value:g}</title></rect>'
            f'<text x="{x + step * 0.35:.1f}" y="{y - 4:.1f}" text-anchor="middle">{value:g}</text>'
            f'<text x="{x + step * 0.35:.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    parts.append(
        f'<line x1="{left}" y1="{top + usable}" x2="{width}" y2="{top + usable}" stroke="#999"/>'
    )
    return "".join(parts) + "</svg>"


def hbar_chart(labels: list[str], values: list[float], title: str, width: int = 600) -> str:
    """Horizontal bars, one per label (reasons)."""
    row, left = 22, 140
    height = row * max(len(values), 1) + 10
    peak = max([*values, 1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        w = (width - left - 40) * value / peak
        y = 5 + i * row
        parts.append(
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{row - 6}" fill="#2c7fb8"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + 14}">{value:g}</text>'
        )
    return "".join(parts) + "</svg>"


def html_table(frame: pd.DataFrame, kinds: dict[str, str], money) -> str:
    """A plain table; `kinds` says which columns are money, pct or int (else text)."""
    head = "".join(
        f'<th class="{"" if c in kinds else "l"}">{escape(str(c).replace("_", " "))}</th>'
        for c in frame.columns
    )
    body = []
    for record in frame.to_dict("records"):
        cells = []
        for column, value in record.items():
            if column in kinds:
                cells.append(f"<td>{escape(_num(value, kinds[column], money))}</td>")
            else:
                missing = value is None or (isinstance(value, float) and math.isnan(value))
                cells.append(f'<td class="l">{escape("" if missing else str(value))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(figures, money, title: str) -> str:
    """The whole page."""
    h = figures.headline
    kinds = {"churn rate": "pct"}
    cards = "".join(
        f'<div class="card"><span class="muted">{escape(name)}</span>'
        f"<b>{escape(_num(value, _kind(name, kinds), money))}</b></div>"
        for name, value in h.items()
        if not (isinstance(value, float) and math.isnan(value))
    )
    losses = figures.losses
    chart = bar_chart(losses["month"].tolist(), losses["lost"].astype(float).tolist(),
                      "customers lost per month")  # fmt: skip
    reasons = figures.reasons
    reason_chart = hbar_chart(
        reasons["reason"].astype(str).tolist(),
        reasons["lost"].astype(float).tolist(),
        "lost customers by reason",
    )
    money_cols = {"lost_revenue_per_year": "money", "revenue_per_year": "money",
                  "margin_per_year": "money", "clv_at_start": "money"}  # fmt: skip
    count = {
        "lost": "int",
        "active_at_start": "int",
        "known": "int",
        "probable": "int",
        "at_risk_now": "int",
        "customers": "int",
        "churn_rate": "pct",
        "share_lost": "pct",
    }
    cohort_kinds = {c: "pct" for c in figures.cohorts.columns if c.startswith("after_")}
    cohort_kinds["customers"] = "int"
    lost = figures.lost.assign(last_order=figures.lost["last_order"].astype(str).str[:10])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>{CSS}</style></head><body>
<h1>{escape(title)}</h1>
<p class="muted">The last {figures.months} months before {figures.as_of}. A customer counts as
lost in the month the scan's churn triggers first said so and still say so today.</p>
<div class="cards">{cards}</div>
<h2>Customers lost per month</h2>{chart}
{html_table(losses.drop(columns=["from", "to"]), {**money_cols, **count}, money)}
<h2>Why they left</h2>
<p class="muted">Known: from feedback, the customer file or a trigger mapped to a reason.
Probable: read from the orders (returns, smaller baskets).</p>
{reason_chart}{html_table(reasons, {**money_cols, **count}, money)}
<h2>By segment</h2>{html_table(figures.segments, {**money_cols, **count}, money)}
<h2>Cohort retention</h2>
<p class="muted">Customers by the month of their first order; share still ordering 1, 3, 6 and
12 months later (empty while too young to tell).</p>
{html_table(figures.cohorts, cohort_kinds, money)}
<h2>Customers lost in the period</h2>{html_table(lost, money_cols, money)}
{"".join(f'<p class="muted">Note: {escape(n)}</p>' for n in figures.notes)}
</body></html>
"""


def _kind(name: str, kinds: dict[str, str]) -> str:
    if name in kinds:
        return kinds[name]
    return "money" if any(w in name for w in ("revenue", "margin", "value")) else "int"
