"""Helpers for control API tests: sessions and inbox events written as the engine writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from paysync_dagster.server.control.launcher import LaunchedRun, SyncInProgressError
from paysync_dagster.store import sessions
from paysync_dagster.store.tables import payment_sync_sessions, webhook_inbox
from paysync_dagster.webhooks.events import parse_event
from paysync_dagster.webhooks.inbox import DEAD, InboxItem, insert_events
from tests.webhooks.helpers import customer_event


def add_session(
    engine: sa.Engine,
    workspace_id: str,
    *,
    entity_type: str = "customers",
    status: str = sessions.RUNNING,
    listed: int = 0,
    pages: int = 0,
    cursor: str | None = None,
    started_ago: timedelta = timedelta(seconds=10),
) -> str:
    """A Stripe session of `workspace_id` as a sync leaves it; returns its id."""
    with engine.begin() as connection:
        session_id = sessions.start_session(
            connection,
            workspace_id=workspace_id,
            provider="stripe",
            entity_type=entity_type,
            watermark=datetime.now(UTC),
            dagster_run_id=None,
            resumed_from=None,
        )
        connection.execute(
            sa.update(payment_sync_sessions)
            .where(payment_sync_sessions.c.id == session_id)
            .values(
                started_at=datetime.now(UTC) - started_ago,
                listed=listed,
                pages=pages,
                resume_cursor=cursor,
            )
        )
        if status != sessions.RUNNING:
            sessions.finish_session(
                connection, session_id, status=status, error_message="boom" if cursor else None
            )
            if cursor is not None:
                connection.execute(
                    sa.update(payment_sync_sessions)
                    .where(payment_sync_sessions.c.id == session_id)
                    .values(resume_cursor=cursor)
                )
    return session_id


def add_dead_event(engine: sa.Engine, workspace_id: str, event_id: str) -> None:
    """A dead-lettered Stripe customer event of `workspace_id`."""
    event = parse_event(customer_event(event_id, f"cus_{event_id}", created=1_700_000_000))
    with engine.begin() as connection:
        insert_events(connection, [InboxItem(workspace_id, event)], received_at=datetime.now(UTC))
        connection.execute(
            sa.update(webhook_inbox)
            .where(webhook_inbox.c.provider_event_id == event_id)
            .values(status=DEAD, attempts=8, last_error="mapping failed")
        )


class FakeLauncher:
    """Records launches instead of calling a webserver (the real one is tested in tests/dagster)."""

    url = "http://dagster.test"

    def __init__(self) -> None:
        self.launched: list[tuple[str, str, list[str]]] = []
        self.running: str | None = None

    def run_in_progress(self, workspace_id: str) -> str | None:
        return self.running

    def launch(self, provider, workspace_id, entity_types, *, requested_by):
        if self.running:
            raise SyncInProgressError(workspace_id, self.running)
        self.launched.append((provider.name, workspace_id, list(entity_types)))
        return LaunchedRun("run-1", f"{self.url}/runs/run-1")
