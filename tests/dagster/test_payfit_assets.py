"""Real Dagster runs of the PayFit assets against the PayFit sandbox: sessions, checks, mock
mode (no request at all), leaving mock mode, and personal data that never reaches storage."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from paysync_dagster.defs.payfit.assets import payfit_entities
from paysync_dagster.defs.resources import DatabaseResource, SyncResource, VaultResource
from paysync_dagster.defs.syncing.keys import entity_asset_key
from paysync_dagster.defs.workspaces.partitions import (
    WORKSPACE_PARTITIONS_NAME,
    partition_range_tags,
)
from paysync_dagster.defs.workspaces.sensors import workspace_partitions_sensor
from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.providers.payfit.client import PayfitApi
from paysync_dagster.providers.payfit.provider import COMPANY_ID, OAUTH_BASE, PAYFIT
from paysync_dagster.providers.rate_budget import RateBudget
from paysync_dagster.sandbox.payfit import requests_received
from paysync_dagster.store.tables import employees, employment_contracts, payment_sync_sessions

# A sync with its checks, as the UI's Materialize and the job run it.
SYNC = dg.AssetSelection.assets(payfit_entities)


def _configure(engine, vault, workspace_id, url, settings, *, replace=False) -> None:
    add_workspace(
        engine, vault, workspace_id=workspace_id, provider="payfit", api_key=settings.api_key,
        api_base=url, options={COMPANY_ID: settings.company_id, OAUTH_BASE: url},
        rate_limit_per_second=1000, replace=replace,
    )  # fmt: skip


def _configure_mock(engine, vault, workspace_id, url=None, *, replace=False) -> None:
    add_workspace(
        engine, vault, workspace_id=workspace_id, provider="payfit",
        api_key="placeholder-payfit-key", api_base=url,
        options={COMPANY_ID: "placeholder-company-id"}, replace=replace,
    )  # fmt: skip


def _sync(instance, database_url, first, last):
    return dg.materialize(
        [payfit_entities],
        selection=SYNC,
        instance=instance,
        resources={
            "database": DatabaseResource(url=database_url),
            "vault": VaultResource(),
            "sync": SyncResource(batch_size=100),
        },
        tags=partition_range_tags(first, last),
        raise_on_error=False,
    )


def _materialized(instance) -> dict[str, set[str]]:
    return {
        entity: instance.get_materialized_partitions(entity_asset_key(PAYFIT, entity))
        for entity in PAYFIT.entity_names
    }


def _all_collaborators(url, settings) -> list[dict]:
    api = PayfitApi(
        settings.api_key, company_id=settings.company_id, api_base=url, oauth_base=url,
        budget=RateBudget(1000),
    )  # fmt: skip
    with api:
        return [obj for page in api.list_pages("collaborators") for obj in page.objects]


def test_payfit_syncs_real_workspaces_and_skips_mock_and_stripe_only_ones(
    database_url, engine, vault, payfit_sandbox, stripe_workspace
):
    url, settings = payfit_sandbox(collaborators=70, seed=3)
    _configure(engine, vault, "acme", url, settings)
    _configure_mock(engine, vault, "mocked")
    stripe_workspace("storefront", customers=3)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["acme", "mocked", "storefront"])
        result = _sync(instance, database_url, "acme", "storefront")
        assert result.success
        # The Stripe-only workspace's (empty) PayFit slices are recorded as not configured;
        # the mock-mode one shows no sync at all.
        synced_or_empty = {"acme", "storefront"}
        assert _materialized(instance) == dict.fromkeys(PAYFIT.entity_names, synced_or_empty)
        [empty] = [
            e.materialization
            for e in result.get_asset_materialization_events()
            if e.partition == "storefront" and e.asset_key.path[-1] == "collaborators"
        ]
        assert empty.metadata["status"].value == "not_configured"
        assert empty.metadata["dagster/row_count"].value == 0
    with engine.connect() as connection:
        collaborators = connection.scalar(sa.select(sa.func.count()).select_from(employees))
        orphans = connection.scalar(
            sa.select(sa.func.count())
            .select_from(employment_contracts)
            .where(employment_contracts.c.employee_external_id.is_(None))
        )
        statuses = sorted(
            connection.execute(
                sa.select(
                    payment_sync_sessions.c.workspace_id, payment_sync_sessions.c.status
                ).where(payment_sync_sessions.c.provider == "payfit")
            ).all()
        )
    assert collaborators == 70
    assert orphans == 0
    assert statuses == [("acme", "completed")] * 2 + [("mocked", "skipped_mock_mode")] * 2
    by_key = {
        (e.asset_key.path[-1], e.check_name, e.partition): e
        for e in result.get_asset_check_evaluations()
    }
    real = {key: e for key, e in by_key.items() if key[2] == "acme"}
    assert len(real) == 7  # two entities x (duplicates, row count, configured) + references
    assert all(e.passed for e in real.values())
    mock = by_key[("collaborators", "payfit_configured", "mocked")]
    assert not mock.passed
    assert mock.severity == dg.AssetCheckSeverity.WARN
    assert "mock mode" in mock.description
    assert "storefront" not in {key[2] for key in by_key}


def test_mock_mode_makes_no_request_then_real_credentials_end_it(
    database_url, engine, vault, payfit_sandbox
):
    """The mock workspace's API base is a sandbox that records every request: a sync makes
    none. Storing real credentials ends mock mode at the next sync, with no code change."""
    url, settings = payfit_sandbox(collaborators=12)
    _configure_mock(engine, vault, "pending", url)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["pending"])
        assert _sync(instance, database_url, "pending", "pending").success
        assert requests_received(url) == []
        assert _materialized(instance) == {"collaborators": set(), "contracts": set()}

        _configure(engine, vault, "pending", url, settings, replace=True)
        assert _sync(instance, database_url, "pending", "pending").success
        assert requests_received(url) != []
        assert _materialized(instance) == {"collaborators": {"pending"}, "contracts": {"pending"}}


def test_the_initial_sync_waits_until_a_workspace_leaves_mock_mode(
    sensor_context, engine, vault, payfit_sandbox
):
    """The partition sensor launches no initial sync of a mock-mode workspace (it would call
    nothing, and the UI would show a run that synced nothing); storing real credentials
    launches it at the next tick."""
    url, settings = payfit_sandbox(collaborators=3)
    _configure_mock(engine, vault, "pending", url)
    _configure(engine, vault, "live", url, settings)
    result = workspace_partitions_sensor(sensor_context)
    assert [r.partition_key for r in result.run_requests] == ["live"]
    (adds,) = result.dynamic_partitions_requests
    assert adds.partition_keys == ["live", "pending"]  # a partition all the same

    _configure(engine, vault, "pending", url, settings, replace=True)
    result = workspace_partitions_sensor(sensor_context)
    assert [r.partition_key for r in result.run_requests] == ["live", "pending"]
    assert {r.tags["paysync/trigger"] for r in result.run_requests} == {"initial-sync"}
    assert requests_received(url) == []  # deciding needs no call to PayFit


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_personal_identifiers_reach_no_table_file_or_log(
    database_url, engine, vault, payfit_sandbox, caplog
):
    url, settings = payfit_sandbox(collaborators=150, seed=11)
    personal = {
        c[field]
        for c in _all_collaborators(url, settings)
        for field in ("socialSecurityNumber", "iban", "bic", "birthDate")
    }
    assert len(personal) > 3 * 150
    _configure(engine, vault, "acme", url, settings)
    caplog.set_level(logging.DEBUG)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["acme"])
        result = _sync(instance, database_url, "acme", "acme")
        assert result.success
        dagster_logs = json.dumps(
            [str(e.message) + str(e.dagster_event) for e in instance.all_logs(result.run_id)]
        )
    database_file = Path(sa.make_url(database_url).database)
    stored = b"".join(
        path.read_bytes()
        for path in (database_file, database_file.with_name(database_file.name + "-wal"))
        if path.exists()
    )
    texts = {"database": stored.decode("utf-8", "replace"), "logs": caplog.text + dagster_logs}
    assert {name: [v for v in personal if v in text] for name, text in texts.items()} == {
        "database": [],
        "logs": [],
    }
