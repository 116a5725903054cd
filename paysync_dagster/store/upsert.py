"""The one way rows reach the canonical tables: batched upserts with an ordering guard.

Full syncs, webhooks and repairs all write through `upsert_rows`. A row is keyed by
`(workspace_id, provider, external_id)` and only overwritten by data whose `source_ts` is at
least as new as what is stored, so a late, older delivery can never undo a newer one.

On PostgreSQL a batch is sent with COPY into a temporary staging table and upserted from
there by one `INSERT … SELECT … ON CONFLICT`: measured on this project's machine, the server
spends about a third of the time it needs for the same rows as a multi-row `VALUES`
statement, and the client skips building and quoting a megabyte of SQL per batch.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import orjson
import sqlalchemy as sa

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


def _on_conflict_update(statement: Any, table: sa.Table) -> sa.Insert:
    """`statement` (a dialect INSERT) turned into the guarded upsert returning what it wrote."""
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


@cache
def _upsert_statement(table: sa.Table) -> sa.Insert:
    # The dialect modules are imported where they are used, for the CLI's start-up: this
    # module is loaded by every `paysync workspace` command, which needs neither.
    from sqlalchemy.dialects import sqlite

    return _on_conflict_update(sqlite.insert(table), table)


_COPY_NULL = "\\N"


def _copy_string(value: str | None) -> str:
    if value is None:
        return _COPY_NULL
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _copy_json(value: Any) -> str:
    if value is None or isinstance(value, str):  # SerializedJson: already JSON text
        return _copy_string(value)
    return _copy_string(orjson.dumps(value).decode())


def _copy_temporal(value: datetime | date | None) -> str:
    return _COPY_NULL if value is None else value.isoformat()


def _copy_boolean(value: bool | None) -> str:
    if value is None:
        return _COPY_NULL
    return "t" if value else "f"


def _copy_number(value: float | None) -> str:
    return _COPY_NULL if value is None else str(value)


def _copy_converter(column: sa.Column, dialect: sa.Dialect) -> Callable[[Any], str]:
    """How one column's Python values are written in COPY's text format."""
    kind = column.type.dialect_impl(dialect)
    if isinstance(kind, sa.JSON):
        return _copy_json
    if isinstance(kind, (sa.DateTime, sa.Date)):
        return _copy_temporal
    if isinstance(kind, sa.Boolean):
        return _copy_boolean
    if isinstance(kind, (sa.Integer, sa.Float, sa.Numeric)):
        return _copy_number
    return _copy_string


# The batch's write time, which every row shares: bound once into the statements that read
# the staging table instead of being formatted, copied and parsed twice per row. The key
# columns stay in the staging table so the touch joins on all three: with a constant
# workspace, a planner without statistics (autovacuum off) chose to scan the workspace's
# whole index range per batch instead of one lookup per staged row.
_BATCH_CONSTANT_COLUMNS = ("synced_at", "first_synced_at")


@dataclass(frozen=True)
class _Staging:
    """How a batch reaches one canonical table on PostgreSQL: COPY into a session-private
    staging table, then set-based upsert and touch from there."""

    create: str
    truncate: str
    copy: str
    fields: tuple[tuple[str, Callable[[Any], str]], ...]
    upsert: sa.Insert
    touch: sa.Update


@cache
def _staging(table: sa.Table) -> _Staging:
    from sqlalchemy.dialects import postgresql

    stage = sa.Table(
        f"paysync_stage_{table.name}",
        sa.MetaData(),
        *(
            sa.Column(c.name, c.type)
            for c in table.columns
            if c.name != "id" and c.name not in _BATCH_CONSTANT_COLUMNS
        ),
        prefixes=["TEMPORARY"],
    )
    dialect = postgresql.dialect()
    # The bind name differs from the column's, which SQLAlchemy reserves in INSERT and UPDATE.
    synced_at = sa.bindparam("batch_synced_at", type_=table.c.synced_at.type)
    source = sa.select(synced_at, synced_at, *stage.columns)
    # Each COPY line starts with the workspace and provider, which the whole batch shares.
    per_row = [c for c in stage.columns if c.name not in ("workspace_id", "provider")]
    copied = ("workspace_id", "provider", *(c.name for c in per_row))
    return _Staging(
        create=str(sa.schema.CreateTable(stage, if_not_exists=True).compile(dialect=dialect)),
        truncate=f"TRUNCATE {stage.name}",
        copy=f"COPY {stage.name} ({', '.join(copied)}) FROM STDIN",
        fields=tuple((c.name, _copy_converter(c, dialect)) for c in per_row),
        upsert=_on_conflict_update(
            postgresql.insert(table).from_select(
                [*_BATCH_CONSTANT_COLUMNS, *(c.name for c in stage.columns)], source
            ),
            table,
        ),
        # Rows the upsert did not rewrite still get this batch's synced_at (written rows
        # already have it): one join on the unique key instead of a statement per row.
        touch=sa.update(table)
        .where(
            *(table.c[name] == stage.c[name] for name in KEY_COLUMNS),
            table.c.synced_at < synced_at,
        )
        .values(synced_at=synced_at),
    )


def _write_postgresql(
    connection: sa.Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    workspace_id: str,
    provider: str,
    synced_at: datetime,
) -> list[sa.Row]:
    """COPY the batch, upsert it and touch the rows it did not rewrite; returns the written."""
    staging = _staging(table)
    prefix = f"{_copy_string(workspace_id)}\t{_copy_string(provider)}\t"
    buffer = io.StringIO(
        "".join(
            prefix + "\t".join([convert(row.get(name)) for name, convert in staging.fields]) + "\n"
            for row in rows
        )
    )
    connection.exec_driver_sql(staging.create)
    connection.exec_driver_sql(staging.truncate)
    with connection.connection.dbapi_connection.cursor() as cursor:
        cursor.copy_expert(staging.copy, buffer, size=1 << 20)
    batch = {"batch_synced_at": synced_at}
    written = connection.execute(staging.upsert, batch).all()
    if len(written) < len(rows):
        connection.execute(staging.touch, batch)
    return written


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
    if connection.dialect.name == "postgresql":
        written = _write_postgresql(
            connection, table, list(by_key.values()), workspace_id=workspace_id,
            provider=provider, synced_at=synced_at,
        )  # fmt: skip
    else:
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
        written = connection.execute(_upsert_statement(table), values).all()
        written_ids = {row.external_id for row in written}
        touch_rows(
            connection,
            table,
            [external_id for external_id in by_key if external_id not in written_ids],
            workspace_id=workspace_id,
            provider=provider,
            synced_at=synced_at,
        )
    inserted = sum(1 for row in written if as_utc(row.first_synced_at) == as_utc(synced_at))
    return UpsertCounts(
        inserted=inserted, updated=len(written) - inserted, unchanged=len(by_key) - len(written)
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
