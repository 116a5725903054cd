"""Cards and customers: validated record by record, bad ones reported and skipped."""

from __future__ import annotations

import json
from datetime import date

import pytest

from paysync_dagster.simulator.cards import load_cards, luhn_valid, parse_cards
from paysync_dagster.simulator.customers import (
    COLUMNS,
    read_customers,
    write_customers_csv,
)
from paysync_dagster.simulator.problems import InputFileError

GOOD_ROW = "Ada,Lovelace,ada@example.test,1 Analytical St,London,LDN,N1 9GU"


def test_a_csv_with_bad_rows_keeps_the_good_ones_and_names_the_bad_lines(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(
        ",".join(COLUMNS)
        + "\n"
        + "\n".join(
            [
                GOOD_ROW,  # line 2
                "Bob,,bob@example.test,2 Main St,Springfield,IL,62701",  # 3: no last name
                "Cy,Young,not-an-email,3 Main St,Springfield,IL,62701",  # 4
                "Di,Prince,di@example.test,4 Main St,Themyscira,TH,!!",  # 5: postal code
                "Ed," + "x" * 101 + ",ed@example.test,5 Main St,Boston,MA,02101",  # 6: too long
                "Flo,Nightingale,flo@example.test,6 Lamp Rd,Florence,FI,50100",  # 7
            ]
        )
        + "\n"
    )
    customers, problems = read_customers(path)
    assert len(customers) == 2
    assert [str(problem) for problem in problems] == [
        "line 3: Last_Name is empty",
        "line 4: Email_Address is not an email address",
        "line 5: Postal_Code is not a postal code",
        "line 6: Last_Name is longer than 100 characters",
    ]
    # Nothing personal in the report or the repr.
    assert "not-an-email" not in " ".join(map(str, problems))
    assert "Lovelace" not in repr(customers[0])
    assert customers[0].reference.startswith("cust_")


def test_a_csv_without_the_seeds_columns_is_refused(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("name,email\nAda,ada@example.test\n")
    with pytest.raises(InputFileError, match="lacks column"):
        read_customers(path)


def test_synthetic_customers_round_trip_through_the_csv(tmp_path):
    path = tmp_path / "synthetic.csv"
    write_customers_csv(path, 25, seed=3)
    customers, problems = read_customers(path)
    assert (len(customers), problems) == (25, [])
    again = tmp_path / "again.csv"
    write_customers_csv(again, 25, seed=3)
    assert path.read_text() == again.read_text()


def test_gateway_cards_are_checked_with_luhn_and_expiry():
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    cards = [
        {"number": "4111111111111111", "cvv": "123", "month": "12", "year": "2030"},
        {"number": "4111111111111112", "cvv": "123", "month": "12", "year": "2030"},
        {"number": "4111111111111111", "cvv": "123", "month": "1", "year": "2026"},
        {"number": "4111111111111111", "cvv": "12", "month": "12", "year": "2030"},
        {"number": "4111111111111111", "cvv": "123", "month": "13", "year": "30"},
        {"number": "4111111111111111", "cvv": "123", "month": "6", "year": "30",
         "expect": "maybe"},
        "4111111111111111",
    ]  # fmt: skip
    parsed, problems = parse_cards(json.dumps(cards), "gateway", today=date(2026, 2, 1))
    assert [card.scenario for card in parsed] == ["visa-1111"]
    assert parsed[0].expect == "succeeded"
    assert [str(problem) for problem in problems] == [
        "card 2: 'number' fails the Luhn check",
        "card 3: the card has expired",
        "card 4: 'cvv' must be 3 or 4 digits",
        "card 5: 'month' must be 1 to 12",
        "card 6: 'expect' must be one of succeeded, declined, requires_action",
        "card 7: not a JSON object",
    ]
    assert "4111111111111111" not in repr(parsed[0])


def test_the_shipped_defaults_cover_every_expected_outcome():
    stripe_cards, stripe_problems = load_cards(None, "stripe")
    gateway_cards, gateway_problems = load_cards(None, "gateway")
    assert stripe_problems == gateway_problems == []
    assert [card.payment_method for card in stripe_cards] == [
        "pm_card_visa",
        "pm_card_chargeDeclined",
        "pm_card_chargeCustomerFail",
        "pm_card_chargeDeclinedInsufficientFunds",
        "pm_card_threeDSecure2Required",
    ]
    for cards in (stripe_cards, gateway_cards):
        assert {card.expect for card in cards} == {"succeeded", "declined", "requires_action"}


def test_a_cards_file_without_a_valid_card_is_refused():
    with pytest.raises(InputFileError, match="no valid card"):
        parse_cards(json.dumps([{"payment_method": "visa"}]), "stripe")
    with pytest.raises(InputFileError, match="non-empty JSON list"):
        parse_cards("{}", "stripe")
