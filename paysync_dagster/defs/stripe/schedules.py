"""The periodic full sync of every workspace."""

import os

import dagster as dg

from paysync_dagster.defs.stripe.jobs import stripe_sync_job
from paysync_dagster.defs.workspaces.runs import all_workspaces_run, schedule_default_status

DEFAULT_STRIPE_SYNC_CRON = "0 */6 * * *"


@dg.schedule(
    job=stripe_sync_job,
    cron_schedule=os.environ.get("PAYSYNC_STRIPE_SYNC_CRON", DEFAULT_STRIPE_SYNC_CRON),
    execution_timezone="UTC",
    default_status=schedule_default_status(),
    description=(
        "Full Stripe sync of all workspaces in one batched run; the cron is set by"
        " PAYSYNC_STRIPE_SYNC_CRON (default every six hours)."
    ),
)
def stripe_full_sync_schedule(
    context: dg.ScheduleEvaluationContext,
) -> dg.RunRequest | dg.SkipReason:
    return all_workspaces_run(context, trigger="schedule")
