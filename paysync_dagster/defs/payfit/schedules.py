"""The periodic full PayFit sync of every workspace (mock-mode workspaces are skipped)."""

from paysync_dagster.defs.payfit.jobs import payfit_sync_job
from paysync_dagster.defs.workspaces.runs import all_workspaces_schedule

# Half an hour after the Stripe sync, so the two do not start together.
payfit_full_sync_schedule = all_workspaces_schedule(
    name="payfit_full_sync_schedule",
    job=payfit_sync_job,
    cron_variable="PAYSYNC_PAYFIT_SYNC_CRON",
    default_cron="30 */6 * * *",
    what="Full PayFit sync (workspaces without PayFit are left alone)",
    trigger="schedule",
)
