"""Many workspaces' entities in one run, each workspace isolated from the others.

Each workspace syncs on its own thread, its entities in lineage order. One workspace's failure
never touches another's; within a workspace, an entity whose upstream failed (or failed an
ERROR check) is skipped with the reason, while its other entities still sync. Outcomes are
yielded to the caller's thread as they happen, so the Dagster layer can record each
workspace's materialization the moment its data is committed.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum

from paysync_dagster.providers.errors import ProviderAuthError, ProviderUnreachableError
from paysync_dagster.redaction import describe_error
from paysync_dagster.store.vault import VaultError
from paysync_dagster.store.workspaces import WorkspaceError
from paysync_dagster.sync.checks import CheckOutcome
from paysync_dagster.sync.full_sync import EntitySyncResult

# Errors that no other entity of the same workspace can escape: its remaining entities are
# skipped with the reason instead of each failing the same way.
WORKSPACE_FATAL_ERRORS = (ProviderAuthError, ProviderUnreachableError, WorkspaceError, VaultError)


class OutcomeStatus(StrEnum):
    """What became of one workspace's entity in a run."""

    SYNCED = "synced"
    FAILED = "failed"
    SKIPPED = "skipped"
    # Materialized by an earlier attempt of the same run group (re-execution from failure).
    ALREADY_DONE = "already_done"
    # Not synced, by design rather than failure: the workspace's credentials are missing or
    # placeholders (mock mode), or it has no configuration for this provider at all.
    MOCK_MODE = "mock_mode"
    NOT_CONFIGURED = "not_configured"
    # Left to another run in progress that is syncing the same workspace's entity right now.
    SYNCING_ELSEWHERE = "syncing_elsewhere"


class SkipWorkspace(Exception):
    """Raised by a sync to leave the workspace's entity alone, saying why."""

    def __init__(self, status: OutcomeStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class EntityOutcome:
    """One workspace's entity: its sync result and checks, or why it failed or was skipped."""

    workspace_id: str
    entity_type: str
    status: OutcomeStatus
    result: EntitySyncResult | None = None
    checks: tuple[CheckOutcome, ...] = ()
    live_rows: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """Whether downstream entities of this workspace may build on it."""
        if self.status is OutcomeStatus.ALREADY_DONE:
            return True
        return self.status is OutcomeStatus.SYNCED and not any(c.blocking for c in self.checks)


SyncOne = Callable[[str, str], EntitySyncResult]
EvaluateOne = Callable[[str, EntitySyncResult], tuple[list[CheckOutcome], int]]


def _workspace_chain(
    workspace_id: str,
    entity_types: Sequence[str],
    lineage: Mapping[str, Sequence[str]],
    already_done: Set[tuple[str, str]],
    sync_one: SyncOne,
    evaluate: EvaluateOne,
    emit: Callable[[EntityOutcome], None],
) -> None:
    unusable: dict[str, str] = {}  # entity -> why downstream cannot build on it
    fatal: str | None = None
    for entity_type in entity_types:
        if (workspace_id, entity_type) in already_done:
            emit(EntityOutcome(workspace_id, entity_type, OutcomeStatus.ALREADY_DONE))
            continue
        if fatal is not None:
            emit(EntityOutcome(workspace_id, entity_type, OutcomeStatus.SKIPPED, reason=fatal))
            unusable[entity_type] = "was skipped"
            continue
        blocked = [upstream for upstream in lineage[entity_type] if upstream in unusable]
        if blocked:
            reason = "; ".join(f"upstream {up} {unusable[up]}" for up in blocked)
            emit(EntityOutcome(workspace_id, entity_type, OutcomeStatus.SKIPPED, reason=reason))
            unusable[entity_type] = "was skipped"
            continue
        try:
            result = sync_one(workspace_id, entity_type)
            checks, live_rows = evaluate(workspace_id, result)
        except SkipWorkspace as skip:
            # Each entity says so itself (a mock-mode session per entity), cheaply: nothing
            # is requested of the provider.
            emit(EntityOutcome(workspace_id, entity_type, skip.status, reason=skip.reason))
            continue
        except Exception as error:
            reason = describe_error(error)
            emit(EntityOutcome(workspace_id, entity_type, OutcomeStatus.FAILED, reason=reason))
            unusable[entity_type] = "failed"
            if isinstance(error, WORKSPACE_FATAL_ERRORS):
                fatal = f"not attempted: {entity_type} failed with {reason}"
            continue
        outcome = EntityOutcome(
            workspace_id,
            entity_type,
            OutcomeStatus.SYNCED,
            result=result,
            checks=tuple(checks),
            live_rows=live_rows,
        )
        if not outcome.ok:
            failed = ", ".join(check.name for check in checks if check.blocking)
            unusable[entity_type] = f"failed its checks ({failed})"
        emit(outcome)


def run_workspaces(
    workspace_ids: Sequence[str],
    entity_types: Sequence[str],
    lineage: Mapping[str, Sequence[str]],
    *,
    sync_one: SyncOne,
    evaluate: EvaluateOne,
    already_done: Set[tuple[str, str]] = frozenset(),
    max_concurrent_workspaces: int = 8,
) -> Iterator[EntityOutcome]:
    """Sync `entity_types` (in lineage order) for every workspace; yield each outcome.

    `already_done` holds (workspace, entity) pairs an earlier attempt already materialized:
    they are not synced again, and count as good upstream.
    """
    outcomes: queue.Queue[EntityOutcome | None] = queue.Queue()

    def chain(workspace_id: str) -> None:
        try:
            _workspace_chain(
                workspace_id,
                entity_types,
                lineage,
                already_done,
                sync_one,
                evaluate,
                outcomes.put,
            )
        finally:
            outcomes.put(None)  # this workspace is done

    workers = max(1, min(max_concurrent_workspaces, len(workspace_ids)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="paysync-workspace") as pool:
        for workspace_id in workspace_ids:
            pool.submit(chain, workspace_id)
        remaining = len(workspace_ids)
        while remaining:
            outcome = outcomes.get()
            if outcome is None:
                remaining -= 1
            else:
                yield outcome
