"""Real Dagster runs of the Stripe assets, and the sensor and schedule that drive them."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from paysync_dagster.definitions import defs
from paysync_dagster.defs.resources import DatabaseResource, StripeSyncResource, VaultResource
from paysync_dagster.defs.stripe.assets import stripe_assets
from paysync_dagster.defs.stripe.schedules import stripe_full_sync_schedule
from paysync_dagster.defs.workspaces.partitions import (
    WORKSPACE_PARTITIONS_NAME,
    partition_range_tags,
)
from paysync_dagster.defs.workspaces.sensors import workspace_partitions_sensor
from paysync_dagster.sandbox.stripe import StripeDataset
from paysync_dagster.store.tables import CANONICAL_TABLES, payment_sync_sessions
from paysync_dagster.store.workspaces import add_workspace, remove_workspace
from tests.conftest import fake_api_key

SIZES = {"alpha": 30, "beta": 80, "gamma": 45}


def _resources(database_url: str, vault) -> dict:
    """Resources as deployed; the vault reads the key ring the `vault` fixture exported."""
    assert vault.primary_key_id == "test1"
    return {
        "database": DatabaseResource(url=database_url),
        "vault": VaultResource(),
        "stripe_sync": StripeSyncResource(batch_size=200),
    }


def test_one_run_syncs_many_workspaces_with_metadata_and_checks(
    database_url, engine, vault, stripe_workspace
):
    for seed, (workspace_id, customers) in enumerate(SIZES.items()):
        stripe_workspace(workspace_id, customers=customers, seed=seed)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, list(SIZES))
        result = dg.materialize(
            stripe_assets,
            instance=instance,
            resources=_resources(database_url, vault),
            tags=partition_range_tags("alpha", "gamma"),
        )
        assert result.success
        run_ids = {r.run_id for r in instance.get_runs()}
        assert run_ids == {result.run_id}

        for entity in ("customers", "invoices"):
            events = result.asset_materializations_for_node(f"stripe__{entity}")
            by_partition = {event.partition: event.metadata for event in events}
            assert set(by_partition) == set(SIZES)
            for seed, (workspace_id, customers) in enumerate(SIZES.items()):
                expected = StripeDataset(customers=customers, seed=seed).count(entity)
                metadata = by_partition[workspace_id]
                assert metadata["inserted"].value == expected
                assert metadata["listed"].value == expected
                assert metadata["pages"].value >= 1
                assert metadata["objects_per_second"].value > 0

    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 13
    assert all(evaluation.passed for evaluation in evaluations)
    with engine.connect() as connection:
        statuses = connection.scalars(sa.select(payment_sync_sessions.c.status)).all()
        invoices = CANONICAL_TABLES["invoices"]
        per_workspace = dict(
            connection.execute(
                sa.select(invoices.c.workspace_id, sa.func.count()).group_by(
                    invoices.c.workspace_id
                )
            ).all()
        )
    assert statuses == ["completed"] * 15
    assert per_workspace == {
        ws: StripeDataset(customers=n, seed=seed).count("invoices")
        for seed, (ws, n) in enumerate(SIZES.items())
    }


def test_a_failing_workspace_leaves_the_others_materialized(
    database_url, engine, vault, stripe_workspace, stripe_sandbox
):
    """One workspace with a refused key fails the run, but the workspace that synced is
    recorded as materialized with its own figures; only the failed one is not."""
    stripe_workspace("alpha", customers=10, seed=0)
    url, _settings = stripe_sandbox(customers=5, seed=1)
    add_workspace(
        engine, vault, workspace_id="beta", provider="stripe", api_key=fake_api_key(),
        api_base=url, rate_limit_per_second=1000,
    )  # fmt: skip
    customers = next(a for a in stripe_assets if a.key.path[-1] == "customers")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["alpha", "beta"])
        result = dg.materialize(
            [customers],
            instance=instance,
            resources=_resources(database_url, vault),
            tags=partition_range_tags("alpha", "beta"),
            raise_on_error=False,
        )
        assert not result.success
        assert instance.get_materialized_partitions(customers.key) == {"alpha"}
    events = result.asset_materializations_for_node("stripe__customers")
    assert [(event.partition, event.metadata["inserted"].value) for event in events] == [
        ("alpha", StripeDataset(customers=10, seed=0).count("customers"))
    ]
    [failure] = result.get_step_failure_events()
    assert set(failure.step_failure_data.user_failure_data.metadata) == {"beta"}


def test_reference_check_fails_and_blocks_downstream(database_url, engine, vault, stripe_workspace):
    stripe_workspace("alpha", customers=20, seed=0)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["alpha"])
        # Subscriptions synced while their customers are absent: references cannot resolve.
        selection = [a for a in stripe_assets if a.key.path[-1] in ("products", "prices")]
        dg.materialize(
            selection, instance=instance, resources=_resources(database_url, vault),
            partition_key="alpha",
        )  # fmt: skip
        subscriptions = next(a for a in stripe_assets if a.key.path[-1] == "subscriptions")
        result = dg.materialize(
            [subscriptions, *selection],
            selection=[subscriptions.key],
            instance=instance,
            resources=_resources(database_url, vault),
            partition_key="alpha",
            raise_on_error=False,
        )
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [e.check_name for e in failed] == ["references_resolve"]
    assert failed[0].metadata["dangling_customer_external_id"].value > 0


def test_partition_sensor_follows_configured_workspaces(
    database_url, engine, vault, stripe_workspace
):
    stripe_workspace("alpha", customers=5)
    stripe_workspace("beta", customers=5)
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(
            instance=instance, resources={"database": DatabaseResource(url=database_url)}
        ) as context,
    ):
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["stale"])
        result = workspace_partitions_sensor(context)
        adds, deletes = result.dynamic_partitions_requests
        assert isinstance(adds, dg.AddDynamicPartitionsRequest)
        assert adds.partition_keys == ["alpha", "beta"]
        assert isinstance(deletes, dg.DeleteDynamicPartitionsRequest)
        assert deletes.partition_keys == ["stale"]
        (run_request,) = result.run_requests
        assert run_request.partition_key_range == dg.PartitionKeyRange("alpha", "beta")

        instance.delete_dynamic_partition(WORKSPACE_PARTITIONS_NAME, "stale")
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["alpha", "beta"])
        assert isinstance(workspace_partitions_sensor(context), dg.SkipReason)

        remove_workspace(engine, "beta")
        result = workspace_partitions_sensor(context)
        assert result.run_requests == []
        (delete_beta,) = result.dynamic_partitions_requests
        assert isinstance(delete_beta, dg.DeleteDynamicPartitionsRequest)
        assert delete_beta.partition_keys == ["beta"]


def test_schedule_requests_one_batched_run_for_all_workspaces():
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance)
        assert isinstance(stripe_full_sync_schedule(context), dg.SkipReason)
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["a", "b", "c"])
        request = stripe_full_sync_schedule(context)
        assert request.partition_key_range == dg.PartitionKeyRange("a", "c")


def test_definitions_load_with_the_contracted_keys():
    # Dagster resolves definitions against the current instance's state storage.
    with dg.instance_for_test():
        code_location = defs()
        keys = {
            key.to_user_string() for key in code_location.resolve_asset_graph().get_all_asset_keys()
        }
    entities = ("customers", "products", "prices", "subscriptions", "invoices")
    # Other domains (webhooks, M-Pesa, ...) add their own keys; the Stripe ones are fixed.
    assert {key for key in keys if key.startswith("stripe/")} == {
        f"stripe/{entity}" for entity in entities
    }
    assert {"mpesa/credentials", "mpesa/bars", "webhooks/inbox"} <= keys
    jobs = {job.name for job in code_location.jobs}
    assert {"stripe_sync", "mpesa_repair_job", "replay_webhooks"} <= jobs
    assert "stripe_full_sync_schedule" in {s.name for s in code_location.schedules}
    assert {"workspace_partitions_sensor", "mpesa_drift_sensor", "webhook_backlog_sensor"} <= {
        s.name for s in code_location.sensors
    }
