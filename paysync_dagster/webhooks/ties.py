"""Ordering ties: an event that cannot be ranked against the row already stored.

Stripe's `created` has one-second resolution, so every event of one second gets the same
`source_ts`, and the ordering guard lets whichever is applied last win. That is right when
events arrive in order, and wrong when an older one is applied after a newer one (a lease
that expired, a redelivery). The processor refetches the object when it can; when it cannot,
the tie is recorded here, as a `payment_sync_events` row, until a completed full sync of the
workspace's entity (whose rows carry sub-second fetch times) has overwritten the row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from paysync_dagster.providers.registry import get_provider
from paysync_dagster.providers.stripe.entities import PROVIDER
from paysync_dagster.store import sessions
from paysync_dagster.store.tables import (
    CANONICAL_TABLES,
    payment_sync_events,
    payment_sync_sessions,
)
from paysync_dagster.store.upsert import as_utc

TIE_EVENT_TYPE = "webhook_ordering_tie"
_events = payment_sync_events
_sessions = payment_sync_sessions


@dataclass(frozen=True)
class Tie:
    """An object whose stored row may be stale: written from an event of the same second."""

    workspace_id: str
    entity: str
    external_id: str
    inbox_id: int


def stored_versions(
    connection: sa.Connection, workspace_id: str, entity: str, external_ids: Sequence[str]
) -> dict[str, tuple[datetime, str]]:
    """`external_id -> (source_ts, raw_hash)` of the stored rows among `external_ids`."""
    table = CANONICAL_TABLES[get_provider(PROVIDER).entity(entity).table]
    rows = connection.execute(
        sa.select(table.c.external_id, table.c.source_ts, table.c.raw_hash).where(
            table.c.workspace_id == workspace_id,
            table.c.provider == PROVIDER,
            table.c.external_id.in_(list(external_ids)),
        )
    )
    return {row.external_id: (as_utc(row.source_ts), row.raw_hash) for row in rows}


def is_tie(stored: tuple[datetime, str] | None, row: Mapping[str, Any]) -> bool:
    """Whether `row` differs from the stored version but carries the same `source_ts`."""
    if stored is None:
        return False
    return stored[0] == as_utc(row["source_ts"]) and stored[1] != row["raw_hash"]


def record_ties(connection: sa.Connection, ties: Sequence[Tie]) -> None:
    """Record ties for the inbox check and the operator; the next full sync resolves them."""
    for tie in ties:
        sessions.record_events(
            connection,
            [
                {
                    "event_type": TIE_EVENT_TYPE,
                    "entity_type": tie.entity,
                    "external_id": tie.external_id,
                    "message": "a webhook event of the same second as the stored row was applied"
                    " without a refetch; the next full sync repairs the row if it is stale",
                    "details": {"inbox_id": tie.inbox_id},
                }
            ],
            workspace_id=tie.workspace_id,
            provider=PROVIDER,
            session_id=None,
        )


def unrepaired_ties(connection: sa.Connection, *, limit: int = 20) -> tuple[int, list[Tie]]:
    """Ties recorded after the last completed full sync of their workspace's entity: how many,
    and the newest `limit`."""
    last_full_sync = (
        sa.select(sa.func.max(_sessions.c.finished_at))
        .where(
            _sessions.c.workspace_id == _events.c.workspace_id,
            _sessions.c.provider == _events.c.provider,
            _sessions.c.entity_type == _events.c.entity_type,
            _sessions.c.status.in_((sessions.COMPLETED, sessions.COMPLETED_WITH_ERRORS)),
        )
        .scalar_subquery()
    )
    unrepaired = sa.and_(
        _events.c.event_type == TIE_EVENT_TYPE,
        sa.or_(last_full_sync.is_(None), _events.c.created_at > last_full_sync),
    )
    count = connection.scalar(sa.select(sa.func.count()).where(unrepaired)) or 0
    rows = connection.execute(
        sa.select(
            _events.c.workspace_id, _events.c.entity_type, _events.c.external_id, _events.c.details
        )
        .where(unrepaired)
        .order_by(_events.c.id.desc())
        .limit(limit)
    )
    return count, [
        Tie(
            row.workspace_id,
            row.entity_type,
            row.external_id,
            (row.details or {}).get("inbox_id", 0),
        )
        for row in rows
    ]
