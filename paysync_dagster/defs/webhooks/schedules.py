"""The periodic gap fill of events whose webhooks never arrived."""

import os

import dagster as dg

from paysync_dagster.defs.webhooks.jobs import webhook_gap_fill_job
from paysync_dagster.defs.workspaces.runs import all_workspaces_run, schedule_default_status

DEFAULT_GAP_FILL_CRON = "*/30 * * * *"


@dg.schedule(
    job=webhook_gap_fill_job,
    cron_schedule=os.environ.get("PAYSYNC_WEBHOOK_GAP_FILL_CRON", DEFAULT_GAP_FILL_CRON),
    execution_timezone="UTC",
    default_status=schedule_default_status(),
    description=(
        "Gap fill of every workspace's Stripe events in one batched run; the cron is set by"
        " PAYSYNC_WEBHOOK_GAP_FILL_CRON (default every 30 minutes)."
    ),
)
def webhook_gap_fill_schedule(
    context: dg.ScheduleEvaluationContext,
) -> dg.RunRequest | dg.SkipReason:
    return all_workspaces_run(context, trigger="webhook_gap_fill")
