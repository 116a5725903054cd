"""Watches for M-Pesa drift and starts the repair when there is some."""

import os

import dagster as dg

from paysync_dagster.defs.mpesa.jobs import mpesa_repair_job
from paysync_dagster.defs.resources import DatabaseResource
from paysync_dagster.mpesa.drift import find_drift

DEFAULT_DRIFT_INTERVAL_SECONDS = 60
_IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@dg.sensor(
    job=mpesa_repair_job,
    minimum_interval_seconds=int(
        os.environ.get("PAYSYNC_MPESA_DRIFT_INTERVAL_SECONDS", DEFAULT_DRIFT_INTERVAL_SECONDS)
    ),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Counts bars whose M-Pesa flags differ (one query) and requests the repair run when"
        " any do; interval from PAYSYNC_MPESA_DRIFT_INTERVAL_SECONDS (default 60)."
    ),
)
def mpesa_drift_sensor(
    context: dg.SensorEvaluationContext, database: DatabaseResource
) -> dg.RunRequest | dg.SkipReason:
    with database.get_engine().connect() as connection:
        drift = find_drift(connection)
    if drift.count == 0:
        return dg.SkipReason("no M-Pesa drift")
    # One repair at a time: a second run would only contend for the same bars' locks.
    running = context.instance.get_runs(
        filters=dg.RunsFilter(job_name=mpesa_repair_job.name, statuses=_IN_PROGRESS), limit=1
    )
    if running:
        return dg.SkipReason(
            f"{drift.count} drifted bar(s); repair run {running[0].run_id} is still in progress"
        )
    context.log.info(f"M-Pesa drift in {drift.count} bar(s), e.g. {list(drift.sample[:5])}")
    return dg.RunRequest(
        run_key=None,
        tags={"paysync/trigger": "mpesa-drift-sensor", "paysync/drifted-bars": str(drift.count)},
    )
