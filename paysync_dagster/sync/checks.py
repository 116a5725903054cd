"""Set-based integrity checks of the canonical tables, evaluated after a sync.

`evaluate_workspace` is what both callers use: the sync evaluates each workspace's entity right
after writing it (a failed ERROR check stops that workspace's downstream entities), and the
checks run on their own read the same tables without syncing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from paysync_dagster.providers.base import Entity, Provider
from paysync_dagster.store.tables import CANONICAL_TABLES, payment_sync_sessions

NO_DUPLICATE_KEYS = "no_duplicate_keys"
REFERENCES_RESOLVE = "references_resolve"
ROW_COUNT_MATCHES_LISTING = "row_count_matches_listing"

CHECK_DESCRIPTIONS = {
    NO_DUPLICATE_KEYS: "Each (workspace, provider, external id) appears on one row only.",
    REFERENCES_RESOLVE: "Every reference to another entity names a synced, live row.",
    ROW_COUNT_MATCHES_LISTING: (
        "Live rows equal the objects the provider listed in the latest full sync; records that"
        " failed to map explain a difference (WARN), anything else is an error."
    ),
}


@dataclass(frozen=True)
class DanglingReferences:
    """Live rows whose reference column names a row the mirror does not have."""

    column: str
    target: str
    count: int
    sample: list[str]


def duplicate_keys(connection: sa.Connection, table_name: str, workspace_ids: Sequence[str]) -> int:
    """How many (workspace, provider, external id) keys appear on more than one row."""
    table = CANONICAL_TABLES[table_name]
    groups = (
        sa.select(table.c.workspace_id)
        .where(table.c.workspace_id.in_(workspace_ids))
        .group_by(table.c.workspace_id, table.c.provider, table.c.external_id)
        .having(sa.func.count() > 1)
        .subquery()
    )
    return connection.execute(sa.select(sa.func.count()).select_from(groups)).scalar_one()


def dangling_references(
    connection: sa.Connection,
    provider: Provider,
    entity: Entity,
    workspace_ids: Sequence[str],
    *,
    sample_size: int = 5,
) -> list[DanglingReferences]:
    """For each reference of `entity`, the live rows whose target row is missing."""
    table = CANONICAL_TABLES[entity.table]
    found = []
    for column, target_entity in entity.references:
        target_name = provider.entity(target_entity).table
        target = CANONICAL_TABLES[target_name].alias("target")
        dangling = (
            sa.select(table.c.external_id)
            .outerjoin(
                target,
                (target.c.workspace_id == table.c.workspace_id)
                & (target.c.provider == table.c.provider)
                & (target.c.external_id == table.c[column]),
            )
            .where(table.c.workspace_id.in_(workspace_ids))
            .where(table.c.deleted_at.is_(None))
            .where(table.c[column].is_not(None))
            .where(target.c.id.is_(None))
        )
        count = connection.execute(
            sa.select(sa.func.count()).select_from(dangling.subquery())
        ).scalar_one()
        sample = list(connection.scalars(dangling.limit(sample_size))) if count else []
        found.append(DanglingReferences(column, target_name, count, sample))
    return found


def live_rows(
    connection: sa.Connection, table_name: str, *, workspace_ids: Sequence[str], provider: str
) -> dict[str, int]:
    """Rows per workspace that the provider still lists (not soft-deleted), in one query."""
    table = CANONICAL_TABLES[table_name]
    counts = dict.fromkeys(workspace_ids, 0)
    counts.update(
        connection.execute(
            sa.select(table.c.workspace_id, sa.func.count())
            .where(table.c.workspace_id.in_(workspace_ids))
            .where(table.c.provider == provider)
            .where(table.c.deleted_at.is_(None))
            .group_by(table.c.workspace_id)
        ).all()
    )
    return counts


def listed_in_full_listing(connection: sa.Connection, session_id: str) -> tuple[int, int]:
    """(objects listed, records failed) over a session and the failed sessions it resumed."""
    sessions = payment_sync_sessions
    listed = failed = 0
    current: str | None = session_id
    while current is not None:
        row = connection.execute(
            sa.select(
                sessions.c.listed, sessions.c.failed, sessions.c.resumed_from_session_id
            ).where(sessions.c.id == current)
        ).one()
        listed += row.listed
        failed += row.failed
        current = row.resumed_from_session_id
    return listed, failed


@dataclass(frozen=True)
class CheckOutcome:
    """One check's verdict for one workspace and entity; `blocking` when it failed as ERROR."""

    name: str
    passed: bool
    error: bool = True
    description: str = ""
    metadata: dict[str, str | int] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        """Whether this outcome stops the workspace's downstream entities."""
        return not self.passed and self.error


def check_names(entity: Entity) -> list[str]:
    """The checks `entity` carries: references only where it references other entities."""
    names = [NO_DUPLICATE_KEYS, ROW_COUNT_MATCHES_LISTING]
    if entity.references:
        names.append(REFERENCES_RESOLVE)
    return names


def latest_full_sync_session(
    connection: sa.Connection, *, workspace_id: str, provider: str, entity_type: str
) -> str | None:
    """The id of the workspace's latest finished (not failed) full sync of `entity_type`."""
    sessions = payment_sync_sessions
    return connection.execute(
        sa.select(sessions.c.id)
        .where(sessions.c.workspace_id == workspace_id)
        .where(sessions.c.provider == provider)
        .where(sessions.c.entity_type == entity_type)
        .where(sessions.c.status.in_(("completed", "completed_with_errors")))
        .order_by(sessions.c.started_at.desc())
        .limit(1)
    ).scalar()


def evaluate_workspace(
    connection: sa.Connection,
    provider: Provider,
    entity: Entity,
    *,
    workspace_id: str,
    session_id: str | None,
) -> tuple[list[CheckOutcome], int]:
    """Every check of one workspace's `entity`, and its live row count.

    `session_id` is the full sync the row count is compared with (None: no sync has finished,
    which fails that check with a WARN saying so).
    """
    workspaces = [workspace_id]
    duplicates = duplicate_keys(connection, entity.table, workspaces)
    outcomes = [
        CheckOutcome(
            NO_DUPLICATE_KEYS,
            passed=duplicates == 0,
            metadata={"duplicate_keys": duplicates},
        )
    ]
    live = live_rows(connection, entity.table, workspace_ids=workspaces, provider=provider.name)[
        workspace_id
    ]
    outcomes.append(_row_count_outcome(connection, live, session_id))
    if entity.references:
        dangling = dangling_references(connection, provider, entity, workspaces)
        metadata: dict[str, str | int] = {}
        for found in dangling:
            metadata[f"dangling_{found.column}"] = found.count
            if found.sample:
                metadata[f"sample_{found.column}"] = ", ".join(found.sample)
        outcomes.append(
            CheckOutcome(
                REFERENCES_RESOLVE,
                passed=all(found.count == 0 for found in dangling),
                metadata=metadata,
            )
        )
    return outcomes, live


def _row_count_outcome(
    connection: sa.Connection, live: int, session_id: str | None
) -> CheckOutcome:
    if session_id is None:
        return CheckOutcome(
            ROW_COUNT_MATCHES_LISTING,
            passed=False,
            error=False,
            description="no full sync of this workspace has finished yet",
            metadata={"live_rows": live},
        )
    listed, failed = listed_in_full_listing(connection, session_id)
    metadata: dict[str, str | int] = {
        "live_rows": live,
        "listed": listed,
        "failed_to_map": failed,
        "session_id": session_id,
    }
    if live == listed:
        return CheckOutcome(ROW_COUNT_MATCHES_LISTING, passed=True, metadata=metadata)
    explained = abs(live - listed) <= failed
    return CheckOutcome(
        ROW_COUNT_MATCHES_LISTING,
        passed=False,
        error=not explained,
        description=f"live rows {live}, listed {listed}, failed to map {failed}",
        metadata=metadata,
    )
