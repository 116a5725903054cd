"""The Alembic migrations create exactly the tables the code declares, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from paysync_dagster.store.database import is_current, upgrade
from paysync_dagster.store.tables import metadata


def test_migrated_schema_matches_table_definitions(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_upgrade_is_idempotent(engine):
    upgrade(engine)
    assert is_current(engine)
