"""Keeps the `workspace` partitions equal to the configured workspaces, and syncs new ones."""

import dagster as dg

from paysync_dagster.defs.payfit.jobs import payfit_sync_job
from paysync_dagster.defs.resources import DatabaseResource
from paysync_dagster.defs.stripe.jobs import stripe_sync_job
from paysync_dagster.defs.syncing.keys import entity_asset_key, sync_job_name
from paysync_dagster.defs.workspaces.partitions import WORKSPACE_PARTITIONS_NAME
from paysync_dagster.providers.registry import PROVIDERS
from paysync_dagster.store.workspaces import list_workspaces


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
        " partition."
    ),
)
def workspace_partitions_sensor(
    context: dg.SensorEvaluationContext, database: DatabaseResource
) -> dg.SensorResult | dg.SkipReason:
    configurations = list_workspaces(database.get_engine())
    configured = {summary.workspace_id for summary in configurations}
    existing = set(context.instance.get_dynamic_partitions(WORKSPACE_PARTITIONS_NAME))
    added = sorted(configured - existing)
    removed = sorted(existing - configured)
    # Requested at every tick until the workspace has synced: Dagster drops a run key it has
    # already launched, so each configuration gets exactly one initial run.
    run_requests = []
    for name, provider in PROVIDERS.items():
        synced = context.instance.get_materialized_partitions(
            entity_asset_key(provider, provider.entity_names[0])
        )
        run_requests.extend(
            dg.RunRequest(
                run_key=initial_sync_run_key(
                    name, summary.workspace_id, summary.created_at.timestamp()
                ),
                job_name=sync_job_name(provider),
                partition_key=summary.workspace_id,
                tags={"paysync/trigger": "initial-sync"},
            )
            for summary in configurations
            if summary.provider == name and summary.workspace_id not in synced
        )
    if not added and not removed and not run_requests:
        return dg.SkipReason(
            f"{len(existing)} workspace partition(s) match the configuration, all synced"
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
        f" {len(run_requests)} initial sync(s) waiting"
    )
    return dg.SensorResult(run_requests=run_requests, dynamic_partitions_requests=requests)
