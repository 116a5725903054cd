"""The simulator loop: every target every `RUN_INTERVAL_SECONDS` ± `RUN_JITTER_SECONDS`,
never while its previous run is in progress; keeps the `simulator_target` partitions equal
to the configured targets."""

import time

import dagster as dg

from paysync_dagster.defs.resources import DatabaseResource
from paysync_dagster.defs.simulator.assets import TRIGGER_TAG
from paysync_dagster.defs.simulator.jobs import simulator_payments_job
from paysync_dagster.defs.simulator.partitions import SIMULATOR_TARGET_PARTITIONS_NAME
from paysync_dagster.simulator.jitter import parse_cursor, plan_tick
from paysync_dagster.simulator.settings import LoopSettings
from paysync_dagster.simulator.targets import target_names

# The sensor's clock; tests replace it to drive many ticks through simulated time.
clock = time.time
_IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def targets_in_progress(instance: dg.DagsterInstance) -> set[str]:
    """Targets with a simulator run queued or running."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=simulator_payments_job.name, statuses=_IN_PROGRESS)
    )
    return {run.tags["dagster/partition"] for run in runs if "dagster/partition" in run.tags}


@dg.sensor(
    job=simulator_payments_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING
    if LoopSettings.from_environment().enabled
    else dg.DefaultSensorStatus.STOPPED,
    description=(
        "Runs each simulator target every RUN_INTERVAL_SECONDS ± RUN_JITTER_SECONDS (default"
        " 300 ± 120) with ITERATIONS_PER_RUN attempts, never while its last run is in progress;"
        " ENABLE_LOOP=false starts it stopped. Keeps the simulator_target partitions equal to"
        " the configured targets."
    ),
)
def simulator_loop_sensor(
    context: dg.SensorEvaluationContext, database: DatabaseResource
) -> dg.SensorResult:
    settings = LoopSettings.from_environment()
    configured = target_names(database.get_engine())
    existing = set(context.instance.get_dynamic_partitions(SIMULATOR_TARGET_PARTITIONS_NAME))
    now = clock()
    plan = plan_tick(
        now,
        parse_cursor(context.cursor),
        configured,
        targets_in_progress(context.instance),
        settings,
    )
    partition_requests: list[
        dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest
    ] = []
    added, removed = sorted(set(configured) - existing), sorted(existing - set(configured))
    if added:
        partition_requests.append(
            dg.AddDynamicPartitionsRequest(SIMULATOR_TARGET_PARTITIONS_NAME, partition_keys=added)
        )
    if removed:
        partition_requests.append(
            dg.DeleteDynamicPartitionsRequest(
                SIMULATOR_TARGET_PARTITIONS_NAME, partition_keys=removed
            )
        )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"simulator:{target}:{now:.3f}",
                partition_key=target,
                tags={TRIGGER_TAG: "schedule"},
                run_config={
                    "ops": {"simulator__payments": {"config": {"iterations": settings.iterations}}}
                },
            )
            for target in plan.launch
        ],
        dynamic_partitions_requests=partition_requests,
        cursor=plan.cursor(),
    )
