"""The paysync code location: every asset, check, job, schedule, sensor and resource."""

import dagster as dg

from paysync_dagster.assets.mpesa import mpesa_assets, mpesa_checks, mpesa_repair_job
from paysync_dagster.assets.stripe import stripe_assets, stripe_sync_job
from paysync_dagster.assets.webhooks import (
    no_dead_letters,
    no_stale_pending_events,
    replay_webhooks,
    stripe_gap_fill,
    webhook_backlog_job,
    webhook_gap_fill_job,
    webhook_inbox,
)
from paysync_dagster.resources.database import DatabaseResource
from paysync_dagster.resources.stripe import StripeSyncResource
from paysync_dagster.resources.vault import VaultResource
from paysync_dagster.resources.webhooks import WebhookProcessingResource
from paysync_dagster.sensors.mpesa import mpesa_drift_sensor
from paysync_dagster.sensors.schedules import stripe_full_sync_schedule
from paysync_dagster.sensors.webhooks import webhook_backlog_sensor, webhook_gap_fill_schedule
from paysync_dagster.sensors.workspaces import workspace_partitions_sensor

defs = dg.Definitions(
    assets=[*stripe_assets, webhook_inbox, stripe_gap_fill, *mpesa_assets],
    asset_checks=[no_stale_pending_events, no_dead_letters, *mpesa_checks],
    jobs=[
        stripe_sync_job,
        webhook_backlog_job,
        webhook_gap_fill_job,
        replay_webhooks,
        mpesa_repair_job,
    ],
    schedules=[stripe_full_sync_schedule, webhook_gap_fill_schedule],
    sensors=[workspace_partitions_sensor, webhook_backlog_sensor, mpesa_drift_sensor],
    resources={
        "database": DatabaseResource(),
        "vault": VaultResource(),
        "stripe_sync": StripeSyncResource(),
        "webhook_processing": WebhookProcessingResource(),
    },
    # Workspaces already sync concurrently on threads inside each step, so one process per
    # run is enough and avoids paying interpreter start-up for every step.
    executor=dg.in_process_executor,
)
