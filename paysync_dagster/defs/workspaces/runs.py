"""Run requests that cover every configured workspace in batched runs, and the default state
of the schedules that request them."""

import os
from collections.abc import Mapping, Sequence

import dagster as dg

from paysync_dagster.defs.workspaces.partitions import (
    WORKSPACE_PARTITIONS_NAME,
    partition_range_tags,
)
from paysync_dagster.settings import Settings

WORKSPACES_PER_RUN_ENV = "PAYSYNC_WORKSPACES_PER_RUN"
# A batched run syncs its workspaces on threads in one process, so one run uses about one core;
# several runs of this many run side by side (up to max_concurrent_runs) and use them all.
DEFAULT_WORKSPACES_PER_RUN = 50
BATCH_TAG = "paysync/batch"


def workspaces_per_run(environ: Mapping[str, str] | None = None) -> int:
    """`PAYSYNC_WORKSPACES_PER_RUN` (default 50): how many workspaces one batched run covers.

    Raises `ValueError` naming the variable for anything but a positive integer.
    """
    value = (os.environ if environ is None else environ).get(WORKSPACES_PER_RUN_ENV)
    if not value:
        return DEFAULT_WORKSPACES_PER_RUN
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{WORKSPACES_PER_RUN_ENV} must be a positive integer, got {value[:20]!r}")
    return int(value)


def batched_run_tags(workspaces: Sequence[str], per_run: int) -> list[dict[str, str]]:
    """The tags of the batched runs covering `workspaces` (in partition order), `per_run`
    consecutive workspaces each; each run is marked `paysync/batch: k/n`."""
    chunks = [workspaces[start : start + per_run] for start in range(0, len(workspaces), per_run)]
    return [
        {**partition_range_tags(chunk[0], chunk[-1]), BATCH_TAG: f"{number}/{len(chunks)}"}
        for number, chunk in enumerate(chunks, start=1)
    ]


def all_workspaces_runs(
    context: dg.ScheduleEvaluationContext, *, trigger: str, per_run: int
) -> list[dg.RunRequest] | dg.SkipReason:
    """Batched runs over every configured workspace, `per_run` each, tagged with what
    triggered them."""
    workspaces = context.instance.get_dynamic_partitions(WORKSPACE_PARTITIONS_NAME)
    if not workspaces:
        return dg.SkipReason("no workspaces are configured yet")
    return [
        dg.RunRequest(run_key=None, tags={**tags, "paysync/trigger": trigger})
        for tags in batched_run_tags(workspaces, per_run)
    ]


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
    """A schedule running `job` over every workspace in batched runs of
    `PAYSYNC_WORKSPACES_PER_RUN`, at the cron in `cron_variable` (else `default_cron`), on by
    default in production only."""
    cron = os.environ.get(cron_variable, default_cron)
    per_run = workspaces_per_run()

    @dg.schedule(
        name=name,
        job=job,
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=schedule_default_status(),
        description=(
            f"{what} of every workspace, in batched runs of {per_run} workspaces"
            f" ({WORKSPACES_PER_RUN_ENV}); the cron is set by {cron_variable}"
            f" (default `{default_cron}`)."
        ),
    )
    def schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
        return all_workspaces_runs(context, trigger=trigger, per_run=per_run)

    return schedule
