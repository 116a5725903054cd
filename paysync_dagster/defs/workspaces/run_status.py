"""Whether a Dagster run is still in progress, as the engine asks it about sync sessions.

A sync session records the Dagster run that opened it. When that run's worker is killed, the
session stays `running`; the engine closes it as interrupted once this says the run is over,
and the next sync resumes from its cursor (`paysync_dagster.store.sessions`).
"""

import dagster as dg

from paysync_dagster.store.sessions import RunIsActive

# Statuses of a run that may still be writing: queued, launching, running, or stopping.
ACTIVE_RUN_STATUSES = frozenset(
    {
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    }
)


def run_is_active(instance: dg.DagsterInstance) -> RunIsActive:
    """A callable telling whether the run with a given id is in progress on `instance`.

    A run id the instance does not know (deleted, or from another instance) counts as not
    active: no run of this deployment can still be writing that session.
    """

    def is_active(run_id: str) -> bool:
        run = instance.get_run_by_id(run_id)
        return run is not None and run.status in ACTIVE_RUN_STATUSES

    return is_active
