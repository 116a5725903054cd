"""Gap filling: list the provider's events since a stored cursor and enqueue what is missing.

A webhook Stripe gave up on (or never sent) is still in `/v1/events` for 30 days. Listing
from the cursor (minus an overlap for events created while the previous listing ran) and
inserting into the inbox heals the gap through the normal processor; events already received
are recognised by their id. A cursor older than Stripe's retention cannot be healed this way:
the caller must run a full sync instead, and the result says so.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import orjson
import sqlalchemy as sa

from paysync_dagster.providers.base import Page
from paysync_dagster.providers.stripe.entities import PROVIDER
from paysync_dagster.providers.stripe.provider import STRIPE
from paysync_dagster.redaction import describe_error
from paysync_dagster.store.sessions import RunIsActive
from paysync_dagster.store.tables import workspace_payment_configurations
from paysync_dagster.store.upsert import as_utc
from paysync_dagster.store.vault import Vault
from paysync_dagster.store.workspaces import load_credentials
from paysync_dagster.sync.provider_sync import SyncOptions, open_client, sync_workspaces
from paysync_dagster.sync.workspace_runs import EntityOutcome
from paysync_dagster.webhooks.events import InvalidEventError, parse_event
from paysync_dagster.webhooks.inbox import GAP_FILL, InboxItem, insert_events

EVENT_RETENTION = timedelta(days=30)
OVERLAP = timedelta(minutes=5)
_config = workspace_payment_configurations


class EventSource(Protocol):
    """A provider client that lists events, newest first."""

    def list_pages(self, entity: str) -> Iterator[Page]:
        """Pages of `entity`."""
        ...


@dataclass(frozen=True)
class GapFillResult:
    """What one gap fill found; `full_sync_needed` when the cursor is beyond retention."""

    workspace_id: str
    since: datetime
    listed: int = 0
    enqueued: int = 0
    invalid: int = 0
    full_sync_needed: bool = False


def read_cursor(engine: sa.Engine, workspace_id: str) -> datetime:
    """Where the next gap fill starts: the stored cursor, else when the workspace was added."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(_config.c.webhook_events_cursor, _config.c.created_at).where(
                _config.c.workspace_id == workspace_id, _config.c.provider == PROVIDER
            )
        ).one()
    return as_utc(row.webhook_events_cursor or row.created_at)


def write_cursor(engine: sa.Engine, workspace_id: str, cursor: datetime) -> None:
    """Move the workspace's events cursor (after a gap fill or a fallback full sync)."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(_config)
            .where(_config.c.workspace_id == workspace_id, _config.c.provider == PROVIDER)
            .values(webhook_events_cursor=cursor)
        )


def gap_fill(
    engine: sa.Engine, source: EventSource, workspace_id: str, *, now: datetime | None = None
) -> GapFillResult:
    """Enqueue the workspace's events since its cursor that the inbox lacks, then move the
    cursor to when this listing started. Inserts and the cursor commit together."""
    now = now or datetime.now(UTC)
    cursor = read_cursor(engine, workspace_id)
    if cursor < now - EVENT_RETENTION:
        return GapFillResult(workspace_id, cursor, full_sync_needed=True)
    since = cursor - OVERLAP
    items: list[InboxItem] = []
    listed = invalid = 0
    for page in source.list_pages("events"):
        for event in page.objects:
            listed += 1
            try:
                parsed = parse_event(orjson.dumps(event))
            except InvalidEventError:
                invalid += 1
                continue
            if parsed.created >= since:
                items.append(InboxItem(workspace_id, parsed, source=GAP_FILL))
        if page.objects and page.objects[-1].get("created", 0) < since.timestamp():
            break  # newest first: everything further is older than the cursor
    # Oldest first, as webhooks would have arrived: events of the same second then apply in
    # the order they happened.
    items.reverse()
    with engine.begin() as connection:
        inserted = insert_events(connection, items, received_at=datetime.now(UTC))
        connection.execute(
            sa.update(_config)
            .where(_config.c.workspace_id == workspace_id, _config.c.provider == PROVIDER)
            .values(webhook_events_cursor=now)
        )
    return GapFillResult(workspace_id, since, listed, len(inserted), invalid)


@dataclass(frozen=True)
class WorkspaceGapFill:
    """One workspace's gap fill: its result, or the error that ended it; and, when its
    cursor was beyond retention, the outcomes of the full sync that replaced it."""

    workspace_id: str
    result: GapFillResult | None = None
    error: str | None = None
    full_sync: tuple[EntityOutcome, ...] = ()


def gap_fill_workspaces(
    engine: sa.Engine,
    vault: Vault,
    workspace_ids: Sequence[str],
    *,
    options: SyncOptions,
    dagster_run_id: str | None = None,
    run_is_active: RunIsActive | None = None,
) -> Iterator[WorkspaceGapFill]:
    """Gap-fill each workspace in turn; one workspace's failure never stops the rest.

    A workspace whose cursor is beyond Stripe's event retention gets a full sync of every
    entity instead, and its cursor moves to when that sync started.
    """
    for workspace_id in workspace_ids:
        try:
            credentials = load_credentials(
                engine, vault, workspace_id=workspace_id, provider=PROVIDER
            )
            client = open_client(STRIPE, credentials, options)
            try:
                result = gap_fill(engine, client, workspace_id)
            finally:
                client.close()
        except Exception as error:
            yield WorkspaceGapFill(workspace_id, error=describe_error(error))
            continue
        if not result.full_sync_needed:
            yield WorkspaceGapFill(workspace_id, result)
            continue
        started = datetime.now(UTC)
        outcomes = tuple(
            sync_workspaces(
                STRIPE,
                engine,
                vault,
                [workspace_id],
                entity_types=STRIPE.entity_names,
                options=options,
                dagster_run_id=dagster_run_id,
                run_is_active=run_is_active,
            )
        )
        if all(outcome.ok for outcome in outcomes):
            write_cursor(engine, workspace_id, started)
        yield WorkspaceGapFill(workspace_id, result, full_sync=outcomes)
