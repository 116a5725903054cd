"""Applying inbox events to the canonical tables, exactly once in effect.

A worker claims due events under a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several
workers and processes never claim the same event; SQLite runs one statement at a time), maps
each event's object to a canonical row and writes the batch through `upsert_rows`, the same
path and ordering guard as the full sync. The rows and the events' new status commit in one
transaction, and only for events the worker still holds, so an event whose lease was taken
over is never applied twice. A failing event is retried with exponential backoff and jitter,
then dead-lettered; it never holds up the rest of its batch.

Whatever an inbox row holds, it cannot stop the claim of others: the claim returns ids and
metadata only, and each payload is read as text and decoded on its own, so a payload no
decoder can read fails that one event (an attempt, then the dead letter) and nothing else.
An event whose worker died holding it is claimed again; past `max_attempts` such claims it is
dead-lettered without another try, so an event that kills its worker cannot do so forever.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa

from paysync_dagster import bounds
from paysync_dagster.providers.base import MappingError, Row
from paysync_dagster.providers.registry import get_provider
from paysync_dagster.providers.stripe.entities import PROVIDER
from paysync_dagster.redaction import describe_error
from paysync_dagster.store.database import write_transaction
from paysync_dagster.store.tables import (
    CANONICAL_TABLES,
    webhook_inbox,
    workspace_payment_configurations,
)
from paysync_dagster.store.upsert import as_utc, upsert_rows
from paysync_dagster.webhooks import inbox
from paysync_dagster.webhooks.events import entity_of, is_deletion, source_ts
from paysync_dagster.webhooks.options import ProcessorOptions
from paysync_dagster.webhooks.ties import Tie, is_tie, record_ties, stored_versions

logger = logging.getLogger(__name__)
_inbox = webhook_inbox
_MAX_ERROR_LENGTH = 1000


class ObjectFetcher(Protocol):
    """Fetches an object's current state from the provider (the per-workspace refetch)."""

    def fetch(self, workspace_id: str, entity: str, object_id: str) -> dict[str, Any] | None:
        """The object as the provider has it now, or None if the provider has no such object
        (the event's own payload is then the best state known)."""
        ...


@dataclass(frozen=True)
class Claimed:
    """An event a worker holds under its lease."""

    id: int
    workspace_id: str
    event_type: str
    event_created_at: datetime
    attempts: int
    # The payload as stored, decoded per event by the processor (None: the row vanished).
    payload_text: str | None = field(default=None, repr=False)


@dataclass
class BatchResult:
    """What one processing pass did."""

    claimed: int = 0
    applied: int = 0
    ignored: int = 0
    retried: int = 0
    dead: int = 0
    lost_lease: int = 0
    errors: dict[int, str] = field(default_factory=dict)

    def add(self, other: BatchResult) -> None:
        """Accumulate another pass into this one."""
        for name in ("claimed", "applied", "ignored", "retried", "dead", "lost_lease"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.update(other.errors)


def claim(
    engine: sa.Engine, worker_id: str, options: ProcessorOptions, *, now: datetime | None = None
) -> list[Claimed]:
    """Lease up to `batch_size` due events to `worker_id`, oldest first.

    Due: pending with its next attempt time reached, or processing under an expired lease (a
    worker that died). Every claim counts as an attempt.
    """
    now = now or datetime.now(UTC)
    due = sa.or_(
        (_inbox.c.status == inbox.PENDING) & (_inbox.c.next_attempt_at <= now),
        (_inbox.c.status == inbox.PROCESSING) & (_inbox.c.locked_until < now),
    )
    candidates = sa.select(_inbox.c.id).where(due).order_by(_inbox.c.id).limit(options.batch_size)
    if engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        sa.update(_inbox)
        .where(_inbox.c.id.in_(candidates.scalar_subquery()))
        .values(
            status=inbox.PROCESSING,
            locked_by=worker_id,
            locked_until=now + timedelta(seconds=options.lease_seconds),
            attempts=_inbox.c.attempts + 1,
        )
        .returning(
            _inbox.c.id,
            _inbox.c.workspace_id,
            _inbox.c.event_type,
            _inbox.c.event_created_at,
            _inbox.c.attempts,
        )
    )
    with write_transaction(engine) as connection:
        rows = connection.execute(statement).all()
    if not rows:
        return []
    # As text, so no JSON decoder runs on a payload before the processor guards it.
    with engine.connect() as connection:
        payloads = dict(
            connection.execute(
                sa.select(_inbox.c.id, sa.cast(_inbox.c.payload, sa.Text)).where(
                    _inbox.c.id.in_([row.id for row in rows])
                )
            ).all()
        )
    return sorted(
        (Claimed(**row._mapping, payload_text=payloads.get(row.id)) for row in rows),
        key=lambda event: event.id,
    )


@dataclass
class _Outcome:
    event: Claimed
    entity: str | None = None
    row: Row | None = None
    error: str | None = None
    refetched: bool = False


class Processor:
    """Claims and applies due inbox events; with a `fetcher`, workspaces that ask for it get
    each object's current state instead of the event payload."""

    def __init__(
        self,
        engine: sa.Engine,
        options: ProcessorOptions | None = None,
        *,
        fetcher: ObjectFetcher | None = None,
        on_result: Callable[[BatchResult], None] | None = None,
    ) -> None:
        self.engine = engine
        self.options = options or ProcessorOptions()
        self._fetcher = fetcher
        self._on_result = on_result

    def run_once(self, worker_id: str) -> BatchResult:
        """Claim one batch and settle every event in it; returns what happened."""
        claimed = claim(self.engine, worker_id, self.options)
        if not claimed:
            return BatchResult()
        now = datetime.now(UTC)
        refetching = self._refetching_workspaces({event.workspace_id for event in claimed})
        outcomes = [self._prepare(event, event.workspace_id in refetching) for event in claimed]
        self._resolve_ties(outcomes)
        try:
            result = self._settle(outcomes, worker_id, now)
        except Exception as error:
            # One bad row (say, a value too long for its column) fails the batch statement;
            # settling each event alone confines the failure to that event.
            logger.warning("webhook batch failed, settling events one by one: %s", _short(error))
            result = BatchResult()
            for outcome in outcomes:
                result.add(self._settle_alone(outcome, worker_id, now))
        result.claimed = len(claimed)
        if self._on_result is not None:
            self._on_result(result)
        return result

    def drain(self, worker_id: str, *, max_batches: int = 1000) -> BatchResult:
        """Process until nothing is due (or `max_batches` passes); for jobs and tests."""
        total = BatchResult()
        for _ in range(max_batches):
            result = self.run_once(worker_id)
            total.add(result)
            if result.claimed == 0:
                break
        return total

    def _refetching_workspaces(self, workspace_ids: set[str]) -> set[str]:
        if self._fetcher is None:
            return set()
        config = workspace_payment_configurations
        with self.engine.connect() as connection:
            return set(
                connection.scalars(
                    sa.select(config.c.workspace_id).where(
                        config.c.workspace_id.in_(workspace_ids),
                        config.c.provider == PROVIDER,
                        config.c.webhook_refetch,
                    )
                )
            )

    def _prepare(self, event: Claimed, refetch: bool) -> _Outcome:
        """Decode the event and map its object (or its refetched current state) to a row."""
        if event.attempts > self.options.max_attempts:
            # Claimed again after its lease expired, more often than it may be tried: the
            # worker holding it died each time, perhaps because of this very event.
            return _Outcome(event, error="lease expired on every attempt (did its worker die?)")
        try:
            payload = bounds.loads_bounded(event.payload_text or "")
            entity = entity_of(payload)
        except bounds.InputLimitError as error:
            return _Outcome(event, error=f"unreadable payload: {error}")
        except Exception as error:
            return _Outcome(event, error=f"unreadable payload: {_short(error)}")
        if entity is None:
            return _Outcome(event)
        try:
            obj = payload["data"]["object"]
            ts = source_ts(event.event_created_at)
            deletion = is_deletion(event.event_type)
            refetched = False
            # A deleted object has no newer state to fetch: its event is the last word.
            if refetch and not deletion and self._fetcher is not None:
                fetched_at = datetime.now(UTC)
                current = self._fetcher.fetch(event.workspace_id, entity, obj["id"])
                if current is not None:
                    obj, ts, refetched = current, _refetched_ts(fetched_at, ts), True
            row = get_provider(PROVIDER).entity(entity).mapper(obj, ts)
            if deletion:
                row["deleted_at"] = ts
            return _Outcome(event, entity, row, refetched=refetched)

        except MappingError as error:
            return _Outcome(event, entity, error=f"cannot map {entity} object: {error}")
        except Exception as error:
            return _Outcome(event, entity, error=_short(error))

    def _resolve_ties(self, outcomes: Sequence[_Outcome]) -> None:
        """Refetch, or record, rows of the same second as the stored row but other content.

        Such an event cannot be ranked against what is stored (see `webhooks.ties`). With API
        access the object's current state replaces the payload; without it (no fetcher, or
        the fetch fails) the row is applied as before and the tie recorded for the repair.
        """
        candidates: dict[tuple[str, str], list[_Outcome]] = defaultdict(list)
        for outcome in outcomes:
            row = outcome.row
            if row is not None and not outcome.refetched and row.get("deleted_at") is None:
                candidates[(outcome.event.workspace_id, outcome.entity or "")].append(outcome)
        if not candidates:
            return
        tied: list[_Outcome] = []
        with self.engine.connect() as connection:
            for (workspace_id, entity), group in candidates.items():
                ids = [outcome.row["external_id"] for outcome in group if outcome.row]
                stored = stored_versions(connection, workspace_id, entity, ids)
                tied += [
                    o for o in group if o.row and is_tie(stored.get(o.row["external_id"]), o.row)
                ]
        unresolved = [outcome for outcome in tied if not self._refetch(outcome)]
        if unresolved:
            with write_transaction(self.engine) as connection:
                record_ties(
                    connection,
                    [
                        Tie(o.event.workspace_id, o.entity or "", o.row["external_id"], o.event.id)
                        for o in unresolved
                        if o.row
                    ],
                )

    def _refetch(self, outcome: _Outcome) -> bool:
        """Replace the outcome's row by the object's current state; False when impossible."""
        if self._fetcher is None or outcome.row is None or outcome.entity is None:
            return False
        try:
            fetched_at = datetime.now(UTC)
            current = self._fetcher.fetch(
                outcome.event.workspace_id, outcome.entity, outcome.row["external_id"]
            )
            if current is None:
                return False
            ts = _refetched_ts(fetched_at, outcome.row["source_ts"])
            outcome.row = get_provider(PROVIDER).entity(outcome.entity).mapper(current, ts)
        except Exception as error:
            logger.warning(
                "webhook event %s ties with the stored row and could not be refetched: %s",
                outcome.event.id,
                _short(error),
            )
            return False
        outcome.refetched = True
        return True

    def _settle(self, outcomes: Sequence[_Outcome], worker_id: str, now: datetime) -> BatchResult:
        """In one transaction: take final ownership of the events, write their rows, and
        record their status; events whose lease another worker took over are skipped."""
        result = BatchResult()
        with write_transaction(self.engine) as connection:
            succeeded = [outcome for outcome in outcomes if outcome.error is None]
            owned = _finish(connection, [o.event.id for o in succeeded], worker_id, now)
            rows: dict[tuple[str, str], list[Row]] = defaultdict(list)
            for outcome in succeeded:
                if outcome.event.id not in owned:
                    result.lost_lease += 1
                elif outcome.row is None:
                    result.ignored += 1
                else:
                    rows[(outcome.event.workspace_id, outcome.entity or "")].append(outcome.row)
                    result.applied += 1
            for (workspace_id, entity), entity_rows in rows.items():
                upsert_rows(
                    connection,
                    CANONICAL_TABLES[get_provider(PROVIDER).entity(entity).table],
                    entity_rows,
                    workspace_id=workspace_id,
                    provider=PROVIDER,
                    synced_at=now,
                )
            ignored = [o.event.id for o in succeeded if o.row is None and o.event.id in owned]
            if ignored:
                connection.execute(
                    sa.update(_inbox).where(_inbox.c.id.in_(ignored)).values(status=inbox.IGNORED)
                )
            for outcome in outcomes:
                if outcome.error is not None:
                    self._fail(connection, outcome, worker_id, now, result)
        return result

    def _settle_alone(self, outcome: _Outcome, worker_id: str, now: datetime) -> BatchResult:
        try:
            return self._settle([outcome], worker_id, now)
        except Exception as error:
            outcome.error = _short(error)
            result = BatchResult()
            with write_transaction(self.engine) as connection:
                self._fail(connection, outcome, worker_id, now, result)
            return result

    def _fail(
        self,
        connection: sa.Connection,
        outcome: _Outcome,
        worker_id: str,
        now: datetime,
        result: BatchResult,
    ) -> None:
        """Schedule the next attempt with backoff, or dead-letter the event."""
        event = outcome.event
        dead = event.attempts >= self.options.max_attempts
        values: dict[str, Any] = {
            "status": inbox.DEAD if dead else inbox.PENDING,
            "last_error": (outcome.error or "")[:_MAX_ERROR_LENGTH],
            "locked_by": None,
            "locked_until": None,
        }
        if not dead:
            values["next_attempt_at"] = now + self.options.backoff(event.attempts)
        updated = connection.execute(
            sa.update(_inbox)
            .where(
                _inbox.c.id == event.id,
                _inbox.c.locked_by == worker_id,
                _inbox.c.status == inbox.PROCESSING,
            )
            .values(**values)
        ).rowcount
        if not updated:
            result.lost_lease += 1
            return
        result.errors[event.id] = values["last_error"]
        if dead:
            result.dead += 1
            logger.warning(
                "webhook event %s dead-lettered after %s attempts: %s",
                event.id,
                event.attempts,
                values["last_error"],
            )
        else:
            result.retried += 1


def _finish(
    connection: sa.Connection, event_ids: Sequence[int], worker_id: str, now: datetime
) -> set[int]:
    """Mark held events applied and release them; returns the ids this worker still held."""
    if not event_ids:
        return set()
    rows = connection.execute(
        sa.update(_inbox)
        .where(
            _inbox.c.id.in_(event_ids),
            _inbox.c.locked_by == worker_id,
            _inbox.c.status == inbox.PROCESSING,
        )
        .values(
            status=inbox.APPLIED,
            processed_at=now,
            locked_by=None,
            locked_until=None,
            last_error=None,
        )
        .returning(_inbox.c.id)
    )
    return set(rows.scalars())


def _refetched_ts(fetched_at: datetime, event_ts: datetime) -> datetime:
    """The ordering timestamp of an object fetched for an event.

    Its fetch time, but never earlier than the event's own `source_ts` (the end of its
    second): a fetch within that second would otherwise rank the current state below rows
    written from the second's events, and the ordering guard would keep the stale one.
    """
    return max(fetched_at, as_utc(event_ts))


def _short(error: BaseException) -> str:
    return describe_error(error, limit=_MAX_ERROR_LENGTH)
