"""The durable webhook inbox: insert once per provider event, select, replay, report.

Statuses: `pending` (waiting for its next attempt), `processing` (claimed by a worker under a
lease), `applied`, `ignored` (a type paysync does not mirror) and `dead` (failed too often;
waits for a replay).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from paysync_dagster.providers.stripe.entities import PROVIDER
from paysync_dagster.store.database import SerializedJson
from paysync_dagster.store.tables import webhook_inbox
from paysync_dagster.store.upsert import as_utc
from paysync_dagster.webhooks.events import StripeEvent

PENDING = "pending"
PROCESSING = "processing"
APPLIED = "applied"
IGNORED = "ignored"
DEAD = "dead"
STATUSES = (PENDING, PROCESSING, APPLIED, IGNORED, DEAD)

WEBHOOK = "webhook"
GAP_FILL = "gap_fill"

_inbox = webhook_inbox


class SelectionError(ValueError):
    """An event selection was refused; the message names the bad criterion."""


def parse_time(value: str, what: str) -> datetime:
    """An ISO 8601 time from an operator (CLI or run config); without a zone it is UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SelectionError(
            f"invalid {what} {value[:40]!r}: expected an ISO 8601 time, e.g. 2026-01-31T12:00"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


@dataclass(frozen=True)
class InboxItem:
    """One verified event on its way into the inbox."""

    workspace_id: str
    event: StripeEvent
    source: str = WEBHOOK


def insert_events(
    connection: sa.Connection, items: Sequence[InboxItem], *, received_at: datetime
) -> set[tuple[str, str]]:
    """Insert the items that are not in the inbox yet; returns the (workspace, event id) pairs
    inserted. Redeliveries of stored events are left as they are, whatever their status."""
    if not items:
        return set()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    rows = {
        (item.workspace_id, item.event.id): {
            "workspace_id": item.workspace_id,
            "provider": PROVIDER,
            "provider_event_id": item.event.id,
            "event_type": item.event.type,
            "source": item.source,
            "payload": SerializedJson(item.event.body.decode()),
            "event_created_at": item.event.created,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": received_at,
            "received_at": received_at,
        }
        for item in items
    }
    statement = (
        insert(_inbox)
        .on_conflict_do_nothing(index_elements=["workspace_id", "provider", "provider_event_id"])
        .returning(_inbox.c.workspace_id, _inbox.c.provider_event_id)
    )
    inserted = connection.execute(statement, list(rows.values())).all()
    return {(row.workspace_id, row.provider_event_id) for row in inserted}


@dataclass(frozen=True)
class Selection:
    """Which inbox events an operator means: by provider event id, status, workspace and
    receipt time. At least one criterion is required so nothing is replayed by accident."""

    event_ids: tuple[str, ...] = ()
    status: str | None = None
    workspace_id: str | None = None
    received_after: datetime | None = None
    received_before: datetime | None = None
    limit: int = 1000
    _require_criterion: bool = field(default=True, repr=False)

    def __post_init__(self) -> None:
        # In UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts (+16:00).
        for name in ("received_after", "received_before"):
            value = getattr(self, name)
            if value is not None:
                try:
                    object.__setattr__(self, name, as_utc(value))
                except OverflowError:
                    raise SelectionError(f"{name} is out of range") from None
        if self.status is not None and self.status not in STATUSES:
            raise SelectionError(
                f"unknown status {self.status[:40]!r}: choose one of {', '.join(STATUSES)}"
            )
        if not 1 <= self.limit <= 100_000:
            raise SelectionError("limit must be between 1 and 100000")
        if (
            self.received_after is not None
            and self.received_before is not None
            and self.received_after >= self.received_before
        ):
            raise SelectionError("received_after must be earlier than received_before")
        if self._require_criterion and not (
            self.event_ids
            or self.status
            or self.workspace_id
            or self.received_after
            or self.received_before
        ):
            raise SelectionError("select events by id, status, workspace or time range")

    @classmethod
    def everything(cls, limit: int = 1000) -> Selection:
        """Every event, newest first (for listing, never for replay)."""
        return cls(limit=limit, _require_criterion=False)

    def where(self) -> list[sa.ColumnElement[bool]]:
        """The SQL conditions of this selection."""
        conditions: list[sa.ColumnElement[bool]] = []
        if self.event_ids:
            conditions.append(_inbox.c.provider_event_id.in_(self.event_ids))
        if self.status is not None:
            conditions.append(_inbox.c.status == self.status)
        if self.workspace_id is not None:
            conditions.append(_inbox.c.workspace_id == self.workspace_id)
        if self.received_after is not None:
            conditions.append(_inbox.c.received_at >= self.received_after)
        if self.received_before is not None:
            conditions.append(_inbox.c.received_at < self.received_before)
        return conditions


@dataclass(frozen=True)
class InboxEvent:
    """What may be shown about an inbox event: no payload."""

    id: int
    workspace_id: str
    provider_event_id: str
    event_type: str
    source: str
    status: str
    attempts: int
    last_error: str | None
    received_at: datetime
    processed_at: datetime | None


def list_events(engine: sa.Engine, selection: Selection) -> list[InboxEvent]:
    """Selected events, newest first, at most `selection.limit`."""
    columns = [_inbox.c[name] for name in InboxEvent.__dataclass_fields__]
    query = (
        sa.select(*columns)
        .where(*selection.where())
        .order_by(_inbox.c.id.desc())
        .limit(selection.limit)
    )
    with engine.connect() as connection:
        return [InboxEvent(**row._mapping) for row in connection.execute(query)]


def replay(engine: sa.Engine, selection: Selection, *, now: datetime | None = None) -> list[int]:
    """Make the selected events due again with a fresh attempt count; returns their inbox ids.

    Events a worker holds right now (`processing`) are left to it. Replaying an applied event
    is harmless: the ordering guard keeps newer rows.
    """
    now = now or datetime.now(UTC)
    with engine.begin() as connection:
        ids = list(
            connection.scalars(
                sa.select(_inbox.c.id)
                .where(*selection.where(), _inbox.c.status != PROCESSING)
                .order_by(_inbox.c.id)
                .limit(selection.limit)
            )
        )
        for chunk in _chunks(ids, 500):
            connection.execute(
                sa.update(_inbox)
                .where(_inbox.c.id.in_(chunk))
                .values(
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    locked_by=None,
                    locked_until=None,
                )
            )
    return ids


def _chunks(values: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass(frozen=True)
class Backlog:
    """How far behind the processor is: events due now, and the oldest one's receipt time."""

    due: int
    oldest_received_at: datetime | None


def backlog(connection: sa.Connection, *, now: datetime | None = None) -> Backlog:
    """Events waiting to be processed: pending and due, or held under an expired lease."""
    now = now or datetime.now(UTC)
    waiting = ((_inbox.c.status == PENDING) & (_inbox.c.next_attempt_at <= now)) | (
        (_inbox.c.status == PROCESSING) & (_inbox.c.locked_until < now)
    )
    row = connection.execute(
        sa.select(sa.func.count(), sa.func.min(_inbox.c.received_at)).where(waiting)
    ).one()
    return Backlog(due=row[0], oldest_received_at=row[1])


def oldest_unfinished(
    connection: sa.Connection, *, older_than: datetime, limit: int = 20
) -> list[InboxEvent]:
    """Pending or processing events received before `older_than`, oldest first."""
    columns = [_inbox.c[name] for name in InboxEvent.__dataclass_fields__]
    rows = connection.execute(
        sa.select(*columns)
        .where(_inbox.c.status.in_((PENDING, PROCESSING)), _inbox.c.received_at < older_than)
        .order_by(_inbox.c.received_at)
        .limit(limit)
    )
    return [InboxEvent(**row._mapping) for row in rows]


def dead_letters(connection: sa.Connection, *, limit: int = 50) -> tuple[int, list[InboxEvent]]:
    """How many events are dead-lettered, and the newest `limit` of them."""
    count = connection.scalar(sa.select(sa.func.count()).where(_inbox.c.status == DEAD))
    columns = [_inbox.c[name] for name in InboxEvent.__dataclass_fields__]
    rows = connection.execute(
        sa.select(*columns).where(_inbox.c.status == DEAD).order_by(_inbox.c.id.desc()).limit(limit)
    )
    return count or 0, [InboxEvent(**row._mapping) for row in rows]


@dataclass(frozen=True)
class InboxStats:
    """A workspace's inbox by status, and its oldest dead letter's receipt time."""

    by_status: dict[str, int]
    oldest_dead_received_at: datetime | None


def workspace_stats(engine: sa.Engine, workspace_id: str) -> InboxStats:
    """How many of the workspace's events are in each status (every status listed)."""
    with engine.connect() as connection:
        counts = dict(
            connection.execute(
                sa.select(_inbox.c.status, sa.func.count())
                .where(_inbox.c.workspace_id == workspace_id)
                .group_by(_inbox.c.status)
            ).all()
        )
        oldest = connection.scalar(
            sa.select(sa.func.min(_inbox.c.received_at)).where(
                _inbox.c.workspace_id == workspace_id, _inbox.c.status == DEAD
            )
        )
    return InboxStats({status: counts.get(status, 0) for status in STATUSES}, oldest)
