"""The code location's jobs as Dagster reconstructs them in a run worker (re-execution tests)."""

import dagster as dg

from paysync_dagster.definitions import defs


def stripe_sync_job() -> dg.JobDefinition:
    """The deployed `stripe_sync` job, resources bound from the environment."""
    return defs().resolve_job_def("stripe_sync")
