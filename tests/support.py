"""Test helpers shared across packages (fixtures stay in `conftest.py`, helpers live here)."""

from __future__ import annotations

import os
import secrets

import pytest

POSTGRES_URL = os.environ.get("PAYSYNC_TEST_DATABASE_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def postgres_schema_url(schema: str) -> str:
    """`POSTGRES_URL` with `schema` first on the search path."""
    assert POSTGRES_URL is not None
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"


def fake_api_key() -> str:
    """An obviously fake, freshly generated Stripe test key."""
    return f"sk_test_{secrets.token_hex(12)}"
