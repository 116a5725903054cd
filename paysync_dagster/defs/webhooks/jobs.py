"""Webhook jobs: process the backlog, fill gaps from /v1/events, replay selected events."""

import dagster as dg

from paysync_dagster.defs.resources import (
    DatabaseResource,
    VaultResource,
    WebhookProcessingResource,
)
from paysync_dagster.defs.webhooks.assets import (
    GAP_FILL_KEY,
    INBOX_KEY,
    batch_metadata,
)
from paysync_dagster.webhooks import inbox
from paysync_dagster.webhooks.processing import open_processor

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
        options = webhook_processing.options()
        with open_processor(database.get_engine(), vault.get_vault(), options) as processor:
            metadata.update(batch_metadata(processor.drain(f"dagster:{context.run_id}")))
    return dg.Output(len(replayed), metadata=metadata)


@dg.job(description="Replay webhook events selected by id, status, workspace and time range.")
def replay_webhooks() -> None:
    replay_webhook_events()


webhook_gap_fill_job = dg.define_asset_job(
    "webhook_gap_fill",
    selection=dg.AssetSelection.assets(GAP_FILL_KEY),
    description="Enqueue missed Stripe events for the selected workspaces.",
)
