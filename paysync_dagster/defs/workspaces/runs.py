"""Run requests that cover every configured workspace in one batched run, and the default
state of the schedules that request them."""

import os

import dagster as dg

from paysync_dagster.defs.workspaces.partitions import (
    WORKSPACE_PARTITIONS_NAME,
    partition_range_tags,
)
from paysync_dagster.settings import Settings


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


def schedule_default_status() -> dg.DefaultScheduleStatus:
    """Running in production (`PAYSYNC_ENV=production`), so a deployed paysync syncs on
    schedule; stopped locally, where the UI's toggle (or `dagster schedule start NAME`)
    turns a schedule on."""
    if Settings.from_environment().production:
        return dg.DefaultScheduleStatus.RUNNING
    return dg.DefaultScheduleStatus.STOPPED


def all_workspaces_schedule(
    *, name: str, job: object, cron_variable: str, default_cron: str, what: str, trigger: str
) -> dg.ScheduleDefinition:
    """A schedule running `job` over every workspace in one batched run, at the cron in
    `cron_variable` (else `default_cron`), on by default in production only."""
    cron = os.environ.get(cron_variable, default_cron)

    @dg.schedule(
        name=name,
        job=job,
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=schedule_default_status(),
        description=(
            f"{what} of every workspace in one batched run; the cron is set by {cron_variable}"
            f" (default `{default_cron}`)."
        ),
    )
    def schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        return all_workspaces_run(context, trigger=trigger)

    return schedule
