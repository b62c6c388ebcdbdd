"""Loading real-world exports: formats, profiles, rejects and reconciliation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from winback_cli.customers import load_customers
from winback_cli.errors import ColumnError, InputError, WinbackError
from winback_cli.load import load_orders
from winback_cli.rules import Rules

TODAY = dt.date(2025, 12, 1)


def write(tmp_path, name: str, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def load(tmp_path, text: str, encoding: str = "utf-8", rules: Rules | None = None):
    return load_orders(
        [write(tmp_path, "orders.csv", text, encoding)], rules or Rules(), today=TODAY
    )


def test_german_excel_export_in_cp1252(tmp_path):
    text = (
        "Belegnummer;Kundennummer;Belegdatum;Umsatz;Warengruppe\r\n"
        "1;00042;03.04.2024;1.234,56;Kaffee\r\n"
        "2;00042;05.04.2024;-12,50;Kaffee\r\n"
        "3;K7;06.04.2024;99;Tee für Zwei\r\n"
    )
    orders = load(tmp_path, text, encoding="cp1252")
    frame = orders.frame
    assert frame["customer_id"].tolist() == ["00042", "00042", "K7"]
    assert frame["amount"].tolist() == [1234.56, -12.5, 99.0]
    assert frame["order_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-04-03",
        "2024-04-05",
        "2024-04-06",
    ]
    assert frame["category"].iloc[2] == "Tee für Zwei"
    assert any("Windows-1252" in w for w in orders.warnings)
    assert orders.profiles == ("german_excel",)


def test_utf8_bom_tabs_and_iso_timestamps(tmp_path):
    text = "\ufeffcustomer_id\torder_date\tamount\nNA\t2025-10-07 09:50:26\t12.5\n"
    frame = load(tmp_path, text).frame
    assert frame["customer_id"].tolist() == ["NA"]  # a country-like code is not "missing"
    assert str(frame["order_date"].iloc[0].date()) == "2025-10-07"


def test_shopify_line_items_are_one_order(tmp_path):
    text = (
        "Name,Email,Financial Status,Created at,Subtotal,Lineitem quantity,Lineitem name,Vendor\n"
        "#1001,ann@example.com,paid,2025-10-07 09:50:26 +0200,45.00,1,Mug,Acme\n"
        "#1001,,,,,2,Spoon,Acme\n"
        "#1002,bob@example.com,voided,2025-10-08 10:00:00 +0200,10.00,1,Mug,Acme\n"
    )
    orders = load(tmp_path, text)
    assert orders.profiles == ("shopify",)
    frame = orders.frame
    assert frame["customer_id"].tolist() == ["ann@example.com", "ann@example.com"]
    assert frame["amount"].sum() == 45.0
    assert frame["order_id"].nunique() == 1
    assert orders.rejects["reason"].str.contains("excluded").tolist() == [True]


def test_woocommerce_refund_rows_are_returns(tmp_path):
    text = (
        "Order Number,Order Status,Order Date,Customer User ID,Order Total\n"
        "101,completed,2025-09-01,7,80.00\n"
        "102,refunded,2025-09-05,7,-80.00\n"
    )
    orders = load(tmp_path, text)
    assert orders.profiles == ("woocommerce",)
    assert orders.frame["amount"].tolist() == [80.0, -80.0]
    assert orders.rejects.empty


def test_sap_trailing_minus(tmp_path):
    text = "Fakturabeleg;Kunde;Fakturadatum;Nettowert\n9001;100;02.01.2025;4380.31-\n"
    orders = load(tmp_path, text)
    assert orders.profiles == ("sap",)
    assert orders.frame["amount"].tolist() == [-4380.31]


def test_rejects_name_file_spreadsheet_row_column_and_reason(tmp_path):
    text = (
        "customer_id,order_date,amount\n"
        "A,2025-01-02,10\n"
        ",2025-01-03,10\n"
        "B,31.02.2025,10\n"
        "C,2025-01-04,zehn\n"
        "D,2025-01-05\n"
        "E,2026-06-01,5\n"
        "F,2025-01-06,7\n"
    )
    orders = load(tmp_path, text)
    rejects = orders.rejects
    assert rejects["row"].tolist() == [3, 4, 5, 6, 7]
    assert rejects["column"].tolist() == ["customer_id", "order_date", "amount", "", "order_date"]
    assert "no customer id" in rejects["reason"].iloc[0]
    assert "impossible date" in rejects["reason"].iloc[1]
    assert "has 2 fields, expected 3" in rejects["reason"].iloc[3]
    assert "future" in rejects["reason"].iloc[4]
    assert orders.frame["customer_id"].tolist() == ["A", "F"]
    assert orders.rows_read == len(orders.frame) + len(rejects) == 7


def test_duplicated_order_rows_count_once_with_a_warning(tmp_path):
    first = write(
        tmp_path, "sep.csv", "order_id,customer_id,order_date,amount\n1,A,2025-09-01,10\n"
    )
    second = write(
        tmp_path,
        "oct.csv",
        "order_id,customer_id,order_date,amount\n1,A,2025-09-01,10\n2,A,2025-10-01,5\n",
    )
    orders = load_orders([first, second], Rules(), today=TODAY)
    assert orders.frame["order_id"].tolist() == ["1", "2"]
    assert any("duplicated order row" in w for w in orders.warnings)
    assert orders.rejects["reason"].iloc[0].startswith("duplicate of ")
    assert orders.rows_read == 3 == len(orders.frame) + len(orders.rejects)


def test_several_currencies_without_a_currency_column_are_an_error(tmp_path):
    with pytest.raises(InputError, match="currencies EUR, USD"):
        load(tmp_path, "customer_id;order_date;amount\nA;01.02.2025;1.234,50 €\nB;01.02.2025;$12\n")


def test_currency_column_rejects_other_currencies(tmp_path):
    orders = load(
        tmp_path,
        "customer_id,order_date,amount,currency\nA,2025-02-01,10,EUR\nB,2025-02-01,12,USD\n",
    )
    assert orders.frame["customer_id"].tolist() == ["A"]
    assert "not in EUR" in orders.rejects["reason"].iloc[0]


def test_globs_and_header_only_files(tmp_path):
    write(tmp_path, "a.csv", "customer_id,order_date,amount\nA,2025-02-01,10\n")
    write(tmp_path, "b.csv", "customer_id,order_date,amount\n")
    orders = load_orders([str(tmp_path / "*.csv")], Rules(), today=TODAY)
    assert len(orders.files) == 2 and len(orders.frame) == 1
    assert any("no data rows" in w for w in orders.warnings)


def test_a_file_without_header_is_refused(tmp_path):
    with pytest.raises(ColumnError, match="looks like data"):
        load(tmp_path, "A1,2025-01-02,10\nA2,2025-01-03,12\n")


def test_customers_flags_contracts_and_duplicates(tmp_path):
    path = write(
        tmp_path,
        "customers.csv",
        "Kundennummer;Werbesperre;Vertragsstatus;Vertragsende;Sprache;Kündigungsgrund\n"
        "00042;ja;gekündigt;31.12.2025;Deutsch;umgezogen\n"
        "00043;vielleicht;aktiv;;en;\n"
        "00042;nein;aktiv;;de;\n",
    )
    customers = load_customers(path, Rules())
    frame = customers.frame
    assert frame["customer_id"].tolist() == ["00042", "00043"]
    assert frame["opt_out"].tolist() == [True, True]  # unclear means "do not contact"
    assert frame["contract_status"].tolist() == ["cancelled", "active"]
    assert frame["language"].tolist() == ["de", "en"]
    assert frame["churn_reason"].tolist() == ["moved", ""]
    assert "first at row 2" in customers.rejects["reason"].iloc[0]
    assert any("neither yes nor no" in w for w in customers.warnings)


CELL = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(CELL, CELL, CELL), max_size=8),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_any_file_either_errors_clearly_or_reconciles(tmp_path, rows, delimiter):
    lines = ["customer_id,order_date,amount".replace(",", delimiter)]
    lines += [delimiter.join(row) for row in rows]
    path = tmp_path / "fuzz.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        orders = load_orders([str(path)], Rules(), today=TODAY)
    except WinbackError:
        return
    assert orders.rows_read == len(orders.frame) + len(orders.rejects)
    assert orders.frame["amount"].notna().all()
    assert isinstance(orders.frame, pd.DataFrame)


def test_parquet_files_and_folders_of_monthly_files(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "exports"
    folder.mkdir()
    for month, amount in (("2025-09", 10.5), ("2025-10", -2.0)):
        pq.write_table(
            pa.table(
                {
                    "customer_id": ["00042"],
                    "order_date": pa.array([dt.date.fromisoformat(f"{month}-15")], pa.date32()),
                    "amount": [amount],
                }
            ),
            folder / f"orders-{month}.parquet",
        )
    orders = load_orders([str(folder)], Rules(), today=TODAY)
    assert orders.frame["customer_id"].tolist() == ["00042", "00042"]
    assert orders.frame["amount"].tolist() == [10.5, -2.0]
    assert len(orders.files) == 2 and orders.rows_read == 2
    single = load_orders([str(folder / "orders-2025-09.parquet")], Rules(), today=TODAY)
    assert str(single.frame["order_date"].iloc[0].date()) == "2025-09-15"


def test_a_folder_without_exports_is_a_usage_error(tmp_path):
    from winback_cli.errors import UsageError

    with pytest.raises(UsageError, match=r"holds no \.parquet or \.csv files"):
        load_orders([str(tmp_path)], Rules(), today=TODAY)


def _reference_duplicates(orders: pd.DataFrame) -> pd.Series:
    """The definition: same order id (not empty) and the same values in every column."""
    key = [c for c in orders.columns if c not in ("_row", "_file")]
    return orders.duplicated(subset=key, keep="first") & (orders["order_id"] != "")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["", "A1", "A2", "B7"]),
            st.sampled_from(["K1", "K2"]),
            st.integers(0, 2),
            st.sampled_from([0.0, -0.0, 1.5, float("nan"), -2.0]),
            st.sampled_from([None, 1.0, float("nan")]),
        ),
        max_size=30,
    )
)
def test_duplicate_rows_are_exactly_those_of_the_definition(rows):
    from winback_cli.duplicates import drop_duplicates
    from winback_cli.load import RejectLog

    frame = pd.DataFrame(
        {
            "order_id": pd.Series([r[0] for r in rows], dtype="str"),
            "customer_id": pd.Series([r[1] for r in rows], dtype="str"),
            "order_date": pd.to_datetime("2025-01-01")
            + pd.to_timedelta([r[2] for r in rows], unit="D"),
            "amount": [r[3] for r in rows],
            "cost": [np.nan if r[4] is None else r[4] for r in rows],
            "_row": np.arange(2, len(rows) + 2),
            "_file": "orders.csv",
        }
    )
    kept, dropped = drop_duplicates(frame, RejectLog())
    expected = _reference_duplicates(frame)
    assert dropped == int(expected.sum())
    assert kept["_row"].tolist() == frame.loc[~expected, "_row"].tolist()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.text(max_size=6), st.sampled_from([" Storno ", "STRASSE"]))
    ).filter(bool),
    st.lists(st.sampled_from(["storno", "straße", "Cancelled", "ǅ"]), max_size=3),
)
def test_excluded_statuses_are_found_as_pandas_would_find_them(values, names):
    # Each distinct status is folded once: the answer is that of folding every value.
    from winback_cli.order_rows import _folded_in

    column = pd.Series(values, dtype="str")
    expected = column.str.strip().str.casefold().isin([n.casefold() for n in names])
    assert _folded_in(column, names).tolist() == expected.fillna(False).tolist()
