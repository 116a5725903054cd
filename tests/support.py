"""Test helpers shared across packages (fixtures stay in `conftest.py`, helpers live here)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa

from paysync_dagster.store.database import create_engine, upgrade

REPO_ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("PAYSYNC_TEST_DATABASE_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
POLL_SECONDS = 0.25

T = TypeVar("T")


def wait_until(condition: Callable[[], T | None], what: str, seconds: float) -> T:
    """Poll `condition` until it returns something truthy, and return that; fail naming
    `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:.0f}s")
        time.sleep(POLL_SECONDS)


def postgres_database_url(database: str) -> str:
    """`POSTGRES_URL` naming `database` instead of its own."""
    assert POSTGRES_URL is not None
    return sa.make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)


class MigratedTemplates:
    """An empty database per backend, migrated once by `upgrade`, copied for each test.

    Migrating costs about half a second on SQLite and a second on PostgreSQL, most of it
    Alembic loading and compiling the migrations; a copy costs a few milliseconds. The copy is
    exactly what `upgrade` left: the SQLite file (its WAL checkpointed into it when the last
    connection closed), or a PostgreSQL database created with the template as `TEMPLATE`.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._sqlite: Path | None = None
        self._postgresql: str | None = None
        self._admin: sa.Engine | None = None

    def __enter__(self) -> MigratedTemplates:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._admin is None:
            return
        if self._postgresql is not None:
            self._drop(self._postgresql)
        self._admin.dispose()

    def sqlite_copy(self, path: Path) -> str:
        """The URL of a migrated SQLite file at `path`."""
        if self._sqlite is None:
            template = self._folder / "paysync.db"
            engine = create_engine(f"sqlite:///{template}")
            upgrade(engine)
            engine.dispose()
            for suffix in ("-wal", "-shm", "-journal"):
                assert not template.with_name(template.name + suffix).exists(), suffix
            self._sqlite = template
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._sqlite, path)
        return f"sqlite:///{path}"

    @contextmanager
    def postgresql_copy(self) -> Iterator[str]:
        """The URL of a migrated PostgreSQL database of its own, dropped (forcibly) after."""
        if self._postgresql is None:
            template = self._create(f"paysync_template_{uuid.uuid4().hex[:10]}")
            engine = create_engine(postgres_database_url(template))
            upgrade(engine)
            # No connection may stay open to a database used as a template.
            engine.dispose()
            self._postgresql = template
        name = self._create(f"paysync_test_{uuid.uuid4().hex[:10]}", template=self._postgresql)
        try:
            yield postgres_database_url(name)
        finally:
            self._drop(name)

    def _admin_engine(self) -> sa.Engine:
        if self._admin is None:
            assert POSTGRES_URL is not None
            self._admin = create_engine(POSTGRES_URL).execution_options(
                isolation_level="AUTOCOMMIT"
            )
        return self._admin

    def _create(self, name: str, template: str | None = None) -> str:
        statement = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
        with self._admin_engine().connect() as connection:
            connection.execute(sa.text(statement))
        return name

    def _drop(self, name: str) -> None:
        with self._admin_engine().connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))


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
