"""Run requests that cover every configured workspace in one batched run."""

import dagster as dg

from paysync_dagster.defs.workspaces.partitions import (
    WORKSPACE_PARTITIONS_NAME,
    partition_range_tags,
)


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
