"""The inbox in real Dagster runs: backlog sensor, backlog job with its checks, replay job;
and the `paysync webhooks` commands doing the same operation."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from paysync_dagster.cli import main
from paysync_dagster.defs.resources import (
    DatabaseResource,
    VaultResource,
    WebhookProcessingResource,
)
from paysync_dagster.defs.webhooks.assets import webhook_inbox
from paysync_dagster.defs.webhooks.checks import no_dead_letters, no_stale_pending_events
from paysync_dagster.defs.webhooks.jobs import replay_webhooks
from paysync_dagster.defs.webhooks.sensors import webhook_backlog_sensor
from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.providers.stripe.client import StripeApi
from paysync_dagster.store.workspaces import set_webhook_refetch
from paysync_dagster.webhooks.events import parse_event
from paysync_dagster.webhooks.inbox import InboxItem, insert_events
from tests.webhooks.helpers import (
    add_webhook_workspace,
    customer_event,
    customer_row,
    event_body,
    inbox_rows,
)

T = int(time.time()) - 600


def _enqueue(engine, workspace_id: str, body: bytes, *, age_seconds: float) -> None:
    received_at = datetime.now(UTC) - timedelta(seconds=age_seconds)
    with engine.begin() as connection:
        insert_events(
            connection, [InboxItem(workspace_id, parse_event(body))], received_at=received_at
        )


def _resources(database_url: str, **processing) -> dict:
    return {
        "database": DatabaseResource(url=database_url),
        "vault": VaultResource(),
        "webhook_processing": WebhookProcessingResource(backoff_base_seconds=0, **processing),
    }


def test_sensor_launches_the_backlog_job_only_when_events_wait_too_long(
    database_url, engine, vault
) -> None:
    add_webhook_workspace(engine, vault, "acme")
    resources = {"database": DatabaseResource(url=database_url)}
    with dg.build_sensor_context(resources=resources) as context:
        assert isinstance(webhook_backlog_sensor(context), dg.SkipReason)
    _enqueue(engine, "acme", customer_event("evt_new", "cus_1", created=T), age_seconds=5)
    with dg.build_sensor_context(resources=resources) as context:
        skipped = webhook_backlog_sensor(context)
    assert isinstance(skipped, dg.SkipReason)
    assert "1 due event(s)" in skipped.skip_message
    _enqueue(engine, "acme", customer_event("evt_old", "cus_2", created=T), age_seconds=300)
    with dg.build_sensor_context(resources=resources) as context:
        request = webhook_backlog_sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert request.run_key.startswith("webhook-backlog:")


def test_backlog_job_applies_events_and_checks_report_dead_letters_then_replay_job_heals(
    database_url, engine, vault, stripe_sandbox, unreachable_base_url
) -> None:
    url, settings = stripe_sandbox(customers=2)
    api = StripeApi(settings.api_key, api_base=url)
    customer = next(api.list_pages("customers")).objects[0]
    api.close()
    add_webhook_workspace(engine, vault, "acme")
    add_webhook_workspace(
        engine, vault, "outage", api_key=settings.api_key, api_base=unreachable_base_url
    )
    set_webhook_refetch(engine, workspace_id="outage", provider="stripe", on=True)
    _enqueue(engine, "acme", customer_event("evt_ok", "cus_1", created=T), age_seconds=300)
    stale = {**customer, "email": "stale@x.test"}
    _enqueue(
        engine,
        "outage",
        event_body("evt_down", "customer.updated", stale, created=T),
        age_seconds=300,
    )

    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [webhook_inbox, no_stale_pending_events, no_dead_letters],
            instance=instance,
            resources=_resources(database_url, max_attempts=1),
        )
    assert result.success
    [materialization] = result.asset_materializations_for_node("webhooks__inbox")
    assert materialization.metadata["applied"].value == 1
    assert materialization.metadata["dead"].value == 1
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["no_stale_pending_events"].passed
    dead = checks["no_dead_letters"]
    assert not dead.passed
    assert dead.severity == dg.AssetCheckSeverity.WARN
    assert dead.metadata["dead_letters"].value == 1
    [(dead_id, error)] = dead.metadata["events"].value.items()
    assert dead_id == "outage/evt_down"
    assert "ProviderUnreachableError" in error
    assert customer_row(engine, "acme", "cus_1") is not None

    add_workspace(
        engine,
        vault,
        workspace_id="outage",
        provider="stripe",
        api_key=settings.api_key,
        api_base=url,
        replace=True,
    )
    run_config = dg.RunConfig(
        ops={"replay_webhook_events": {"config": {"status": "dead", "workspace_id": "outage"}}}
    )
    with dg.instance_for_test() as instance:
        replayed = replay_webhooks.execute_in_process(
            run_config=run_config, instance=instance, resources=_resources(database_url)
        )
    assert replayed.success
    [output] = replayed.get_step_success_events()
    assert replayed.output_for_node("replay_webhook_events") == 1
    assert output.step_key == "replay_webhook_events"
    statuses = {row.provider_event_id: row.status for row in inbox_rows(engine)}
    assert statuses == {"evt_ok": "applied", "evt_down": "applied"}
    assert customer_row(engine, "outage", customer["id"]).email == customer["email"]


def test_replay_job_refuses_a_bad_selection_and_changes_nothing(
    database_url, engine, vault
) -> None:
    add_webhook_workspace(engine, vault, "acme")
    _enqueue(engine, "acme", customer_event("evt_1", "cus_1", created=T), age_seconds=1)
    run_config = dg.RunConfig(
        ops={"replay_webhook_events": {"config": {"received_after": "yesterday"}}}
    )
    result = replay_webhooks.execute_in_process(
        run_config=run_config, resources=_resources(database_url), raise_on_error=False
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "invalid received_after 'yesterday'" in str(failure.step_failure_data.error.message)
    assert [row.status for row in inbox_rows(engine)] == ["pending"]


@pytest.fixture
def cli(database_url, tmp_path, monkeypatch, vault):
    monkeypatch.setenv("PAYSYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("PAYSYNC_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args), catch_exceptions=False)


def test_cli_lists_and_replays_the_same_selection(cli, engine, vault) -> None:
    add_webhook_workspace(engine, vault, "acme")
    broken = {"id": "sub_1", "object": "subscription", "status": "active"}
    _enqueue(
        engine,
        "acme",
        event_body("evt_bad", "customer.subscription.updated", broken, created=T),
        age_seconds=1,
    )
    _enqueue(engine, "acme", customer_event("evt_ok", "cus_1", created=T), age_seconds=1)
    # Dead-lettered directly: this test is about selecting events, how they die is tested in
    # test_processor.py.
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE webhook_inbox SET status = 'dead'"))

    listed = cli("webhooks", "list", "--status", "dead")
    assert listed.exit_code == 0
    assert "evt_bad" in listed.output
    assert "evt_ok" in listed.output

    replayed = cli("webhooks", "replay", "--id", "evt_ok")
    assert replayed.exit_code == 0, replayed.output
    assert "1 event(s) made due again" in replayed.output
    assert "1 applied" in replayed.output
    statuses = {row.provider_event_id: row.status for row in inbox_rows(engine)}
    assert statuses == {"evt_bad": "dead", "evt_ok": "applied"}

    refused = cli("webhooks", "replay")
    assert refused.exit_code == 2
    assert "select events by id, status, workspace or time range" in refused.output


def test_definitions_carry_the_webhook_assets_jobs_and_sensors() -> None:
    from paysync_dagster.definitions import defs

    with dg.instance_for_test():
        code_location = defs()
        keys = {
            key.to_user_string() for key in code_location.resolve_asset_graph().get_all_asset_keys()
        }
    assert {"webhooks/inbox", "webhooks/stripe_gap_fill"} <= keys
    assert {"webhook_backlog", "webhook_gap_fill", "replay_webhooks"} <= {
        job.name for job in code_location.jobs
    }
    assert "webhook_backlog_sensor" in {s.name for s in code_location.sensors}
    assert "webhook_gap_fill_schedule" in {s.name for s in code_location.schedules}
