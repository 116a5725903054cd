"""The periodic gap fill of events whose webhooks never arrived."""

from paysync_dagster.defs.webhooks.jobs import webhook_gap_fill_job
from paysync_dagster.defs.workspaces.runs import all_workspaces_schedule

webhook_gap_fill_schedule = all_workspaces_schedule(
    name="webhook_gap_fill_schedule",
    job=webhook_gap_fill_job,
    cron_variable="PAYSYNC_WEBHOOK_GAP_FILL_CRON",
    default_cron="*/30 * * * *",
    what="Gap fill of Stripe events",
    trigger="webhook_gap_fill",
)
