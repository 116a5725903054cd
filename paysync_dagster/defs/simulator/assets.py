"""`simulator/payments`: one materialization per simulator run of a target, with its checks."""

import dagster as dg
from pydantic import Field

from paysync_dagster.defs.resources import DatabaseResource, VaultResource
from paysync_dagster.defs.simulator.partitions import simulator_target_partitions
from paysync_dagster.defs.simulator.resources import SimulatorResource
from paysync_dagster.simulator.engine import RunOptions, run_simulation
from paysync_dagster.simulator.evaluation import CHECK_NAMES, evaluate, figures
from paysync_dagster.simulator.inputs import load_inputs
from paysync_dagster.simulator.settings import MAX_ITERATIONS, LoopSettings
from paysync_dagster.simulator.targets import TargetError, load_target

PAYMENTS_KEY = dg.AssetKey(["simulator", "payments"])
TRIGGER_TAG = "paysync/trigger"
_DESCRIPTIONS = {
    "success_rate": "ERROR when fewer attempts than the minimum got the card's expected outcome.",
    "latency": "WARN when the p95 attempt is over `degraded_ms`, ERROR over `max_ms`.",
    "freshness": "ERROR when a succeeded payment took longer than the limit to reach the"
    " mirror, or never did (targets linked to a workspace only).",
}


class SimulatorRunConfig(dg.Config):
    """A run from the launchpad: how many attempts (default `ITERATIONS_PER_RUN`, else 2)."""

    iterations: int | None = Field(default=None, ge=1, le=MAX_ITERATIONS)


@dg.asset(
    key=PAYMENTS_KEY,
    partitions_def=simulator_target_partitions,
    group_name="simulator",
    kinds={"python"},
    check_specs=[
        dg.AssetCheckSpec(name, asset=PAYMENTS_KEY, description=_DESCRIPTIONS[name])
        for name in CHECK_NAMES
    ],
)
def simulator_payments(
    context: dg.AssetExecutionContext,
    config: SimulatorRunConfig,
    database: DatabaseResource,
    vault: VaultResource,
    simulator: SimulatorResource,
) -> dg.MaterializeResult:
    """Whether taking payments works: synthetic checkouts with test cards against the
    target, each attempt judged against the card's expected outcome and stored in
    `simulator_attempts`; for a Stripe target linked to a workspace, also how long each
    payment took to reach the mirror."""
    engine = database.get_engine()
    try:
        target = load_target(engine, vault.get_vault(), context.partition_key)
    except TargetError as error:
        raise dg.Failure(str(error)) from None
    inputs = load_inputs(target.kind)
    thresholds = simulator.thresholds()
    summary = run_simulation(
        engine,
        target,
        RunOptions(
            iterations=config.iterations or LoopSettings.from_environment().iterations,
            trigger="schedule" if context.run.tags.get(TRIGGER_TAG) == "schedule" else "manual",
            cards=inputs.cards,
            customers=inputs.customers,
            thresholds=thresholds,
            timeout_seconds=simulator.timeout_seconds,
            dagster_run_id=context.run.run_id,
        ),
    )
    for attempt in summary.attempts:
        context.log.info(
            f"attempt {attempt.iteration}: {attempt.status} ({attempt.card_scenario}:"
            f" expected {attempt.expected_outcome}, got {attempt.actual_outcome})"
        )
    metadata: dict[str, dg.MetadataValue] = {
        name: dg.MetadataValue.int(value)
        if isinstance(value, int)
        else dg.MetadataValue.float(value)
        for name, value in figures(summary.attempts).items()
    }
    metadata["simulator_run_id"] = dg.MetadataValue.text(summary.run_id)
    checks = evaluate(
        summary.attempts, thresholds, measures_freshness=target.workspace_id is not None
    )
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name=check.name,
                passed=check.passed,
                severity=dg.AssetCheckSeverity(check.severity),
                description=check.description,
                metadata=check.metadata,
            )
            for check in checks
        ],
    )
