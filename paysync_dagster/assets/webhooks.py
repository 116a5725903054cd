"""The webhook inbox in Dagster: the backlog safety net, its health checks, and replay.

`paysync serve` applies events within milliseconds; Dagster is what notices when it does not
(no worker running, events stuck or dead-lettered), what heals missed webhooks (gap fill),
and what an operator uses to repair.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from paysync_dagster.assets.partitions import workspace_partitions
from paysync_dagster.assets.stripe import STRIPE_LINEAGE
from paysync_dagster.resources.database import DatabaseResource
from paysync_dagster.resources.stripe import StripeSyncResource
from paysync_dagster.resources.vault import VaultResource
from paysync_dagster.resources.webhooks import WebhookProcessingResource
from paysync_dagster.store.workspaces import load_credentials
from paysync_dagster.sync.stripe_sync import PROVIDER, open_stripe_api, sync_stripe_entity
from paysync_dagster.webhooks import inbox
from paysync_dagster.webhooks.gapfill import gap_fill, write_cursor
from paysync_dagster.webhooks.processor import BatchResult, Processor
from paysync_dagster.webhooks.refetch import StripeObjectFetcher

WEBHOOKS_GROUP = "webhooks"
INBOX_KEY = dg.AssetKey([WEBHOOKS_GROUP, "inbox"])
_SAMPLE = 20


def _processor(
    database: DatabaseResource, vault: VaultResource, processing: WebhookProcessingResource
) -> tuple[Processor, StripeObjectFetcher]:
    engine = database.get_engine()
    fetcher = StripeObjectFetcher(engine, vault.get_vault())
    return Processor(engine, processing.options(), fetcher=fetcher), fetcher


def _result_metadata(result: BatchResult) -> dict[str, dg.MetadataValue]:
    metadata = {
        name: dg.MetadataValue.int(getattr(result, name))
        for name in ("claimed", "applied", "ignored", "retried", "dead")
    }
    if result.errors:
        sample = dict(sorted(result.errors.items())[:_SAMPLE])
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
    processor, fetcher = _processor(database, vault, webhook_processing)
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
        metadata={**_result_metadata(result), "still_due": dg.MetadataValue.int(remaining.due)}
    )


@dg.asset_check(
    asset=INBOX_KEY,
    description="No event has waited unprocessed longer than the allowed time (default 60 s).",
)
def no_stale_pending_events(
    database: DatabaseResource, webhook_processing: WebhookProcessingResource
) -> dg.AssetCheckResult:
    limit = webhook_processing.max_pending_seconds
    cutoff = datetime.now(UTC) - timedelta(seconds=limit)
    with database.get_engine().connect() as connection:
        stale = inbox.oldest_unfinished(connection, older_than=cutoff, limit=_SAMPLE)
    return dg.AssetCheckResult(
        passed=not stale,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "max_pending_seconds": limit,
            "stale_sample": len(stale),
            "stale_event_ids": ", ".join(f"{e.workspace_id}/{e.provider_event_id}" for e in stale),
        },
    )


@dg.asset_check(
    asset=INBOX_KEY,
    description="No event is dead-lettered; those that are are listed with their last error.",
)
def no_dead_letters(database: DatabaseResource) -> dg.AssetCheckResult:
    with database.get_engine().connect() as connection:
        count, dead = inbox.dead_letters(connection, limit=_SAMPLE)
    return dg.AssetCheckResult(
        passed=count == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "dead_letters": count,
            "events": dg.MetadataValue.json(
                {
                    f"{e.workspace_id}/{e.provider_event_id}": e.last_error or "(no error recorded)"
                    for e in dead
                }
            ),
        },
    )


webhook_backlog_job = dg.define_asset_job(
    "webhook_backlog",
    selection=dg.AssetSelection.assets(INBOX_KEY),
    description="Process every due webhook event, then check the inbox.",
)


class ReplayConfig(dg.Config):
    """Which events to replay: the same criteria as `paysync webhooks replay`."""

    event_ids: list[str] = []
    status: str | None = None
    workspace_id: str | None = None
    received_after: str | None = None
    received_before: str | None = None
    limit: int = 1000
    process_now: bool = True

    def selection(self) -> inbox.Selection:
        """The inbox selection, validated (a clear error names the bad criterion)."""
        return inbox.Selection(
            event_ids=tuple(self.event_ids),
            status=self.status,
            workspace_id=self.workspace_id,
            received_after=None
            if self.received_after is None
            else inbox.parse_time(self.received_after, "received_after"),
            received_before=None
            if self.received_before is None
            else inbox.parse_time(self.received_before, "received_before"),
            limit=self.limit,
        )


@dg.op(description="Make the selected inbox events due again and, by default, process them.")
def replay_webhook_events(
    context: dg.OpExecutionContext,
    config: ReplayConfig,
    database: DatabaseResource,
    vault: VaultResource,
    webhook_processing: WebhookProcessingResource,
) -> dg.Output[int]:
    try:
        selection = config.selection()
    except inbox.SelectionError as error:
        raise dg.Failure(description=f"invalid replay selection: {error}") from None
    replayed = inbox.replay(database.get_engine(), selection)
    context.log.info(f"{len(replayed)} webhook event(s) made due again")
    metadata: dict[str, dg.MetadataValue] = {"replayed": dg.MetadataValue.int(len(replayed))}
    if config.process_now and replayed:
        processor, fetcher = _processor(database, vault, webhook_processing)
        try:
            metadata.update(_result_metadata(processor.drain(f"dagster:{context.run_id}")))
        finally:
            fetcher.close()
    return dg.Output(len(replayed), metadata=metadata)


@dg.job(description="Replay webhook events selected by id, status, workspace and time range.")
def replay_webhooks() -> None:
    replay_webhook_events()


@dg.asset(
    key=dg.AssetKey([WEBHOOKS_GROUP, "stripe_gap_fill"]),
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


webhook_gap_fill_job = dg.define_asset_job(
    "webhook_gap_fill",
    selection=dg.AssetSelection.assets(dg.AssetKey([WEBHOOKS_GROUP, "stripe_gap_fill"])),
    description="Enqueue missed Stripe events for the selected workspaces.",
)
