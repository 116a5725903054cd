"""Real Dagster runs of the Stripe assets, and the sensor and schedule that drive them."""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa

from paysync_dagster.definitions import defs
from paysync_dagster.defs.resources import DatabaseResource, SyncResource, VaultResource
from paysync_dagster.defs.stripe.assets import stripe_entities
from paysync_dagster.defs.stripe.jobs import stripe_sync_job
from paysync_dagster.defs.stripe.schedules import stripe_full_sync_schedule
from paysync_dagster.defs.syncing.keys import entity_asset_key
from paysync_dagster.defs.workspaces.partitions import (
    WORKSPACE_PARTITIONS_NAME,
    partition_range_tags,
)
from paysync_dagster.defs.workspaces.runs import (
    BATCH_TAG,
    WORKSPACES_PER_RUN_ENV,
    all_workspaces_schedule,
    schedule_default_status,
    workspaces_per_run,
)
from paysync_dagster.defs.workspaces.sensors import workspace_partitions_sensor
from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.providers.stripe.entities import ENTITIES
from paysync_dagster.providers.stripe.provider import STRIPE
from paysync_dagster.sandbox.stripe import StripeDataset, StripeSandboxSettings, running_sandbox
from paysync_dagster.store.tables import CANONICAL_TABLES, payment_sync_sessions
from paysync_dagster.store.workspaces import remove_workspace
from tests.support import fake_api_key

SIZES = {"alpha": 30, "beta": 80, "gamma": 45}
ASSETS = [stripe_entities]
# A sync with its checks, as the UI's Materialize and the job run it.
SYNC = dg.AssetSelection.assets(stripe_entities)


def _resources(database_url: str, vault) -> dict:
    """Resources as deployed; the vault reads the key ring the `vault` fixture exported."""
    assert vault.primary_key_id == "test1"
    return {
        "database": DatabaseResource(url=database_url),
        "vault": VaultResource(),
        "sync": SyncResource(batch_size=200),
    }


def _sync(instance, database_url, vault, first, last, *, selection=SYNC, **kwargs):
    return dg.materialize(
        ASSETS,
        selection=selection,
        instance=instance,
        resources=_resources(database_url, vault),
        tags=partition_range_tags(first, last),
        raise_on_error=False,
        **kwargs,
    )


def _materialized(instance) -> dict[str, set[str]]:
    return {
        entity: instance.get_materialized_partitions(entity_asset_key(STRIPE, entity))
        for entity in ENTITIES
    }


def test_one_run_syncs_many_workspaces_with_metadata_and_checks(
    database_url, engine, vault, stripe_workspace
):
    for seed, (workspace_id, customers) in enumerate(SIZES.items()):
        stripe_workspace(workspace_id, customers=customers, seed=seed)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, list(SIZES))
        result = _sync(instance, database_url, vault, "alpha", "gamma")
        assert result.success
        assert {r.run_id for r in instance.get_runs()} == {result.run_id}
        assert _materialized(instance) == {entity: set(SIZES) for entity in ENTITIES}

        for entity in ("customers", "invoices"):
            events = [
                e
                for e in result.get_asset_materialization_events()
                if e.asset_key == entity_asset_key(STRIPE, entity)
            ]
            by_partition = {e.partition: e.materialization.metadata for e in events}
            assert set(by_partition) == set(SIZES)
            for seed, (workspace_id, customers) in enumerate(SIZES.items()):
                expected = StripeDataset(customers=customers, seed=seed).count(entity)
                metadata = by_partition[workspace_id]
                assert metadata["inserted"].value == expected
                assert metadata["listed"].value == expected
                assert metadata["dagster/row_count"].value == expected
                assert metadata["pages"].value >= 1
                assert metadata["objects_per_second"].value > 0

    evaluations = result.get_asset_check_evaluations()
    # 19 checks per workspace: two on each of seven entities, plus references on five.
    assert len(evaluations) == 19 * len(SIZES)
    assert all(evaluation.passed for evaluation in evaluations)
    assert {e.partition for e in evaluations} == set(SIZES)
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
    assert statuses == ["completed"] * len(ENTITIES) * len(SIZES)
    assert per_workspace == {
        ws: StripeDataset(customers=n, seed=seed).count("invoices")
        for seed, (ws, n) in enumerate(SIZES.items())
    }


def _unreachable_url() -> str:
    """The URL of a sandbox that has stopped: a port on 127.0.0.1 nothing listens on."""
    with running_sandbox(StripeSandboxSettings(customers=1)) as url:
        return url


def test_a_failing_workspace_changes_no_other_workspace_in_any_asset(
    database_url, engine, vault, stripe_workspace
):
    """The middle workspace of three is unreachable: the other two sync all five entities,
    with their checks, in the same run; the run fails naming the workspace and its URL."""
    stripe_workspace("alpha", customers=10, seed=0)
    url = _unreachable_url()
    add_workspace(
        engine, vault, workspace_id="beta", provider="stripe", api_key=fake_api_key(),
        api_base=url, rate_limit_per_second=1000,
    )  # fmt: skip
    stripe_workspace("gamma", customers=12, seed=2)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["alpha", "beta", "gamma"])
        result = _sync(instance, database_url, vault, "alpha", "gamma")
        assert not result.success
        assert _materialized(instance) == {entity: {"alpha", "gamma"} for entity in ENTITIES}
    assert {e.partition for e in result.get_asset_check_evaluations()} == {"alpha", "gamma"}
    [failure] = result.get_step_failure_events()
    description = failure.step_failure_data.user_failure_data.description
    assert "did not finish for 1 of 3 workspace(s) (beta)" in description
    assert f"cannot connect to the Stripe API at {url}" in description
    assert "paysync dev" in description
    assert "the other 2 workspace(s) are recorded as materialized" in description
    metadata = failure.step_failure_data.user_failure_data.metadata
    assert set(metadata) == {f"beta/{entity}" for entity in ENTITIES}
    assert metadata["beta/customers"].value.startswith("failed: ProviderUnreachableError")
    assert metadata["beta/invoices"].value.startswith("skipped: not attempted")


def test_a_lone_failing_workspace_is_described_without_others(database_url, engine, vault):
    add_workspace(
        engine, vault, workspace_id="solo", provider="stripe", api_key=fake_api_key(),
        api_base=_unreachable_url(),
    )  # fmt: skip
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["solo"])
        result = _sync(instance, database_url, vault, "solo", "solo")
    [failure] = result.get_step_failure_events()
    description = failure.step_failure_data.user_failure_data.description
    assert "did not finish for 1 of 1 workspace(s) (solo)" in description
    assert "others" not in description


def test_a_partition_without_configuration_names_the_command(database_url, vault):
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["ghost"])
        result = _sync(instance, database_url, vault, "ghost", "ghost")
    [failure] = result.get_step_failure_events()
    description = failure.step_failure_data.user_failure_data.description
    assert "workspace 'ghost' has no stripe configuration" in description
    assert "paysync workspace add ghost --provider stripe" in description


def test_reexecution_from_failure_syncs_only_the_failed_workspace(
    database_url, engine, vault, stripe_workspace, monkeypatch
):
    """Start the stopped sandbox again on its port, re-execute from failure: only beta syncs,
    and every workspace ends materialized in every asset."""
    stripe_workspace("alpha", customers=8, seed=0)
    beta_key = fake_api_key()
    url = _unreachable_url()
    add_workspace(
        engine, vault, workspace_id="beta", provider="stripe", api_key=beta_key,
        api_base=url, rate_limit_per_second=1000,
    )  # fmt: skip
    monkeypatch.setenv("PAYSYNC_DATABASE_URL", database_url)
    job = dg.build_reconstructable_job("tests.dagster.code_location", "stripe_sync_job")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["alpha", "beta"])
        tags = partition_range_tags("alpha", "beta")
        with dg.execute_job(job, instance=instance, tags=tags) as first:
            assert not first.success
        port = int(url.rsplit(":", 1)[1])
        settings = StripeSandboxSettings(customers=6, seed=1, api_key=beta_key)
        with (
            running_sandbox(settings, port=port),
            # The UI and the daemon's run retries copy the parent's tags (here, its partition
            # range) and mark the run as a retry from failure; in-process re-execution does
            # neither, so the test passes the tags the UI would.
            dg.execute_job(
                job,
                instance=instance,
                tags={**tags, "dagster/is_resume_retry": "true"},
                reexecution_options=dg.ReexecutionOptions.from_failure(first.run_id, instance),
            ) as retry,
        ):
            assert retry.success
            assert _materialized(instance) == {entity: {"alpha", "beta"} for entity in ENTITIES}
            retry_run_id = retry.run_id
    with engine.connect() as connection:
        retried = connection.execute(
            sa.select(payment_sync_sessions.c.workspace_id, payment_sync_sessions.c.status).where(
                payment_sync_sessions.c.dagster_run_id == retry_run_id
            )
        ).all()
    assert sorted(retried) == [("beta", "completed")] * len(ENTITIES)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_checks_run_on_their_own_from_the_tables(database_url, engine, vault, stripe_workspace):
    stripe_workspace("alpha", customers=10, seed=0)
    stripe_workspace("beta", customers=10, seed=1)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["alpha", "beta"])
        assert _sync(instance, database_url, vault, "alpha", "beta").success
        customers = CANONICAL_TABLES["customers"]
        with engine.begin() as connection:
            connection.execute(
                sa.update(customers)
                .where(customers.c.workspace_id == "beta")
                .values(deleted_at=sa.func.now())
            )
        checks_only = dg.AssetSelection.checks_for_assets(stripe_entities)
        result = _sync(instance, database_url, vault, "alpha", "beta", selection=checks_only)
        assert result.success
        # Checking synced nothing.
        assert len(instance.get_runs()) == 2
    by_key = {
        (e.asset_key.path[-1], e.check_name, e.partition): e
        for e in result.get_asset_check_evaluations()
    }
    assert len(by_key) == 2 * 19
    row_count = "row_count_matches_listing"
    assert by_key[("customers", row_count, "alpha")].passed
    failed = by_key[("customers", row_count, "beta")]
    assert not failed.passed
    assert failed.metadata["live_rows"].value == 0
    assert failed.severity == dg.AssetCheckSeverity.ERROR
    assert [key for key, e in by_key.items() if not e.passed] == [("customers", row_count, "beta")]


def test_reference_check_fails_and_blocks_downstream(database_url, engine, vault, stripe_workspace):
    stripe_workspace("alpha", customers=20, seed=0)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["alpha"])
        products_and_prices = dg.AssetSelection.assets(
            entity_asset_key(STRIPE, "products"), entity_asset_key(STRIPE, "prices")
        )
        assert _sync(
            instance, database_url, vault, "alpha", "alpha", selection=products_and_prices
        ).success
        # Subscriptions synced while their customers are absent: references cannot resolve.
        subscriptions = dg.AssetSelection.assets(entity_asset_key(STRIPE, "subscriptions"))
        result = _sync(
            instance,
            database_url,
            vault,
            "alpha",
            "alpha",
            selection=subscriptions,
        )
    assert not result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [e.check_name for e in failed] == ["references_resolve"]
    assert failed[0].metadata["dangling_customer_external_id"].value > 0
    assert failed[0].partition == "alpha"


def test_partition_sensor_follows_configured_workspaces(
    database_url, engine, vault, stripe_workspace, sensor_context
):
    stripe_workspace("alpha", customers=5)
    stripe_workspace("beta", customers=5)
    context, instance = sensor_context, sensor_context.instance
    instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["stale"])
    result = workspace_partitions_sensor(context)
    adds, deletes = result.dynamic_partitions_requests
    assert isinstance(adds, dg.AddDynamicPartitionsRequest)
    assert adds.partition_keys == ["alpha", "beta"]
    assert isinstance(deletes, dg.DeleteDynamicPartitionsRequest)
    assert deletes.partition_keys == ["stale"]
    assert [r.partition_key for r in result.run_requests] == ["alpha", "beta"]

    # Partitions registered by `paysync workspace add`, not by the sensor: the initial
    # syncs are still requested, under the same run keys (Dagster launches a key once).
    instance.delete_dynamic_partition(WORKSPACE_PARTITIONS_NAME, "stale")
    instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["alpha", "beta"])
    again = workspace_partitions_sensor(context)
    assert again.dynamic_partitions_requests == []
    assert [r.run_key for r in again.run_requests] == [r.run_key for r in result.run_requests]

    # Once a workspace has synced, it is not requested again.
    assert _sync(instance, database_url, vault, "alpha", "alpha").success
    assert [r.partition_key for r in workspace_partitions_sensor(context).run_requests] == ["beta"]

    remove_workspace(engine, "beta")
    result = workspace_partitions_sensor(context)
    assert result.run_requests == []
    (delete_beta,) = result.dynamic_partitions_requests
    assert isinstance(delete_beta, dg.DeleteDynamicPartitionsRequest)
    assert delete_beta.partition_keys == ["beta"]


def test_schedule_requests_one_batched_run_for_up_to_50_workspaces():
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance)
        assert isinstance(stripe_full_sync_schedule(context), dg.SkipReason)
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["a", "b", "c"])
        (request,) = stripe_full_sync_schedule(context)
        assert request.partition_key_range == dg.PartitionKeyRange("a", "c")
        assert request.tags[BATCH_TAG] == "1/1"


def test_schedule_splits_many_workspaces_into_runs_side_by_side(monkeypatch):
    monkeypatch.setenv(WORKSPACES_PER_RUN_ENV, "2")
    schedule = all_workspaces_schedule(
        name="split_schedule",
        job=stripe_sync_job,
        cron_variable="PAYSYNC_STRIPE_SYNC_CRON",
        default_cron="0 */6 * * *",
        what="Full Stripe sync",
        trigger="schedule",
    )
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["a", "b", "c", "d", "e"])
        requests = schedule(dg.build_schedule_context(instance=instance))
    assert [r.partition_key_range for r in requests] == [
        dg.PartitionKeyRange("a", "b"),
        dg.PartitionKeyRange("c", "d"),
        dg.PartitionKeyRange("e", "e"),
    ]
    assert [r.tags[BATCH_TAG] for r in requests] == ["1/3", "2/3", "3/3"]
    assert {r.tags["paysync/trigger"] for r in requests} == {"schedule"}


@pytest.mark.parametrize("value", ["0", "-3", "ten", "2.5"])
def test_a_bad_workspaces_per_run_names_the_variable(value):
    with pytest.raises(ValueError, match=WORKSPACES_PER_RUN_ENV):
        workspaces_per_run({WORKSPACES_PER_RUN_ENV: value})


def test_definitions_load_with_the_contracted_keys():
    # Dagster resolves definitions against the current instance's state storage.
    with dg.instance_for_test():
        code_location = defs()
        keys = {
            key.to_user_string() for key in code_location.resolve_asset_graph().get_all_asset_keys()
        }
        stripe_sync = code_location.resolve_job_def("stripe_sync")
    entities = (
        "customers",
        "products",
        "prices",
        "subscriptions",
        "invoices",
        "payment_intents",
        "charges",
    )
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
    assert stripe_sync.partitions_def is not None
    assert stripe_sync.partitions_def.name == WORKSPACE_PARTITIONS_NAME
    customers_spec = stripe_entities.specs_by_key[entity_asset_key(STRIPE, "customers")]
    assert customers_spec.metadata["dagster/table_name"] == "customers"
    columns = {c.name for c in customers_spec.metadata["dagster/column_schema"].schema.columns}
    assert {"workspace_id", "external_id", "email", "raw", "deleted_at"} <= columns


@pytest.mark.parametrize(
    ("environment", "expected"),
    [("production", dg.DefaultScheduleStatus.RUNNING), ("", dg.DefaultScheduleStatus.STOPPED)],
)
def test_schedules_run_by_default_in_production_only(monkeypatch, environment, expected):
    monkeypatch.setenv("PAYSYNC_ENV", environment)
    assert schedule_default_status() is expected
