"""A materialization on the production instance config (deploy/dagster.yaml) in PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from paysync_dagster.defs.resources import DatabaseResource, SyncResource, VaultResource
from paysync_dagster.defs.stripe.assets import stripe_entities
from paysync_dagster.defs.syncing.keys import entity_asset_key
from paysync_dagster.defs.workspaces.partitions import WORKSPACE_PARTITIONS_NAME
from paysync_dagster.providers.stripe.provider import STRIPE
from paysync_dagster.store.database import create_engine

DEPLOY_CONFIG = Path(__file__).parents[2] / "deploy" / "dagster.yaml"

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_materialization_on_the_deployed_instance(
    database_url, vault, stripe_workspace, instance_database_url, tmp_path, monkeypatch
):
    shutil.copy(DEPLOY_CONFIG, tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_PG_URL", instance_database_url)
    stripe_workspace("acme", customers=25, seed=5)
    customers = entity_asset_key(STRIPE, "customers")

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 8
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["acme"])
        result = dg.materialize(
            [stripe_entities],
            selection=[customers],
            instance=instance,
            partition_key="acme",
            resources={
                "database": DatabaseResource(url=database_url),
                "vault": VaultResource(),
                "sync": SyncResource(),
            },
        )
        assert result.success
        event = instance.get_latest_materialization_event(customers)
        assert event.asset_materialization.partition == "acme"
        assert event.asset_materialization.metadata["inserted"].value == 25

    storage = create_engine(instance_database_url)
    with storage.connect() as connection:
        stored_runs = connection.scalars(sa.text("SELECT run_id FROM runs")).all()
    storage.dispose()
    assert stored_runs == [result.run_id]
