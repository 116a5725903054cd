"""The periodic full PayFit sync of every workspace (mock-mode workspaces are skipped)."""

import os

import dagster as dg

from paysync_dagster.defs.payfit.jobs import payfit_sync_job
from paysync_dagster.defs.workspaces.runs import all_workspaces_run, schedule_default_status

DEFAULT_PAYFIT_SYNC_CRON = "30 */6 * * *"


@dg.schedule(
    job=payfit_sync_job,
    cron_schedule=os.environ.get("PAYSYNC_PAYFIT_SYNC_CRON", DEFAULT_PAYFIT_SYNC_CRON),
    execution_timezone="UTC",
    default_status=schedule_default_status(),
    description=(
        "Full PayFit sync of all workspaces in one batched run (workspaces without PayFit are"
        " left alone); the cron is set by PAYSYNC_PAYFIT_SYNC_CRON (default every six hours,"
        " half an hour after the Stripe sync)."
    ),
)
def payfit_full_sync_schedule(
    context: dg.ScheduleEvaluationContext,
) -> dg.RunRequest | dg.SkipReason:
    return all_workspaces_run(context, trigger="schedule")
