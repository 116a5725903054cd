"""Keeps the `workspace` partitions equal to the configured workspaces, and syncs new ones."""

import dagster as dg
import sqlalchemy as sa

from paysync_dagster.defs.payfit.jobs import payfit_sync_job
from paysync_dagster.defs.resources import DatabaseResource, VaultResource
from paysync_dagster.defs.stripe.jobs import stripe_sync_job
from paysync_dagster.defs.syncing.keys import entity_asset_key, sync_job_name
from paysync_dagster.defs.workspaces.partitions import WORKSPACE_PARTITIONS_NAME
from paysync_dagster.providers.base import Provider
from paysync_dagster.providers.configure import stored_mock_mode_reason
from paysync_dagster.providers.registry import PROVIDERS
from paysync_dagster.store.vault import VaultError
from paysync_dagster.store.workspaces import WorkspaceError, list_workspaces


def initial_sync_run_key(provider: str, workspace_id: str, configured_at: float) -> str:
    """One key per configuration of a workspace: Dagster launches each run key only once."""
    return f"initial-sync:{provider}:{workspace_id}:{configured_at:.0f}"


@dg.sensor(
    jobs=[stripe_sync_job, payfit_sync_job],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Adds a partition for every configured workspace and removes partitions without a"
        " configuration (e.g. added by hand in the UI); launches one initial sync per provider"
        " for each configured workspace that has never synced, whoever registered its"
        " partition, once it leaves mock mode."
    ),
)
def workspace_partitions_sensor(
    context: dg.SensorEvaluationContext, database: DatabaseResource, vault: VaultResource
) -> dg.SensorResult | dg.SkipReason:
    engine = database.get_engine()
    configurations = list_workspaces(engine)
    configured = {summary.workspace_id for summary in configurations}
    existing = set(context.instance.get_dynamic_partitions(WORKSPACE_PARTITIONS_NAME))
    added = sorted(configured - existing)
    removed = sorted(existing - configured)
    # Requested at every tick until the workspace has synced: Dagster drops a run key it has
    # already launched, so each configuration gets exactly one initial run.
    run_requests = []
    in_mock_mode = []
    for name, provider in PROVIDERS.items():
        synced = context.instance.get_materialized_partitions(
            entity_asset_key(provider, provider.entity_names[0])
        )
        for summary in configurations:
            if summary.provider != name or summary.workspace_id in synced:
                continue
            if _in_mock_mode(engine, vault, provider, summary.workspace_id):
                # Its sync would call nothing; the initial sync waits for real credentials.
                in_mock_mode.append(summary.workspace_id)
                continue
            run_requests.append(
                dg.RunRequest(
                    run_key=initial_sync_run_key(
                        name, summary.workspace_id, summary.created_at.timestamp()
                    ),
                    job_name=sync_job_name(provider),
                    partition_key=summary.workspace_id,
                    tags={"paysync/trigger": "initial-sync"},
                )
            )
    mock_note = (
        f" ({len(in_mock_mode)} in mock mode: no initial sync until real credentials are stored)"
        if in_mock_mode
        else ""
    )
    if not added and not removed and not run_requests:
        return dg.SkipReason(
            f"{len(existing)} workspace partition(s) match the configuration, all synced{mock_note}"
        )
    requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    if added:
        requests.append(
            dg.AddDynamicPartitionsRequest(WORKSPACE_PARTITIONS_NAME, partition_keys=added)
        )
    if removed:
        requests.append(
            dg.DeleteDynamicPartitionsRequest(WORKSPACE_PARTITIONS_NAME, partition_keys=removed)
        )
    context.log.info(
        f"workspace partitions: +{len(added)} -{len(removed)};"
        f" {len(run_requests)} initial sync(s) waiting{mock_note}"
    )
    return dg.SensorResult(run_requests=run_requests, dynamic_partitions_requests=requests)


def _in_mock_mode(
    engine: sa.Engine, vault: VaultResource, provider: Provider, workspace_id: str
) -> bool:
    """Whether the workspace's configuration is in mock mode. One that cannot be read is not:
    its initial run is launched and fails saying why."""
    if not provider.has_mock_mode:
        return False
    try:
        reason = stored_mock_mode_reason(
            engine, vault.get_vault(), workspace_id=workspace_id, provider=provider
        )
    except (WorkspaceError, VaultError):
        return False
    return reason is not None
