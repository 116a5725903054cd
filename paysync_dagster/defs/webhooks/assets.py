"""The webhook inbox in Dagster: the backlog safety net, its health checks, and replay.

`paysync serve` applies events within milliseconds; Dagster is what notices when it does not
(no worker running, events stuck or dead-lettered), what heals missed webhooks (gap fill),
and what an operator uses to repair.
"""

from collections.abc import Iterator

import dagster as dg

from paysync_dagster.defs.resources import (
    DatabaseResource,
    SyncResource,
    VaultResource,
    WebhookProcessingResource,
)
from paysync_dagster.defs.syncing.assets import outcome_events
from paysync_dagster.defs.workspaces.partitions import workspace_partitions
from paysync_dagster.defs.workspaces.run_status import run_is_active
from paysync_dagster.providers.stripe.provider import STRIPE
from paysync_dagster.sync.workspace_runs import OutcomeStatus
from paysync_dagster.webhooks import inbox
from paysync_dagster.webhooks.gapfill import gap_fill_workspaces
from paysync_dagster.webhooks.processing import open_processor
from paysync_dagster.webhooks.processor import BatchResult

WEBHOOKS_GROUP = "webhooks"
INBOX_KEY = dg.AssetKey([WEBHOOKS_GROUP, "inbox"])
GAP_FILL_KEY = dg.AssetKey([WEBHOOKS_GROUP, "stripe_gap_fill"])
SAMPLE = 20


def batch_metadata(result: BatchResult) -> dict[str, dg.MetadataValue]:
    metadata = {
        name: dg.MetadataValue.int(getattr(result, name))
        for name in ("claimed", "applied", "ignored", "retried", "dead")
    }
    if result.errors:
        sample = dict(sorted(result.errors.items())[:SAMPLE])
        metadata["errors"] = dg.MetadataValue.json({str(k): v for k, v in sample.items()})
    return metadata


@dg.asset(
    key=INBOX_KEY,
    group_name=WEBHOOKS_GROUP,
    kinds={"stripe", "sql"},
    description=(
        "Provider events received by webhook or gap fill, applied to the canonical tables."
        " Materializing it processes every event that is due: the backlog job."
    ),
)
def webhook_inbox(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    vault: VaultResource,
    webhook_processing: WebhookProcessingResource,
) -> dg.MaterializeResult:
    engine = database.get_engine()
    with open_processor(engine, vault.get_vault(), webhook_processing.options()) as processor:
        result = processor.drain(f"dagster:{context.run.run_id}")
    with database.get_engine().connect() as connection:
        remaining = inbox.backlog(connection)
    context.log.info(
        f"webhook backlog: {result.applied} applied, {result.ignored} ignored,"
        f" {result.retried} retried, {result.dead} dead-lettered; {remaining.due} still due"
    )
    return dg.MaterializeResult(
        metadata={**batch_metadata(result), "still_due": dg.MetadataValue.int(remaining.due)}
    )


@dg.asset(
    key=GAP_FILL_KEY,
    partitions_def=workspace_partitions,
    group_name=WEBHOOKS_GROUP,
    kinds={"stripe"},
    description=(
        "Stripe events the inbox missed, found in /v1/events since the workspace's cursor and"
        " enqueued; more than 30 days behind, a full sync of the workspace instead."
    ),
    # Recorded per workspace as each one finishes, so one workspace's failure leaves the
    # others materialized (see `webhooks.gapfill.gap_fill_workspaces`).
    output_required=False,
)
def stripe_gap_fill(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    vault: VaultResource,
    sync: SyncResource,
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckEvaluation]:
    """Enqueue each workspace's missed events; report each workspace's outcome."""
    failed: dict[str, str] = {}
    for filled in gap_fill_workspaces(
        database.get_engine(),
        vault.get_vault(),
        list(context.partition_keys),
        options=sync.options(),
        dagster_run_id=context.run.run_id,
        run_is_active=run_is_active(context.instance),
    ):
        workspace_id, result = filled.workspace_id, filled.result
        if result is None:
            context.log.warning(f"{workspace_id}: gap fill failed: {filled.error}")
            failed[workspace_id] = filled.error or "unknown error"
            continue
        metadata: dict[str, dg.MetadataValue] = {
            "since": dg.MetadataValue.text(result.since.isoformat()),
            "listed": dg.MetadataValue.int(result.listed),
            "enqueued": dg.MetadataValue.int(result.enqueued),
            "invalid": dg.MetadataValue.int(result.invalid),
            "full_sync": dg.MetadataValue.bool(result.full_sync_needed),
        }
        if result.full_sync_needed:
            context.log.warning(
                f"{workspace_id}: events cursor {result.since:%Y-%m-%d} is beyond Stripe's 30-day"
                " event retention; fell back to a full sync of the workspace"
            )
            for outcome in filled.full_sync:
                metadata[f"full_sync_{outcome.entity_type}"] = dg.MetadataValue.text(
                    outcome.status.value
                    if outcome.result is None
                    else f"{outcome.result.status}: {outcome.result.listed} listed"
                )
                if outcome.status is OutcomeStatus.SYNCED:
                    # The partitions this fallback rewrote, so the catalog's lineage stays true.
                    yield from outcome_events(STRIPE, outcome)
                else:
                    failed[workspace_id] = f"full sync {outcome.entity_type}: {outcome.reason}"
        else:
            context.log.info(
                f"{workspace_id}: {result.enqueued} missed event(s) enqueued of"
                f" {result.listed} listed since {result.since:%Y-%m-%d %H:%M:%S}"
            )
        yield dg.AssetMaterialization(
            asset_key=GAP_FILL_KEY, partition=workspace_id, metadata=metadata
        )
    if failed:
        first = min(failed)
        raise dg.Failure(
            description=(
                f"gap fill did not finish for {len(failed)} of {len(context.partition_keys)}"
                f" workspace(s). First: {first}: {failed[first]}"
            ),
            metadata=failed,
        )
