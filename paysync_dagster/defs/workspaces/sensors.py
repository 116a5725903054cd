"""Keeps the `workspace` partitions equal to the configured workspaces, and syncs new ones."""

import dagster as dg

from paysync_dagster.defs.resources import DatabaseResource
from paysync_dagster.defs.stripe.jobs import stripe_sync_job
from paysync_dagster.defs.workspaces.partitions import (
    WORKSPACE_PARTITIONS_NAME,
    partition_range_tags,
)
from paysync_dagster.store.workspaces import workspace_ids


@dg.sensor(
    job=stripe_sync_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Adds a partition for every configured workspace, removes those of removed workspaces,"
        " and launches one initial sync run for the workspaces it added."
    ),
)
def workspace_partitions_sensor(
    context: dg.SensorEvaluationContext, database: DatabaseResource
) -> dg.SensorResult | dg.SkipReason:
    configured = workspace_ids(database.get_engine())
    existing = context.instance.get_dynamic_partitions(WORKSPACE_PARTITIONS_NAME)
    added = [ws for ws in configured if ws not in set(existing)]
    removed = [ws for ws in existing if ws not in set(configured)]
    if not added and not removed:
        return dg.SkipReason(f"{len(existing)} workspace partition(s) already match")
    requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
    run_requests = []
    if added:
        requests.append(
            dg.AddDynamicPartitionsRequest(WORKSPACE_PARTITIONS_NAME, partition_keys=added)
        )
        # New partitions are appended in order, so the added ones form one contiguous range.
        run_requests.append(
            dg.RunRequest(
                run_key=f"initial-sync:{','.join(added)}",
                tags=partition_range_tags(added[0], added[-1]),
            )
        )
    if removed:
        requests.append(
            dg.DeleteDynamicPartitionsRequest(WORKSPACE_PARTITIONS_NAME, partition_keys=removed)
        )
    context.log.info(f"workspace partitions: +{len(added)} -{len(removed)}")
    return dg.SensorResult(run_requests=run_requests, dynamic_partitions_requests=requests)
