"""Customers for checkouts: a CSV with the seed's columns, validated row by row, or synthetic.

Bad rows are reported by line number (the header is line 1) and skipped; the reason names
the column, never the value, since the values are personal data. The repo never holds real
customers: `synthetic_customers` makes them with Faker.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from paysync_dagster.simulator.problems import InputFileError, Problem

COLUMNS = (
    "First_Name",
    "Last_Name",
    "Email_Address",
    "Address_line1",
    "City",
    "State",
    "Postal_Code",
)
MAX_CUSTOMERS_FILE_BYTES = 20 * 1024 * 1024
MAX_CUSTOMERS = 100_000
_LIMITS = {
    "First_Name": 100,
    "Last_Name": 100,
    "Email_Address": 320,
    "Address_line1": 200,
    "City": 100,
    "State": 100,
    "Postal_Code": 16,
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_POSTAL_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]{1,15}")


@dataclass(frozen=True)
class Customer:
    """One checkout customer; `repr` shows only `reference`, a digest of the email."""

    reference: str
    first_name: str = field(repr=False)
    last_name: str = field(repr=False)
    email: str = field(repr=False)
    address_line1: str = field(repr=False)
    city: str = field(repr=False)
    state: str = field(repr=False)
    postal_code: str = field(repr=False)


def customer_reference(email: str) -> str:
    """What attempts record instead of the customer: `cust_` + a digest of the email."""
    digest = hashlib.blake2b(email.strip().lower().encode(), digest_size=6).hexdigest()
    return f"cust_{digest}"


def _customer(row: dict[str, str]) -> Customer:
    for column, limit in _LIMITS.items():
        value = row[column]
        if not value:
            raise ValueError(f"{column} is empty")
        if len(value) > limit:
            raise ValueError(f"{column} is longer than {limit} characters")
        if any(ord(char) < 32 for char in value):
            raise ValueError(f"{column} holds control characters")
    if not _EMAIL.fullmatch(row["Email_Address"]):
        raise ValueError("Email_Address is not an email address")
    if not _POSTAL_CODE.fullmatch(row["Postal_Code"]):
        raise ValueError("Postal_Code is not a postal code")
    return Customer(
        reference=customer_reference(row["Email_Address"]),
        first_name=row["First_Name"],
        last_name=row["Last_Name"],
        email=row["Email_Address"],
        address_line1=row["Address_line1"],
        city=row["City"],
        state=row["State"],
        postal_code=row["Postal_Code"],
    )


def read_customers(path: Path) -> tuple[list[Customer], list[Problem]]:
    """The valid customers of a CSV, and the refused rows by line number."""
    if path.stat().st_size > MAX_CUSTOMERS_FILE_BYTES:
        raise InputFileError(f"the customers file is larger than {MAX_CUSTOMERS_FILE_BYTES} bytes")
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            nrows=MAX_CUSTOMERS + 1,
            on_bad_lines="skip",
            encoding="utf-8",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputFileError(
            f"the customers file is not a readable CSV: {type(error).__name__}"
        ) from None
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise InputFileError(f"the customers file lacks column(s) {', '.join(missing)}")
    if len(frame) > MAX_CUSTOMERS:
        raise InputFileError(f"the customers file holds more than {MAX_CUSTOMERS} rows")
    customers: list[Customer] = []
    problems: list[Problem] = []
    for position, row in enumerate(frame[list(COLUMNS)].to_dict("records")):
        try:
            customers.append(_customer({key: value.strip() for key, value in row.items()}))
        except ValueError as error:
            problems.append(Problem(f"line {position + 2}", str(error)))
    if not customers:
        raise InputFileError(
            "the customers file has no valid row: " + "; ".join(map(str, problems[:5]))
        )
    return customers, problems


def synthetic_rows(rows: int, *, seed: int = 0) -> list[dict[str, str]]:
    """`rows` fake customers in the CSV's columns, the same for the same seed."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    return [
        {
            "First_Name": fake.first_name(),
            "Last_Name": fake.last_name(),
            "Email_Address": fake.unique.email(),
            "Address_line1": fake.street_address(),
            "City": fake.city(),
            "State": fake.state_abbr(),
            "Postal_Code": fake.postcode(),
        }
        for _ in range(rows)
    ]


def synthetic_customers(rows: int, *, seed: int = 0) -> list[Customer]:
    """`rows` fake customers, validated like a file's."""
    return [_customer(row) for row in synthetic_rows(rows, seed=seed)]


def write_customers_csv(path: Path, rows: int, *, seed: int = 0) -> int:
    """Write `rows` synthetic customers to `path` as a CSV with the seed's columns."""
    if not 1 <= rows <= MAX_CUSTOMERS:
        raise InputFileError(f"rows must be between 1 and {MAX_CUSTOMERS}")
    frame = pd.DataFrame(synthetic_rows(rows, seed=seed), columns=list(COLUMNS))
    frame.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
    return rows
