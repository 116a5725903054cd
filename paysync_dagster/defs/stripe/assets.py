"""Stripe entities mirrored per workspace: customers, products, prices, subscriptions, invoices.

One asset per entity, partitioned by workspace. A run may carry many workspaces (backfills
batch partitions into a single run) and syncs them concurrently, each within its own Stripe
rate budget; every workspace gets its own sync session and its own materialization metadata.
"""

import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator

import dagster as dg

from paysync_dagster.defs.resources import DatabaseResource, StripeSyncResource, VaultResource
from paysync_dagster.defs.stripe import checks as stripe_checks
from paysync_dagster.defs.workspaces.partitions import workspace_partitions
from paysync_dagster.redaction import describe_error
from paysync_dagster.sync.full_sync import EntitySyncResult
from paysync_dagster.sync.stripe_sync import PROVIDER, sync_stripe_entity_for_workspaces

STRIPE_GROUP = "stripe"
STRIPE_POOL = "stripe"
PROGRESS_LOG_INTERVAL_SECONDS = 2.0

# Upstream entities each entity's rows reference: the lineage the reference checks verify.
STRIPE_LINEAGE: dict[str, tuple[str, ...]] = {
    "customers": (),
    "products": (),
    "prices": ("products",),
    "subscriptions": ("customers", "prices"),
    "invoices": ("customers", "subscriptions"),
}

DESCRIPTIONS = {
    "customers": "Every Stripe customer of the workspace: who is billed.",
    "products": "The workspace's Stripe product catalogue.",
    "prices": "What each product costs, one-off or recurring.",
    "subscriptions": "Recurring agreements between customers and prices: the revenue base.",
    "invoices": "Bills issued to customers, with amounts due and paid.",
}


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

    def __init__(self, log: dg.DagsterLogManager, entity_type: str, workspaces: int) -> None:
        self._log = log
        self._entity_type = entity_type
        self._workspaces = workspaces
        self._latest: dict[str, EntitySyncResult] = {}
        self._started = time.monotonic()
        self._last_logged = self._started
        self._lock = threading.Lock()

    def __call__(self, result: EntitySyncResult) -> None:
        now = time.monotonic()
        with self._lock:
            self._latest[result.workspace_id] = result
            if now - self._last_logged < PROGRESS_LOG_INTERVAL_SECONDS:
                return
            self._last_logged = now
            listed = sum(r.listed for r in self._latest.values())
            retries = sum(r.retries for r in self._latest.values())
            failed = sum(r.failed for r in self._latest.values())
            syncing = len(self._latest)
        self._log.info(
            f"{self._entity_type}: {listed:,} listed so far across {syncing} of"
            f" {self._workspaces} workspace(s) ({failed} failed records, {retries} retries,"
            f" {listed / (now - self._started):,.0f} objects/s)"
        )


def _summary(entity_type: str, results: dict[str, EntitySyncResult], seconds: float) -> str:
    statuses = ", ".join(
        f"{count} {status}"
        for status, count in sorted(Counter(r.status for r in results.values()).items())
    )
    listed = sum(r.listed for r in results.values())
    return (
        f"{entity_type}: {len(results)} workspace(s) synced ({statuses}):"
        f" {listed:,} listed, {sum(r.inserted for r in results.values()):,} inserted,"
        f" {sum(r.updated for r in results.values()):,} updated,"
        f" {sum(r.deleted for r in results.values()):,} deleted in {seconds:.1f}s;"
        " per-workspace figures are in each partition's materialization metadata"
    )


def build_stripe_asset(entity_type: str) -> dg.AssetsDefinition:
    """The asset that fully syncs one Stripe entity for the run's workspaces."""
    key = dg.AssetKey([STRIPE_GROUP, entity_type])

    @dg.asset(
        key=key,
        deps=[dg.AssetKey([STRIPE_GROUP, upstream]) for upstream in STRIPE_LINEAGE[entity_type]],
        partitions_def=workspace_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=STRIPE_POOL,
        group_name=STRIPE_GROUP,
        kinds={"stripe", "sql"},
        description=DESCRIPTIONS[entity_type],
        check_specs=stripe_checks.check_specs(key, entity_type),
        metadata={"table": dg.MetadataValue.text(entity_type)},
    )
    def stripe_entity(
        context: dg.AssetExecutionContext,
        database: DatabaseResource,
        vault: VaultResource,
        stripe_sync: StripeSyncResource,
    ) -> Iterator[dg.AssetMaterialization | dg.MaterializeResult]:
        workspace_ids = list(context.partition_keys)
        engine = database.get_engine()
        context.log.info(f"syncing Stripe {entity_type} for {len(workspace_ids)} workspace(s)")
        started = time.monotonic()
        outcomes = sync_stripe_entity_for_workspaces(
            engine,
            vault.get_vault(),
            workspace_ids,
            entity_type=entity_type,
            options=stripe_sync.options(),
            dagster_run_id=context.run.run_id,
            on_progress=_RunProgressLog(context.log, entity_type, len(workspace_ids)),
        )
        results = {ws: r for ws, r in outcomes.items() if isinstance(r, EntitySyncResult)}
        context.log.info(_summary(entity_type, results, time.monotonic() - started))
        failures = {ws: e for ws, e in outcomes.items() if not isinstance(e, EntitySyncResult)}
        if failures:
            # A failed step marks every workspace of the run failed, yet the ones that synced
            # committed their data: record them as materialized first, so that only the failed
            # workspaces show as failed (and a backfill's retry re-runs only those).
            for workspace_id, result in results.items():
                yield dg.AssetMaterialization(
                    asset_key=key, partition=workspace_id, metadata=_result_metadata(result)
                )
            raise dg.Failure(
                description=(
                    f"Stripe {entity_type} sync failed for {len(failures)} of"
                    f" {len(workspace_ids)} workspace(s); the others completed, kept their data"
                    " and are recorded as materialized"
                ),
                metadata={ws: describe_error(error) for ws, error in sorted(failures.items())},
            )
        for workspace_id, result in results.items():
            context.add_asset_metadata(_result_metadata(result), partition_key=workspace_id)
        with engine.connect() as connection:
            check_results = stripe_checks.evaluate(connection, entity_type, PROVIDER, results)
        yield dg.MaterializeResult(check_results=check_results)

    return stripe_entity


# Batching partitions into one run needs `backfill_policy`, still marked beta in Dagster; its
# warning would otherwise print wherever the code location loads.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    stripe_assets = [build_stripe_asset(entity_type) for entity_type in STRIPE_LINEAGE]
