"""Test helpers shared across packages (fixtures stay in `conftest.py`, helpers live here)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
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


# A line of `python -X importtime`: "import time: <self us> | <cumulative us> | <module>".
_IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| +(\S+)$", re.MULTILINE)


def run_paysync(
    args: list[str], env: Mapping[str, str], timeout: float = 120
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `python -m paysync_dagster.cli ARGS` from this checkout, as a user would run
    `paysync ARGS`; its result (stderr without the import lines) and the top-level packages
    it imported (`-X importtime` lists every module the first time it is imported)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "paysync_dagster.cli", *args],
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    imported = {name.split(".")[0] for name in _IMPORT_LINE.findall(result.stderr)}
    result.stderr = _IMPORT_LINE.sub("", result.stderr).strip()
    return result, imported
