"""The paysync code location: every asset, check, job, schedule, sensor and resource."""

import dagster as dg

from paysync_dagster.assets.mpesa import mpesa_assets, mpesa_checks, mpesa_repair_job
from paysync_dagster.assets.stripe import stripe_assets, stripe_sync_job
from paysync_dagster.resources.database import DatabaseResource
from paysync_dagster.resources.stripe import StripeSyncResource
from paysync_dagster.resources.vault import VaultResource
from paysync_dagster.sensors.mpesa import mpesa_drift_sensor
from paysync_dagster.sensors.schedules import stripe_full_sync_schedule
from paysync_dagster.sensors.workspaces import workspace_partitions_sensor

defs = dg.Definitions(
    assets=[*stripe_assets, *mpesa_assets],
    asset_checks=mpesa_checks,
    jobs=[stripe_sync_job, mpesa_repair_job],
    schedules=[stripe_full_sync_schedule],
    sensors=[workspace_partitions_sensor, mpesa_drift_sensor],
    resources={
        "database": DatabaseResource(),
        "vault": VaultResource(),
        "stripe_sync": StripeSyncResource(),
    },
    # Workspaces already sync concurrently on threads inside each step, so one process per
    # run is enough and avoids paying interpreter start-up for every step.
    executor=dg.in_process_executor,
)
