"""What earlier attempts of a run already materialized, so a retry redoes only the rest.

"Re-execute from failure" (and run retries) re-run the whole failed step, with every
workspace of the batch; the workspaces that synced in the parent run are skipped.
"""

from collections.abc import Iterable

import dagster as dg

# Dagster's tags on a run created by re-executing another from its (asset) failure.
_RESUME_TAGS = ("dagster/is_resume_retry", "dagster/is_asset_resume_retry")


def is_retry_of_failure(run: dg.DagsterRun) -> bool:
    """Whether `run` re-executes another run from its failure (not "re-execute all")."""
    return any(run.tags.get(tag) == "true" for tag in _RESUME_TAGS)


def materialized_in_earlier_attempts(
    context: dg.AssetExecutionContext, asset_keys: Iterable[dg.AssetKey]
) -> set[tuple[str, dg.AssetKey]]:
    """(partition, asset key) pairs the run's ancestors materialized, for a retry of failure;
    empty for any other run."""
    run = context.run
    if not is_retry_of_failure(run):
        return set()
    wanted = set(asset_keys)
    done: set[tuple[str, dg.AssetKey]] = set()
    parent_id = run.parent_run_id
    while parent_id is not None:
        partitions_by_key = context.instance.get_asset_partitions_for_run(
            parent_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        )
        for key, partitions in partitions_by_key.items():
            if key in wanted:
                done.update((partition, key) for partition in partitions if partition)
        parent = context.instance.get_run_by_id(parent_id)
        parent_id = parent.parent_run_id if parent is not None else None
    return done
