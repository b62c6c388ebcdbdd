"""`winback report` on the example exports, checked against a plain pandas recomputation."""

from __future__ import annotations

import io
from html.parser import HTMLParser

import pandas as pd
import pytest
from typer.testing import CliRunner

from winback_cli.cli import app
from winback_cli.report import compute_report, month_ends
from winback_cli.rules import load_rules
from winback_cli.scan import ScanOptions, run_scan

from .conftest import EXAMPLES

AS_OF = pd.Timestamp("2025-11-01")  # the day after the examples' last order


def winback(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def figures():
    """Without a customer file only the order triggers run: churned = no order for 6 months."""
    rules, source = load_rules(EXAMPLES / "rules.yaml")
    scan = run_scan(ScanOptions((str(EXAMPLES / "orders_en.csv"),), rules, source, keep_rows=True))
    return compute_report(scan, rules, 12)


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    frame = pd.read_csv(EXAMPLES / "orders_en.csv", dtype={"customer_id": str})
    frame = frame.loc[frame["status"] != "cancelled"]
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return frame.loc[frame["amount"] > 0]


def expected_losses(orders: pd.DataFrame) -> pd.Series:
    """A customer is lost in the month in which last order + 6 months is passed."""
    last = orders.groupby("customer_id")["order_date"].max()
    gone_on = last + pd.DateOffset(months=6) + pd.Timedelta(days=1)  # first day it fires
    start = AS_OF - pd.DateOffset(months=12)
    lost = gone_on[(gone_on > start) & (gone_on <= AS_OF)]
    # Checked at month ends: a loss on day 1 of a month belongs to the month before.
    month = (lost - pd.Timedelta(days=1)).dt.to_period("M").astype(str)
    return month.value_counts().reindex(
        pd.period_range(start, AS_OF - pd.Timedelta(days=1), freq="M").astype(str), fill_value=0
    )


def test_losses_per_month_match_a_pandas_recomputation(figures, orders):
    expected = expected_losses(orders)
    got = figures.losses.set_index("month")["lost"]
    assert got.index.tolist() == expected.index.tolist()
    assert got.tolist() == expected.tolist()
    assert figures.headline["lost in the period"] == expected.sum() > 0


def test_month_ends_step_back_in_calendar_months():
    ends = month_ends(AS_OF, 12)
    assert ends[0] == pd.Timestamp("2024-11-01") and ends[-1] == AS_OF and len(ends) == 13


def test_cohort_shares_match_a_pandas_recomputation(figures, orders):
    per = orders.groupby("customer_id")["order_date"].agg(["min", "max"])
    per["cohort"] = per["min"].dt.to_period("M").dt.to_timestamp()
    row = figures.cohorts.iloc[0]
    group = per.loc[per["cohort"] == pd.Timestamp(row["cohort"])]
    assert row["customers"] == len(group)
    for m in (1, 3, 6, 12):
        share = (group["max"] >= group["cohort"] + pd.DateOffset(months=m)).mean()
        assert row[f"after_{m}m"] == pytest.approx(share)
    assert figures.cohorts["customers"].sum() == len(per)


def test_lost_revenue_is_the_lost_customers_revenue_per_year(figures):
    lost = figures.lost
    assert figures.headline["lost annual revenue"] == pytest.approx(lost["revenue_per_year"].sum())
    assert figures.reasons["lost"].sum() == len(lost) == figures.segments["lost"].sum()
    assert figures.has_clv and figures.headline["lost lifetime value"] > 0


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)

    def handle_data(self, data) -> None:
        self.text.append(data)


def test_html_report_is_one_page_with_its_figures_and_svg_charts(tmp_path, figures):
    out = tmp_path / "churn.html"
    result = winback("report", str(EXAMPLES / "orders_en.csv"), "-r", str(EXAMPLES / "rules.yaml"),
                     "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    page = Page()
    html = out.read_text(encoding="utf-8")
    page.feed(html)
    text = " ".join(page.text)
    assert page.tags.count("svg") >= 2 and "script" not in page.tags
    assert "Customers lost per month" in text and "Cohort retention" in text
    assert f"{figures.headline['lost in the period']}" in text
    assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_html_escapes_customer_text(tmp_path):
    orders = tmp_path / "orders.csv"
    rows = ["customer_id,order_date,amount"] + [
        f"<b>x{i}</b>,2024-0{m}-10,100" for i in range(3) for m in range(1, 4)
    ]
    rows.append("other,2025-06-01,100")
    orders.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "r.html"
    result = winback("report", str(orders), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert "<b>x0</b>" not in html and "&lt;b&gt;x0&lt;/b&gt;" in html


def test_xlsx_report_reads_back_with_one_sheet_per_table(tmp_path, figures):
    out = tmp_path / "churn.xlsx"
    result = winback("report", str(EXAMPLES / "orders_en.csv"), "-r", str(EXAMPLES / "rules.yaml"),
                     "--format", "xlsx", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    sheets = pd.read_excel(out, sheet_name=None)
    assert list(sheets) == ["summary", "losses per month", "reasons", "segments", "cohorts",
                            "lost customers"]  # fmt: skip
    assert sheets["losses per month"]["lost"].tolist() == figures.losses["lost"].tolist()
    from openpyxl import load_workbook

    sheet = load_workbook(out)["losses per month"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    assert sheet["A1"].font.bold


def test_terminal_report_has_tables_and_a_bar_chart(tmp_path):
    result = winback("report", str(EXAMPLES / "orders_en.csv"), "-r", str(EXAMPLES / "rules.yaml"),
                     "--format", "table")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "customers lost per month" in result.stdout and "█" in result.stdout
    assert "cohort retention" in result.stdout


def test_xlsx_without_a_file_is_a_usage_error():
    result = winback("report", str(EXAMPLES / "orders_en.csv"), "--format", "xlsx")
    assert result.exit_code == 2 and "-o FILE.xlsx" in result.stderr


def test_report_as_csv_text_is_not_offered():
    result = winback("report", str(EXAMPLES / "orders_en.csv"), "--format", "csv")
    assert result.exit_code == 2


def test_losses_table_is_plain_data(figures):
    text = figures.losses.to_csv(index=False)
    assert pd.read_csv(io.StringIO(text))["lost"].sum() == figures.headline["lost in the period"]
