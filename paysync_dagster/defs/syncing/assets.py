"""A provider's entities as assets partitioned by workspace, all computed by one step.

A run may carry many workspaces (a backfill batches them into a single run). Each workspace
syncs its entities in lineage order on its own thread, within its own rate budget. Every
(workspace, entity) is recorded as materialized, with its checks, the moment its data is
committed, so one workspace's failure never changes another workspace's status, and the
downstream entities of every healthy workspace still sync in the same run. Workspaces in
mock mode, or not configured for the provider, are skipped without failing the run.
"""

import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Set

import dagster as dg

from paysync_dagster.defs.catalog import row_count, table_metadata
from paysync_dagster.defs.resources import DatabaseResource, SyncResource, VaultResource
from paysync_dagster.defs.syncing.checks import (
    check_evaluations,
    check_specs,
    configured_outcome,
    evaluations_from_tables,
)
from paysync_dagster.defs.syncing.keys import entity_asset_key
from paysync_dagster.defs.workspaces.attempts import materialized_in_earlier_attempts
from paysync_dagster.defs.workspaces.partitions import workspace_partitions
from paysync_dagster.defs.workspaces.run_status import run_is_active
from paysync_dagster.providers.base import Provider
from paysync_dagster.store.tables import CANONICAL_TABLES
from paysync_dagster.sync.full_sync import EntitySyncResult
from paysync_dagster.sync.provider_sync import sync_workspaces
from paysync_dagster.sync.workspace_runs import EntityOutcome, OutcomeStatus

PROGRESS_LOG_INTERVAL_SECONDS = 2.0
UNFINISHED = (OutcomeStatus.FAILED, OutcomeStatus.SKIPPED)


def _spec(provider: Provider, entity_type: str) -> dg.AssetSpec:
    entity = provider.entity(entity_type)
    return dg.AssetSpec(
        entity_asset_key(provider, entity_type),
        deps=[entity_asset_key(provider, upstream) for upstream in entity.upstream],
        description=entity.description,
        group_name=provider.name,
        kinds={provider.name, "sql"},
        metadata=table_metadata(CANONICAL_TABLES[entity.table]),
        # Materializations are recorded per workspace as they commit, not as step outputs.
        skippable=True,
    )


def _result_metadata(result: EntitySyncResult) -> dict[str, dg.MetadataValue]:
    return {
        "session_id": dg.MetadataValue.text(result.session_id),
        "status": dg.MetadataValue.text(result.status),
        "listed": dg.MetadataValue.int(result.listed),
        "inserted": dg.MetadataValue.int(result.inserted),
        "updated": dg.MetadataValue.int(result.updated),
        "unchanged": dg.MetadataValue.int(result.unchanged),
        "deleted": dg.MetadataValue.int(result.deleted),
        "failed_records": dg.MetadataValue.int(result.failed),
        "pages": dg.MetadataValue.int(result.pages),
        "api_calls": dg.MetadataValue.int(result.api_calls),
        "retries": dg.MetadataValue.int(result.retries),
        "seconds": dg.MetadataValue.float(round(result.seconds, 3)),
        "objects_per_second": dg.MetadataValue.float(round(result.objects_per_second, 1)),
        "resumed": dg.MetadataValue.bool(result.resumed),
    }


class _RunProgressLog:
    """One progress line for the whole run every few seconds, whatever the number of
    workspaces syncing on their threads: a run of 200 workspaces logs a handful of lines,
    not hundreds (each log line is an event the Dagster instance stores)."""

    def __init__(self, log: dg.DagsterLogManager, workspaces: int) -> None:
        self._log = log
        self._workspaces = workspaces
        self._latest: dict[tuple[str, str], EntitySyncResult] = {}
        self._started = time.monotonic()
        self._last_logged = self._started
        self._lock = threading.Lock()

    def __call__(self, result: EntitySyncResult) -> None:
        now = time.monotonic()
        with self._lock:
            self._latest[(result.workspace_id, result.entity_type)] = result
            if now - self._last_logged < PROGRESS_LOG_INTERVAL_SECONDS:
                return
            self._last_logged = now
            listed = sum(r.listed for r in self._latest.values())
            retries = sum(r.retries for r in self._latest.values())
            failed = sum(r.failed for r in self._latest.values())
            syncing = len({workspace for workspace, _ in self._latest})
        self._log.info(
            f"{listed:,} objects listed so far across {syncing} of {self._workspaces}"
            f" workspace(s) ({failed} failed records, {retries} retries,"
            f" {listed / (now - self._started):,.0f} objects/s)"
        )


def outcome_events(
    provider: Provider, outcome: EntityOutcome
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckEvaluation]:
    """A synced workspace's materialization of one entity, then its check evaluations."""
    if outcome.result is None or outcome.live_rows is None:
        raise ValueError(f"{outcome.workspace_id}/{outcome.entity_type} has no sync result")
    key = entity_asset_key(provider, outcome.entity_type)
    yield dg.AssetMaterialization(
        asset_key=key,
        partition=outcome.workspace_id,
        metadata={**_result_metadata(outcome.result), **row_count(outcome.live_rows)},
    )
    checks = list(outcome.checks)
    if provider.has_mock_mode:
        checks.append(configured_outcome(provider, None))
    yield from check_evaluations(key, outcome.workspace_id, checks)


def _not_configured(provider: Provider, outcome: EntityOutcome) -> dg.AssetMaterialization:
    """A workspace without this provider: its slice of the table is, correctly, empty.

    Recorded as such, because Dagster marks every partition of a failed run that did not
    materialize as failed: without it, a PayFit-only workspace would turn red in the Stripe
    assets whenever another workspace's Stripe sync failed.
    """
    return dg.AssetMaterialization(
        asset_key=entity_asset_key(provider, outcome.entity_type),
        partition=outcome.workspace_id,
        description=outcome.reason,
        metadata={
            "status": dg.MetadataValue.text("not_configured"),
            **row_count(0),
        },
    )


def _selected_only(
    events: Iterator[dg.AssetMaterialization | dg.AssetCheckEvaluation],
    selected_checks: Set[dg.AssetCheckKey],
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckEvaluation]:
    """`events` without the evaluations of checks the run did not select."""
    for event in events:
        if (
            not isinstance(event, dg.AssetCheckEvaluation)
            or event.asset_check_key in selected_checks
        ):
            yield event


def _summary(outcomes: list[EntityOutcome], seconds: float) -> str:
    statuses = Counter(outcome.status.value for outcome in outcomes)
    synced = [o.result for o in outcomes if o.result is not None]
    return (
        f"{len({o.workspace_id for o in outcomes})} workspace(s),"
        f" {len(outcomes)} entity sync(s): "
        + ", ".join(f"{count} {status}" for status, count in sorted(statuses.items()))
        + f"; {sum(r.listed for r in synced):,} listed,"
        f" {sum(r.inserted for r in synced):,} inserted,"
        f" {sum(r.updated for r in synced):,} updated,"
        f" {sum(r.deleted for r in synced):,} deleted in {seconds:.1f}s"
    )


def failure_description(
    provider: Provider, unfinished: list[EntityOutcome], workspaces: int
) -> str:
    """Why the step fails: how many workspaces did not finish, and the first one's reason."""
    failed_workspaces = sorted({o.workspace_id for o in unfinished})
    first = next(o for o in unfinished if o.workspace_id == failed_workspaces[0])
    others = workspaces - len(failed_workspaces)
    tail = f"; the other {others} workspace(s) are recorded as materialized" if others else ""
    return (
        f"{provider.title} sync did not finish for {len(failed_workspaces)} of {workspaces}"
        f" workspace(s) ({', '.join(failed_workspaces[:10])}). First: {first.workspace_id}"
        f" {first.entity_type} {first.status.value}: {first.reason}{tail}"
    )


def _log_outcome(
    context: dg.AssetExecutionContext, provider: Provider, outcome: EntityOutcome
) -> None:
    where = f"{outcome.workspace_id}: {provider.name}/{outcome.entity_type}"
    if outcome.status in UNFINISHED:
        context.log.warning(f"{where} {outcome.status.value}: {outcome.reason}")
    elif outcome.status is OutcomeStatus.MOCK_MODE:
        context.log.warning(f"{where} not synced, {outcome.reason}")
    elif outcome.status in (OutcomeStatus.NOT_CONFIGURED, OutcomeStatus.SYNCING_ELSEWHERE):
        context.log.info(f"{where} not synced: {outcome.reason}")


def build_sync_asset(provider: Provider) -> dg.AssetsDefinition:
    """`<provider>_entities`: every entity of `provider` as an asset, synced by one step."""
    entity_types = provider.entity_names
    # Batching partitions into one run needs `backfill_policy`, still marked beta in Dagster;
    # its warning would otherwise print wherever the code location loads.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=dg.BetaWarning)

        @dg.multi_asset(
            name=f"{provider.name}_entities",
            specs=[_spec(provider, entity_type) for entity_type in entity_types],
            check_specs=check_specs(provider),
            partitions_def=workspace_partitions,
            can_subset=True,
            backfill_policy=dg.BackfillPolicy.single_run(),
            pool=provider.name,
            description=f"Full sync of the selected {provider.title} entities per workspace.",
        )
        def provider_entities(
            context: dg.AssetExecutionContext,
            database: DatabaseResource,
            vault: VaultResource,
            sync: SyncResource,
        ) -> Iterator[dg.AssetMaterialization | dg.AssetCheckEvaluation | dg.Output]:
            """Sync the selected entities for every workspace of the run, each isolated; with
            only checks selected, evaluate them from the tables instead."""
            workspace_ids = list(context.partition_keys)
            selected = context.selected_asset_keys
            selected_checks = context.selected_asset_check_keys
            # Check outputs carry nothing: the verdicts are the evaluations, per partition.
            check_outputs = [
                dg.Output(None, output_name=name)
                for name in context.op_execution_context.selected_output_names
                if name not in context.assets_def.keys_by_output_name
            ]
            if not selected:
                yield from evaluations_from_tables(
                    provider, database.get_engine(), vault, workspace_ids, selected_checks
                )
                yield from check_outputs
                return
            chosen = [e for e in entity_types if entity_asset_key(provider, e) in selected]
            done = {
                (workspace, key.path[-1])
                for workspace, key in materialized_in_earlier_attempts(
                    context, [entity_asset_key(provider, e) for e in chosen]
                )
            }
            context.log.info(
                f"syncing {provider.title} {', '.join(chosen)} for {len(workspace_ids)}"
                " workspace(s)"
                + (f"; {len(done)} already materialized by an earlier attempt" if done else "")
            )
            started = time.monotonic()
            outcomes: list[EntityOutcome] = []
            for outcome in sync_workspaces(
                provider,
                database.get_engine(),
                vault.get_vault(),
                workspace_ids,
                entity_types=chosen,
                options=sync.options(),
                dagster_run_id=context.run.run_id,
                run_is_active=run_is_active(context.instance),
                already_done=done,
                on_progress=_RunProgressLog(context.log, len(workspace_ids)),
            ):
                outcomes.append(outcome)
                _log_outcome(context, provider, outcome)
                if outcome.status is OutcomeStatus.SYNCED:
                    yield from _selected_only(outcome_events(provider, outcome), selected_checks)
                elif outcome.status is OutcomeStatus.NOT_CONFIGURED:
                    yield _not_configured(provider, outcome)
                elif outcome.status is OutcomeStatus.MOCK_MODE:
                    yield from _selected_only(
                        check_evaluations(
                            entity_asset_key(provider, outcome.entity_type),
                            outcome.workspace_id,
                            [configured_outcome(provider, outcome.reason)],
                        ),
                        selected_checks,
                    )
            context.log.info(_summary(outcomes, time.monotonic() - started))
            unfinished = [o for o in outcomes if o.status in UNFINISHED]
            if unfinished:
                description = failure_description(provider, unfinished, len(workspace_ids))
                context.log.error(description)
                raise dg.Failure(
                    description=description,
                    metadata={
                        f"{o.workspace_id}/{o.entity_type}": f"{o.status.value}: {o.reason}"
                        for o in unfinished
                    },
                )
            yield from check_outputs

    return provider_entities
