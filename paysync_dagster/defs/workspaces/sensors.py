"""Keeps the `workspace` partitions equal to the configured workspaces, and syncs new ones."""

import dagster as dg

from paysync_dagster.defs.resources import DatabaseResource
from paysync_dagster.defs.stripe.jobs import stripe_sync_job
from paysync_dagster.defs.stripe.keys import stripe_asset_key
from paysync_dagster.defs.workspaces.partitions import WORKSPACE_PARTITIONS_NAME
from paysync_dagster.providers.stripe.entities import ENTITIES, PROVIDER
from paysync_dagster.store.workspaces import list_workspaces


def initial_sync_run_key(workspace_id: str, configured_at: float) -> str:
    """One key per configuration of a workspace: Dagster launches each run key only once."""
    return f"initial-sync:{workspace_id}:{configured_at:.0f}"


@dg.sensor(
    job=stripe_sync_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Adds a partition for every configured workspace and removes partitions without a"
        " configuration (e.g. added by hand in the UI); launches one initial sync for each"
        " configured workspace that has never synced, whoever registered its partition."
    ),
)
def workspace_partitions_sensor(
    context: dg.SensorEvaluationContext, database: DatabaseResource
) -> dg.SensorResult | dg.SkipReason:
    configured = {
        summary.workspace_id: summary
        for summary in list_workspaces(database.get_engine(), provider=PROVIDER)
    }
    existing = set(context.instance.get_dynamic_partitions(WORKSPACE_PARTITIONS_NAME))
    added = sorted(set(configured) - existing)
    removed = sorted(existing - set(configured))
    synced = context.instance.get_materialized_partitions(stripe_asset_key(ENTITIES[0]))
    never_synced = sorted(set(configured) - synced)
    if not added and not removed and not never_synced:
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
    # Requested at every tick until the workspace has synced: Dagster drops a run key it has
    # already launched, so each configuration gets exactly one initial run.
    run_requests = [
        dg.RunRequest(
            run_key=initial_sync_run_key(
                workspace_id, configured[workspace_id].created_at.timestamp()
            ),
            partition_key=workspace_id,
            tags={"paysync/trigger": "initial-sync"},
        )
        for workspace_id in never_synced
    ]
    context.log.info(
        f"workspace partitions: +{len(added)} -{len(removed)};"
        f" {len(never_synced)} workspace(s) waiting for their initial sync"
    )
    return dg.SensorResult(run_requests=run_requests, dynamic_partitions_requests=requests)
