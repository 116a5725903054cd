"""The periodic full sync of every workspace."""

import os

import dagster as dg

from paysync_dagster.assets.partitions import WORKSPACE_PARTITIONS_NAME, partition_range_tags
from paysync_dagster.assets.stripe import stripe_sync_job

DEFAULT_STRIPE_SYNC_CRON = "0 */6 * * *"


@dg.schedule(
    job=stripe_sync_job,
    cron_schedule=os.environ.get("PAYSYNC_STRIPE_SYNC_CRON", DEFAULT_STRIPE_SYNC_CRON),
    execution_timezone="UTC",
    description=(
        "Full Stripe sync of all workspaces in one batched run; the cron is set by"
        " PAYSYNC_STRIPE_SYNC_CRON (default every six hours)."
    ),
)
def stripe_full_sync_schedule(
    context: dg.ScheduleEvaluationContext,
) -> dg.RunRequest | dg.SkipReason:
    return all_workspaces_run(context, trigger="schedule")


def all_workspaces_run(
    context: dg.ScheduleEvaluationContext, *, trigger: str
) -> dg.RunRequest | dg.SkipReason:
    """One batched run over every configured workspace, tagged with what triggered it."""
    workspaces = context.instance.get_dynamic_partitions(WORKSPACE_PARTITIONS_NAME)
    if not workspaces:
        return dg.SkipReason("no workspaces are configured yet")
    return dg.RunRequest(
        run_key=None,
        tags={
            **partition_range_tags(workspaces[0], workspaces[-1]),
            "paysync/trigger": trigger,
        },
    )
