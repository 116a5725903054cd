"""Set-based integrity checks of the canonical tables, evaluated after a sync."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from paysync_dagster.store.tables import CANONICAL_TABLES, payment_sync_sessions

# Which typed columns reference which table, per entity: the lineage the checks prove.
REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "prices": (("product_external_id", "products"),),
    "subscriptions": (("customer_external_id", "customers"), ("price_external_id", "prices")),
    "invoices": (
        ("customer_external_id", "customers"),
        ("subscription_external_id", "subscriptions"),
    ),
}


@dataclass(frozen=True)
class DanglingReferences:
    """Live rows whose reference column names a row the mirror does not have."""

    column: str
    target: str
    count: int
    sample: list[str]


def duplicate_keys(
    connection: sa.Connection, entity_type: str, workspace_ids: Sequence[str]
) -> int:
    """How many (workspace, provider, external id) keys appear on more than one row."""
    table = CANONICAL_TABLES[entity_type]
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
    entity_type: str,
    workspace_ids: Sequence[str],
    *,
    sample_size: int = 5,
) -> list[DanglingReferences]:
    """For each reference of `entity_type`, the live rows whose target is missing."""
    table = CANONICAL_TABLES[entity_type]
    found = []
    for column, target_name in REFERENCES.get(entity_type, ()):
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
    connection: sa.Connection, entity_type: str, *, workspace_ids: Sequence[str], provider: str
) -> dict[str, int]:
    """Rows per workspace that the provider still lists (not soft-deleted), in one query."""
    table = CANONICAL_TABLES[entity_type]
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
