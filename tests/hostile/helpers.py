"""Building hostile inputs: deep JSON, and inbox rows written around the receiver."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import sqlalchemy as sa

from paysync_dagster.store.tables import webhook_inbox
from paysync_dagster.webhooks.events import StripeEvent
from paysync_dagster.webhooks.inbox import InboxItem, insert_events


def nested(depth: int) -> bytes:
    """A JSON array nested `depth` levels deep."""
    return b"[" * depth + b"]" * depth


def deep_event_body(event_id: str, depth: int = 1000) -> bytes:
    """A Stripe customer event whose object nests `depth` levels deep in its metadata."""
    created = int(time.time())
    return (
        b'{"id":"%s","object":"event","type":"customer.updated","created":%d,'
        b'"data":{"object":{"id":"cus_deep","object":"customer","metadata":{"x":%s}}}}'
        % (event_id.encode(), created, nested(depth))
    )


def store_unchecked(engine: sa.Engine, workspace_id: str, event_id: str, body: bytes) -> None:
    """Put an event in the inbox without the receiver's checks, as an older version of
    paysync (before the input bounds) or another writer could have."""
    event = StripeEvent(event_id, "customer.updated", datetime.now(UTC), body)
    with engine.begin() as connection:
        insert_events(connection, [InboxItem(workspace_id, event)], received_at=datetime.now(UTC))


def inbox_states(engine: sa.Engine) -> dict[str, sa.Row]:
    """Status, attempts and last error per provider event id; payloads are not read, since
    a deep one cannot be decoded by SQLAlchemy's JSON type."""
    inbox = webhook_inbox
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                inbox.c.provider_event_id, inbox.c.status, inbox.c.attempts, inbox.c.last_error
            )
        )
        return {row.provider_event_id: row for row in rows}
