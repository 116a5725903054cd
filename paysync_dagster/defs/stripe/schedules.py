"""The periodic full Stripe sync of every workspace."""

from paysync_dagster.defs.stripe.jobs import stripe_sync_job
from paysync_dagster.defs.workspaces.runs import all_workspaces_schedule

stripe_full_sync_schedule = all_workspaces_schedule(
    name="stripe_full_sync_schedule",
    job=stripe_sync_job,
    cron_variable="PAYSYNC_STRIPE_SYNC_CRON",
    default_cron="0 */6 * * *",
    what="Full Stripe sync",
    trigger="schedule",
)
