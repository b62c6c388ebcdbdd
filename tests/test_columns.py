"""Header recognition, profiles and the missing-column message."""

from __future__ import annotations

import pytest

from winback_cli.columns import ORDER_OPTIONAL, ORDER_REQUIRED, detect_profile, map_columns
from winback_cli.errors import ColumnError

WANTED = ORDER_REQUIRED + ORDER_OPTIONAL


def found(headers, mapping=None, profile="auto"):
    result = map_columns(
        headers,
        source="orders.csv",
        wanted=WANTED,
        required=ORDER_REQUIRED,
        mapping=mapping or {},
        profile=profile,
    )
    return result.found, result.profile


def test_german_headers_need_no_mapping():
    mapped, profile = found(["Belegnummer", "Kunden-Nr.", "Belegdatum", "Nettobetrag"])
    assert mapped == {
        "customer_id": "Kunden-Nr.",
        "order_date": "Belegdatum",
        "amount": "Nettobetrag",
        "order_id": "Belegnummer",
    }
    assert profile == "german_excel"


def test_explicit_mapping_wins_and_may_list_alternatives():
    mapped, _ = found(
        ["Kd", "Datum", "Umsatz", "Betrag"], {"customer_id": "Kd", "amount": ["Summe", "Betrag"]}
    )
    assert mapped["customer_id"] == "Kd"
    assert mapped["amount"] == "Betrag"


def test_all_missing_columns_are_listed_with_the_headers_found():
    with pytest.raises(ColumnError) as error:
        found(["foo", "bar"])
    message = str(error.value)
    assert "missing required column(s): customer_id, order_date, amount" in message
    assert "Headers found: 'foo', 'bar'" in message
    assert "columns:" in message


def test_a_mapped_header_that_is_absent_is_an_error():
    with pytest.raises(ColumnError, match="customer_id \\(mapped to 'Kundennr' in the rules\\)"):
        found(["Kunde", "Datum", "Umsatz"], {"customer_id": "Kundennr"})


def test_shopify_is_detected_and_mapped():
    headers = [
        "Name",
        "Email",
        "Financial Status",
        "Created at",
        "Subtotal",
        "Lineitem quantity",
        "Lineitem name",
        "Vendor",
    ]
    mapped, profile = found(headers)
    assert profile == "shopify"
    assert mapped["customer_id"] == "Email"
    assert mapped["order_id"] == "Name"
    assert mapped["amount"] == "Subtotal"


@pytest.mark.parametrize(
    ("headers", "profile"),
    [
        (
            ["Order Number", "Order Status", "Order Date", "Customer User ID", "Order Total"],
            "woocommerce",
        ),
        (["Fakturabeleg", "Kunde", "Fakturadatum", "Nettowert"], "sap"),
        (["customer_id", "order_date", "amount"], "generic"),
    ],
)
def test_profiles_are_detected(headers, profile):
    assert detect_profile(headers) == profile
    assert found(headers)[1] == profile
