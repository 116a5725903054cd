"""Health checks on the webhook inbox: nothing waits too long, nothing is dead-lettered."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from paysync_dagster.defs.resources import DatabaseResource, WebhookProcessingResource
from paysync_dagster.defs.webhooks.assets import INBOX_KEY, SAMPLE
from paysync_dagster.webhooks import inbox, ties


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
        stale = inbox.oldest_unfinished(connection, older_than=cutoff, limit=SAMPLE)
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
    description="No event is dead-lettered; those that are are listed with their last error."
    " Also lists ordering ties (events of the same second as the stored row, applied without"
    " a refetch) that no full sync has repaired yet.",
)
def no_dead_letters(database: DatabaseResource) -> dg.AssetCheckResult:
    with database.get_engine().connect() as connection:
        count, dead = inbox.dead_letters(connection, limit=SAMPLE)
        tie_count, tied = ties.unrepaired_ties(connection, limit=SAMPLE)
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
            "unrepaired_ordering_ties": tie_count,
            "ordering_tie_objects": ", ".join(
                f"{t.workspace_id}/{t.entity}/{t.external_id}" for t in tied
            ),
        },
    )
