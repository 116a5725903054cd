"""Blocking integrity checks on the Stripe mirror, evaluated in the run that wrote it.

A failed ERROR check stops downstream Stripe assets, so an invoice sync never runs on top of
customers that did not land completely.
"""

from collections.abc import Mapping, Sequence

import dagster as dg
import sqlalchemy as sa

from paysync_dagster.sync import checks
from paysync_dagster.sync.full_sync import EntitySyncResult

NO_DUPLICATE_KEYS = "no_duplicate_keys"
REFERENCES_RESOLVE = "references_resolve"
ROW_COUNT_MATCHES_LISTING = "row_count_matches_listing"


def check_specs(asset_key: dg.AssetKey, entity_type: str) -> list[dg.AssetCheckSpec]:
    """The checks one Stripe entity asset carries."""
    names = [NO_DUPLICATE_KEYS, ROW_COUNT_MATCHES_LISTING]
    if entity_type in checks.REFERENCES:
        names.append(REFERENCES_RESOLVE)
    descriptions = {
        NO_DUPLICATE_KEYS: "Each (workspace, provider, external id) appears on one row only.",
        REFERENCES_RESOLVE: "Every reference to another Stripe entity names a synced row.",
        ROW_COUNT_MATCHES_LISTING: "Live rows equal the objects Stripe listed in the sync.",
    }
    return [
        dg.AssetCheckSpec(name, asset=asset_key, blocking=True, description=descriptions[name])
        for name in names
    ]


def evaluate(
    connection: sa.Connection,
    entity_type: str,
    provider: str,
    results: Mapping[str, EntitySyncResult],
) -> list[dg.AssetCheckResult]:
    """Evaluate every check of `entity_type` over the workspaces synced in this run."""
    workspace_ids: Sequence[str] = sorted(results)
    outcome = [_no_duplicate_keys(connection, entity_type, workspace_ids)]
    outcome.append(_row_count_matches_listing(connection, entity_type, provider, results))
    if entity_type in checks.REFERENCES:
        outcome.append(_references_resolve(connection, entity_type, workspace_ids))
    return outcome


def _no_duplicate_keys(
    connection: sa.Connection, entity_type: str, workspace_ids: Sequence[str]
) -> dg.AssetCheckResult:
    duplicates = checks.duplicate_keys(connection, entity_type, workspace_ids)
    return dg.AssetCheckResult(
        check_name=NO_DUPLICATE_KEYS,
        passed=duplicates == 0,
        metadata={"duplicate_keys": duplicates, "workspaces": len(workspace_ids)},
    )


def _references_resolve(
    connection: sa.Connection, entity_type: str, workspace_ids: Sequence[str]
) -> dg.AssetCheckResult:
    dangling = checks.dangling_references(connection, entity_type, workspace_ids)
    metadata: dict[str, object] = {}
    for found in dangling:
        metadata[f"dangling_{found.column}"] = found.count
        if found.sample:
            metadata[f"sample_{found.column}"] = ", ".join(found.sample)
    return dg.AssetCheckResult(
        check_name=REFERENCES_RESOLVE,
        passed=all(found.count == 0 for found in dangling),
        metadata=metadata,
    )


def _row_count_matches_listing(
    connection: sa.Connection,
    entity_type: str,
    provider: str,
    results: Mapping[str, EntitySyncResult],
) -> dg.AssetCheckResult:
    """Live rows must equal what Stripe listed; records that failed to map (already recorded
    as sync events) may explain a difference, which then only warns."""
    mismatches: dict[str, str] = {}
    explained = True
    live_by_workspace = checks.live_rows(
        connection, entity_type, workspace_ids=sorted(results), provider=provider
    )
    for workspace_id, result in sorted(results.items()):
        listed, failed = checks.listed_in_full_listing(connection, result.session_id)
        live = live_by_workspace[workspace_id]
        if live != listed:
            mismatches[workspace_id] = f"live rows {live}, listed {listed}, failed to map {failed}"
            explained &= abs(live - listed) <= failed
    severity = dg.AssetCheckSeverity.WARN if explained else dg.AssetCheckSeverity.ERROR
    return dg.AssetCheckResult(
        check_name=ROW_COUNT_MATCHES_LISTING,
        passed=not mismatches,
        severity=severity,
        metadata={"workspaces_checked": len(results), **mismatches},
    )
