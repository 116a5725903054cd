"""Integrity checks on the Stripe mirror, per workspace partition.

The sync evaluates each workspace's checks right after writing it and records them on that
workspace's partition; a failed ERROR check stops that workspace's downstream entities (and
only that workspace's). The same checks also run on their own from the UI, reading the
tables without syncing.
"""

import warnings
from collections.abc import Iterable, Iterator

import dagster as dg

from paysync_dagster.defs.resources import DatabaseResource
from paysync_dagster.defs.stripe.keys import stripe_asset_key
from paysync_dagster.defs.workspaces.partitions import workspace_partitions
from paysync_dagster.providers.stripe.entities import ENTITIES, PROVIDER
from paysync_dagster.sync import checks
from paysync_dagster.sync.checks import CheckOutcome


def _severity(outcome: CheckOutcome) -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.ERROR if outcome.error else dg.AssetCheckSeverity.WARN


def check_evaluations(
    asset_key: dg.AssetKey,
    workspace_id: str,
    outcomes: Iterable[CheckOutcome],
    *,
    blocking: bool = True,
) -> Iterator[dg.AssetCheckEvaluation]:
    """The engine's check outcomes as evaluations on the workspace's partition.

    `blocking` evaluations that fail as ERROR fail the step that yields them, after all its
    other events are recorded: right for the sync, pointless for a check-only run.
    """
    for outcome in outcomes:
        yield dg.AssetCheckEvaluation(
            asset_key=asset_key,
            check_name=outcome.name,
            passed=outcome.passed,
            severity=_severity(outcome),
            description=outcome.description or None,
            metadata={"workspace": workspace_id, **outcome.metadata},
            partition=workspace_id,
            blocking=blocking,
        )


def _specs() -> list[dg.AssetCheckSpec]:
    # Partitioned checks are a preview in Dagster 1.13; they are what puts each workspace's
    # verdict on its own partition, so the preview warning is silenced here only.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=dg.PreviewWarning)
        return _partitioned_specs()


def _partitioned_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            name,
            asset=stripe_asset_key(entity_type),
            description=checks.CHECK_DESCRIPTIONS[name],
            blocking=True,
            partitions_def=workspace_partitions,
        )
        for entity_type in ENTITIES
        for name in checks.check_names(entity_type)
    ]


@dg.multi_asset_check(
    specs=_specs(),
    can_subset=True,
    description="Re-evaluate the Stripe mirror's integrity from the tables, without syncing.",
)
def stripe_integrity_checks(
    context: dg.AssetCheckExecutionContext, database: DatabaseResource
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """Evaluate the selected checks for every workspace partition of the run."""
    selected = context.selected_asset_check_keys
    entities = sorted({key.asset_key.path[-1] for key in selected})
    with database.get_engine().connect() as connection:
        for workspace_id in context.partition_keys:
            for entity_type in entities:
                session_id = checks.latest_full_sync_session(
                    connection,
                    workspace_id=workspace_id,
                    provider=PROVIDER,
                    entity_type=entity_type,
                )
                outcomes, _ = checks.evaluate_workspace(
                    connection,
                    workspace_id=workspace_id,
                    provider=PROVIDER,
                    entity_type=entity_type,
                    session_id=session_id,
                )
                asset_key = stripe_asset_key(entity_type)
                yield from check_evaluations(
                    asset_key,
                    workspace_id,
                    (o for o in outcomes if dg.AssetCheckKey(asset_key, o.name) in selected),
                    # Nothing runs downstream of a check-only step: a failed check is
                    # reported as failed without failing the run.
                    blocking=False,
                )
    # The evaluations above carry the verdicts per partition; the step's outputs are empty.
    for output_name in context.op_execution_context.selected_output_names:
        yield dg.Output(None, output_name=output_name)
