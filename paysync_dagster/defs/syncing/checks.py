"""Integrity checks on a provider's mirror, per workspace partition.

The sync evaluates each workspace's checks right after writing it and records them on that
workspace's partition; a failed ERROR check stops that workspace's downstream entities (and
only that workspace's). The same checks also run on their own from the UI, reading the
tables without syncing (select only the checks in the UI: the sync step then reads the
tables and syncs nothing). Providers with a mock mode also carry `<provider>_configured`, a
WARN check that fails, saying why, while a workspace's credentials are placeholders.
"""

import warnings
from collections.abc import Iterable, Iterator, Set

import dagster as dg
import sqlalchemy as sa

from paysync_dagster.defs.resources import VaultResource
from paysync_dagster.defs.syncing.keys import configured_check_name, entity_asset_key
from paysync_dagster.defs.workspaces.partitions import workspace_partitions
from paysync_dagster.providers.base import Provider
from paysync_dagster.providers.configure import stored_mock_mode_reason
from paysync_dagster.store.workspaces import WorkspaceError
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


def configured_outcome(provider: Provider, mock_mode_reason: str | None) -> CheckOutcome:
    """The `<provider>_configured` verdict: passes unless the workspace is in mock mode."""
    return CheckOutcome(
        configured_check_name(provider),
        passed=mock_mode_reason is None,
        error=False,
        description=mock_mode_reason or "",
        metadata={"mock_mode": int(mock_mode_reason is not None)},
    )


def _specs(provider: Provider) -> list[dg.AssetCheckSpec]:
    specs = []
    for entity in provider.entities:
        names = checks.check_names(entity)
        if provider.has_mock_mode:
            names.append(configured_check_name(provider))
        descriptions = {
            **checks.CHECK_DESCRIPTIONS,
            configured_check_name(provider): (
                f"The workspace has real {provider.title} credentials; WARN, saying why, while"
                " they are missing or placeholders (mock mode: nothing is requested)."
            ),
        }
        specs.extend(
            dg.AssetCheckSpec(
                name,
                asset=entity_asset_key(provider, entity.name),
                description=descriptions[name],
                blocking=name != configured_check_name(provider),
                partitions_def=workspace_partitions,
            )
            for name in names
        )
    return specs


def check_specs(provider: Provider) -> list[dg.AssetCheckSpec]:
    """Every check of `provider`'s assets, partitioned by workspace."""
    # Partitioned checks are a preview in Dagster 1.13; they are what puts each workspace's
    # verdict on its own partition, so the preview warning is silenced here only.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=dg.PreviewWarning)
        return _specs(provider)


def evaluations_from_tables(
    provider: Provider,
    engine: sa.Engine,
    vault: VaultResource,
    workspace_ids: Iterable[str],
    selected: Set[dg.AssetCheckKey],
) -> Iterator[dg.AssetCheckEvaluation]:
    """The selected checks for each workspace, read from the tables without syncing.

    Not blocking: nothing runs downstream of a check-only step, so a failed check is reported
    as failed without failing the run.
    """
    entities = [
        e for e in provider.entities if any(k.asset_key.path[-1] == e.name for k in selected)
    ]
    for workspace_id in workspace_ids:
        outcomes_by_entity = {}
        with engine.connect() as connection:
            for entity in entities:
                session_id = checks.latest_full_sync_session(
                    connection,
                    workspace_id=workspace_id,
                    provider=provider.name,
                    entity_type=entity.name,
                )
                outcomes_by_entity[entity.name], _ = checks.evaluate_workspace(
                    connection, provider, entity, workspace_id=workspace_id, session_id=session_id
                )
        if provider.has_mock_mode:
            reason = _mock_mode_reason(provider, engine, vault, workspace_id)
            for outcomes in outcomes_by_entity.values():
                outcomes.append(configured_outcome(provider, reason))
        for entity_type, outcomes in outcomes_by_entity.items():
            asset_key = entity_asset_key(provider, entity_type)
            yield from check_evaluations(
                asset_key,
                workspace_id,
                (o for o in outcomes if dg.AssetCheckKey(asset_key, o.name) in selected),
                blocking=False,
            )


def _mock_mode_reason(
    provider: Provider, engine: sa.Engine, vault: VaultResource, workspace_id: str
) -> str | None:
    try:
        return stored_mock_mode_reason(
            engine, vault.get_vault(), workspace_id=workspace_id, provider=provider
        )
    except WorkspaceError as error:
        return str(error)
