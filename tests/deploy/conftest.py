"""Fixtures for the deployment tests: the deploy/ files, and a Dagster home on a fresh
instance database (`instance_database_url`, from the shared conftest)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

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
