"""The one way rows reach the canonical tables: batched upserts with an ordering guard.

Full syncs, webhooks and repairs all write through `upsert_rows`. A row is keyed by
`(workspace_id, provider, external_id)` and only overwritten by data whose `source_ts` is at
least as new as what is stored, so a late, older delivery can never undo a newer one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

KEY_COLUMNS = ("workspace_id", "provider", "external_id")
# Columns the upsert never overwrites: the surrogate key and the natural key itself.
_IMMUTABLE_COLUMNS = {"id", *KEY_COLUMNS}


@dataclass
class UpsertCounts:
    """What one upsert did to the rows it was given.

    `unchanged` counts rows that were not rewritten: their content was already stored, or the
    stored row is newer (the ordering guard kept it).
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def as_utc(value: datetime) -> datetime:
    """A timezone-aware UTC datetime; SQLite hands back naive values that are UTC by contract."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@cache
def _upsert_statement(table: sa.Table, dialect_name: str) -> sa.Insert:
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    statement = insert(table)
    excluded = statement.excluded
    changed = (table.c.raw_hash != excluded.raw_hash) | (
        table.c.deleted_at.is_(None) != excluded.deleted_at.is_(None)
    )
    return statement.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS),
        set_={
            c.name: excluded[c.name]
            for c in table.columns
            if c.name not in _IMMUTABLE_COLUMNS and c.name != "first_synced_at"
        },
        # The ordering guard, enforced by the database so concurrent writers cannot race it,
        # and no rewrite of a row whose content is already stored.
        where=(table.c.source_ts <= excluded.source_ts) & changed,
    ).returning(table.c.external_id, table.c.first_synced_at)


def _newest_per_key(rows: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """One row per external id: the newest by source_ts, the later one on a tie."""
    newest: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        current = newest.get(row["external_id"])
        if current is None or as_utc(row["source_ts"]) >= as_utc(current["source_ts"]):
            newest[row["external_id"]] = row
    return newest


def upsert_rows(
    connection: sa.Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    workspace_id: str,
    provider: str,
    synced_at: datetime,
) -> UpsertCounts:
    """Insert or update one batch of canonical rows for one workspace and provider.

    Each row carries `external_id`, the table's typed columns, `raw`, `raw_hash`, `source_ts`
    and `deleted_at`; `synced_at` is this batch's own write time. One statement writes the
    batch; the rows it returns were inserted (their `first_synced_at` is this batch's) or
    updated. The others were unchanged or older than what is stored and are not rewritten,
    but their `synced_at` is set so a full sync knows the provider still lists them. Runs
    inside the caller's transaction.
    """
    if not rows:
        return UpsertCounts()
    by_key = _newest_per_key(rows)
    values = [
        {
            **row,
            "workspace_id": workspace_id,
            "provider": provider,
            "deleted_at": row.get("deleted_at"),
            "synced_at": synced_at,
            "first_synced_at": synced_at,
        }
        for row in by_key.values()
    ]
    written = connection.execute(_upsert_statement(table, connection.dialect.name), values).all()
    inserted = sum(1 for row in written if as_utc(row.first_synced_at) == as_utc(synced_at))
    written_ids = {row.external_id for row in written}
    untouched = [external_id for external_id in by_key if external_id not in written_ids]
    touch_rows(
        connection,
        table,
        untouched,
        workspace_id=workspace_id,
        provider=provider,
        synced_at=synced_at,
    )
    return UpsertCounts(
        inserted=inserted, updated=len(written) - inserted, unchanged=len(untouched)
    )


def touch_rows(
    connection: sa.Connection,
    table: sa.Table,
    external_ids: Sequence[str],
    *,
    workspace_id: str,
    provider: str,
    synced_at: datetime,
) -> None:
    """Record that the provider still lists these rows, without rewriting them.

    One statement per row by its full unique key, sent as one batch: the database answers
    each from the unique index, whatever its statistics say about a freshly loaded table
    (an `IN (...)` list let PostgreSQL scan the whole workspace per batch).
    """
    if external_ids:
        connection.execute(
            sa.update(table)
            .where(table.c.workspace_id == sa.bindparam("key_workspace_id"))
            .where(table.c.provider == sa.bindparam("key_provider"))
            .where(table.c.external_id == sa.bindparam("key_external_id"))
            .values(synced_at=sa.bindparam("new_synced_at")),
            [
                {
                    "key_workspace_id": workspace_id,
                    "key_provider": provider,
                    "key_external_id": external_id,
                    "new_synced_at": synced_at,
                }
                for external_id in external_ids
            ],
        )


def mark_unlisted_as_deleted(
    connection: sa.Connection,
    table: sa.Table,
    *,
    workspace_id: str,
    provider: str,
    listed_since: datetime,
    deleted_at: datetime,
) -> int:
    """Soft-delete rows a completed full listing did not return; returns how many.

    Every row the listing returned had its `synced_at` set at or after `listed_since`, so rows
    still older than that are the ones the provider no longer lists.
    """
    result = connection.execute(
        sa.update(table)
        .where(table.c.workspace_id == workspace_id)
        .where(table.c.provider == provider)
        .where(table.c.deleted_at.is_(None))
        .where(table.c.synced_at < listed_since)
        .values(deleted_at=deleted_at)
    )
    return result.rowcount
