"""Fixtures for the deployment tests: the deploy/ files, and a fresh Dagster instance database.

The instance database is a PostgreSQL database of its own (not a schema), created and dropped
per test, because deploy/dagster.yaml points Dagster at a whole database through DAGSTER_PG_URL.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from paysync_dagster.store.database import create_engine
from tests.conftest import POSTGRES_URL

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
DAGSTER_YAML = DEPLOY / "dagster.yaml"
HELM_VALUES = DEPLOY / "helm" / "values.yaml"
HELM_SCHEMA = DEPLOY / "helm" / "values.schema.json"


def load_yaml(path: Path) -> dict[str, Any]:
    """Parse one YAML document; the deploy files are all mappings at the top."""
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), f"{path} is not a mapping"
    return document


@pytest.fixture
def instance_database_url() -> Iterator[str]:
    """A psycopg2 URL of a fresh, empty PostgreSQL database, dropped (forcibly) afterwards."""
    assert POSTGRES_URL is not None
    name = f"paysync_deploy_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        # +psycopg2: dagster-postgres speaks psycopg2 (see the comment in deploy/dagster.yaml).
        url = sa.make_url(POSTGRES_URL).set(drivername="postgresql+psycopg2", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def dagster_home(
    tmp_path: Path, instance_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A DAGSTER_HOME holding deploy/dagster.yaml as shipped, on a fresh instance database."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DAGSTER_YAML, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_URL", instance_database_url)
    return home
