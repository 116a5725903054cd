"""The webhook inbox in Dagster: the backlog safety net, its health checks, and replay.

`paysync serve` applies events within milliseconds; Dagster is what notices when it does not
(no worker running, events stuck or dead-lettered), what heals missed webhooks (gap fill),
and what an operator uses to repair.
"""

from datetime import UTC, datetime

import dagster as dg

from paysync_dagster.defs.resources import (
    DatabaseResource,
    StripeSyncResource,
    VaultResource,
    WebhookProcessingResource,
)
from paysync_dagster.defs.workspaces.partitions import workspace_partitions
from paysync_dagster.defs.workspaces.run_status import run_is_active
from paysync_dagster.providers.stripe.entities import LINEAGE as STRIPE_LINEAGE
from paysync_dagster.store.workspaces import load_credentials
from paysync_dagster.sync.stripe_sync import PROVIDER, open_stripe_api, sync_stripe_entity
from paysync_dagster.webhooks import inbox
from paysync_dagster.webhooks.gapfill import gap_fill, write_cursor
from paysync_dagster.webhooks.processor import BatchResult, Processor
from paysync_dagster.webhooks.refetch import StripeObjectFetcher

WEBHOOKS_GROUP = "webhooks"
INBOX_KEY = dg.AssetKey([WEBHOOKS_GROUP, "inbox"])
GAP_FILL_KEY = dg.AssetKey([WEBHOOKS_GROUP, "stripe_gap_fill"])
SAMPLE = 20


def open_processor(
    database: DatabaseResource, vault: VaultResource, processing: WebhookProcessingResource
) -> tuple[Processor, StripeObjectFetcher]:
    engine = database.get_engine()
    fetcher = StripeObjectFetcher(engine, vault.get_vault())
    return Processor(engine, processing.options(), fetcher=fetcher), fetcher


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
    processor, fetcher = open_processor(database, vault, webhook_processing)
    try:
        result = processor.drain(f"dagster:{context.run.run_id}")
    finally:
        fetcher.close()
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
)
def stripe_gap_fill(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    vault: VaultResource,
    stripe_sync: StripeSyncResource,
) -> None:
    engine, secrets = database.get_engine(), vault.get_vault()
    options = stripe_sync.options()
    for workspace_id in context.partition_keys:
        credentials = load_credentials(
            engine, secrets, workspace_id=workspace_id, provider=PROVIDER
        )
        api = open_stripe_api(credentials, options)
        try:
            result = gap_fill(engine, api, workspace_id)
        finally:
            api.close()
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
                " event retention; falling back to a full sync of the workspace"
            )
            started = datetime.now(UTC)
            for entity_type in STRIPE_LINEAGE:
                synced = sync_stripe_entity(
                    engine,
                    secrets,
                    workspace_id=workspace_id,
                    entity_type=entity_type,
                    options=options,
                    dagster_run_id=context.run.run_id,
                    run_is_active=run_is_active(context.instance),
                )
                metadata[f"full_sync_{entity_type}"] = dg.MetadataValue.text(
                    f"{synced.status}: {synced.listed} listed"
                )
            write_cursor(engine, workspace_id, started)
        else:
            context.log.info(
                f"{workspace_id}: {result.enqueued} missed event(s) enqueued of"
                f" {result.listed} listed since {result.since:%Y-%m-%d %H:%M:%S}"
            )
        context.add_asset_metadata(metadata, partition_key=workspace_id)
