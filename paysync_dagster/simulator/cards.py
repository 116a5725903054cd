"""Test cards: Stripe test payment methods or gateway cards, each with its expected outcome.

Gateway cards carry a card number only in memory: it is validated (Luhn, expiry), sent to
the tokenization step, and otherwise represented by brand and last 4 digits everywhere,
attempts rows and log lines included. `repr` never shows it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from paysync_dagster import bounds
from paysync_dagster.simulator.outcomes import EXPECTED_OUTCOMES, SUCCEEDED
from paysync_dagster.simulator.problems import InputFileError, Problem

MAX_CARDS_FILE_BYTES = 1024 * 1024
MAX_CARDS = 1000
TARGET_KINDS = ("stripe", "gateway")
_PAYMENT_METHOD = re.compile(r"pm_[A-Za-z0-9_]{1,60}")
_DIGITS = re.compile(r"[0-9]{12,19}")
_CVV = re.compile(r"[0-9]{3,4}")


@dataclass(frozen=True)
class Card:
    """One card scenario.

    `scenario` is what attempts record: the payment method id for Stripe, `brand-last4` for
    a gateway card. `number`, `cvv`, `month` and `year` are set for gateway cards only.
    """

    scenario: str
    expect: str
    brand: str | None = None
    last4: str | None = None
    payment_method: str | None = None
    number: str | None = field(default=None, repr=False)
    cvv: str | None = field(default=None, repr=False)
    month: int | None = None
    year: int | None = None


def luhn_valid(number: str) -> bool:
    """Whether `number` (digits only) passes the Luhn checksum."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def brand_of(number: str) -> str:
    """The card network a number's prefix names (`card` when none matches)."""
    if number.startswith("4"):
        return "visa"
    if number[:2] in ("34", "37"):
        return "amex"
    if "51" <= number[:2] <= "55" or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number.startswith(("6011", "65")):
        return "discover"
    return "card"


def mask_card_numbers(text: str) -> str:
    """`text` with any run of 12-19 digits replaced by its last 4, e.g. in a gateway's error."""
    return re.sub(r"[0-9]{12,19}", lambda match: f"****{match.group(0)[-4:]}", text)


def _expect(entry: dict[str, Any]) -> str:
    expect = entry.get("expect", SUCCEEDED)
    if expect not in EXPECTED_OUTCOMES:
        raise ValueError(f"'expect' must be one of {', '.join(EXPECTED_OUTCOMES)}")
    return expect


def _stripe_card(entry: dict[str, Any]) -> Card:
    method = entry.get("payment_method")
    if not isinstance(method, str) or not _PAYMENT_METHOD.fullmatch(method):
        raise ValueError("'payment_method' must be a payment method id such as pm_card_visa")
    return Card(scenario=method, expect=_expect(entry), payment_method=method)


def _month_year(entry: dict[str, Any]) -> tuple[int, int]:
    month_text, year_text = str(entry.get("month", "")), str(entry.get("year", ""))
    if not month_text.isdigit() or not 1 <= int(month_text) <= 12:
        raise ValueError("'month' must be 1 to 12")
    if not year_text.isdigit() or len(year_text) not in (2, 4):
        raise ValueError("'year' must have 2 or 4 digits")
    year = int(year_text) + (2000 if len(year_text) == 2 else 0)
    return int(month_text), year


def _gateway_card(entry: dict[str, Any], today: date) -> Card:
    number = str(entry.get("number", "")).replace(" ", "")
    if not _DIGITS.fullmatch(number):
        raise ValueError("'number' must be 12 to 19 digits")
    if not luhn_valid(number):
        raise ValueError("'number' fails the Luhn check")
    cvv = str(entry.get("cvv", ""))
    if not _CVV.fullmatch(cvv):
        raise ValueError("'cvv' must be 3 or 4 digits")
    month, year = _month_year(entry)
    if (year, month) < (today.year, today.month):
        raise ValueError("the card has expired")
    brand = brand_of(number)
    return Card(
        scenario=f"{brand}-{number[-4:]}",
        expect=_expect(entry),
        brand=brand,
        last4=number[-4:],
        number=number,
        cvv=cvv,
        month=month,
        year=year,
    )


def parse_cards(
    text: str, kind: str, *, today: date | None = None
) -> tuple[list[Card], list[Problem]]:
    """The valid cards of a JSON list for a `kind` target, and the refused ones by position."""
    if kind not in TARGET_KINDS:
        raise InputFileError(f"unknown target kind {kind[:20]!r}")
    if len(text.encode()) > MAX_CARDS_FILE_BYTES:
        raise InputFileError(f"the cards file is larger than {MAX_CARDS_FILE_BYTES} bytes")
    try:
        entries = bounds.loads_bounded(text)
    except (bounds.InputLimitError, ValueError) as error:
        raise InputFileError(f"the cards file is not valid JSON: {error}") from None
    if not isinstance(entries, list) or not entries:
        raise InputFileError("the cards file must hold a non-empty JSON list")
    if len(entries) > MAX_CARDS:
        raise InputFileError(f"the cards file holds more than {MAX_CARDS} cards")
    cards: list[Card] = []
    problems: list[Problem] = []
    for position, entry in enumerate(entries, start=1):
        try:
            if not isinstance(entry, dict):
                raise ValueError("not a JSON object")
            if kind == "stripe":
                cards.append(_stripe_card(entry))
            else:
                cards.append(_gateway_card(entry, today or date.today()))
        except ValueError as error:
            problems.append(Problem(f"card {position}", str(error)))
    if not cards:
        raise InputFileError(
            "the cards file has no valid card: " + "; ".join(map(str, problems[:5]))
        )
    return cards, problems


def default_cards_text(kind: str) -> str:
    """The shipped default cards for a `kind` target (`simulator/data/<kind>_cards.json`)."""
    data = resources.files("paysync_dagster.simulator").joinpath("data")
    return data.joinpath(f"{kind}_cards.json").read_text(encoding="utf-8")


def load_cards(path: Path | None, kind: str) -> tuple[list[Card], list[Problem]]:
    """The cards of `path`, or the shipped defaults for `kind` when it is None."""
    if path is None:
        return parse_cards(default_cards_text(kind), kind)
    if path.stat().st_size > MAX_CARDS_FILE_BYTES:
        raise InputFileError(f"the cards file is larger than {MAX_CARDS_FILE_BYTES} bytes")
    return parse_cards(path.read_text(encoding="utf-8"), kind)
