"""Building, signing and delivering Stripe events in tests; generated, obviously fake secrets."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import orjson
import sqlalchemy as sa

from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.store.tables import customers, webhook_inbox
from paysync_dagster.store.vault import Vault
from paysync_dagster.webhooks.signature import sign_header
from tests.support import fake_api_key


def fake_webhook_secret() -> str:
    """An obviously fake, freshly generated webhook signing secret."""
    return f"whsec_{secrets.token_hex(16)}"


def add_webhook_workspace(engine: sa.Engine, vault: Vault, workspace_id: str, **options) -> str:
    """Configure `workspace_id` with a fresh webhook secret; returns the secret."""
    secret = fake_webhook_secret()
    add_workspace(
        engine,
        vault,
        workspace_id=workspace_id,
        provider="stripe",
        api_key=options.pop("api_key", None) or fake_api_key(),
        webhook_secret=secret,
        **options,
    )
    return secret


def customer_event(
    event_id: str,
    customer_id: str,
    *,
    created: int,
    event_type: str = "customer.updated",
    **fields: Any,
) -> bytes:
    """A Stripe customer event body whose object carries `fields`."""
    obj = {"id": customer_id, "object": "customer", "created": created - 100, **fields}
    return event_body(event_id, event_type, obj, created=created)


def event_body(event_id: str, event_type: str, obj: dict[str, Any], *, created: int) -> bytes:
    """A Stripe event body around `obj`."""
    return orjson.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created": created,
            "livemode": False,
            "data": {"object": obj},
        }
    )


def deliver(
    base_url: str,
    workspace_id: str,
    body: bytes,
    secret: str,
    *,
    timestamp: int | None = None,
    signature: str | None = None,
    content_type: str = "application/json",
) -> httpx.Response:
    """POST `body` to the workspace's Stripe webhook endpoint, signed with `secret`."""
    header = signature or sign_header(secret, body, timestamp=timestamp)
    return httpx.post(
        f"{base_url}/webhooks/stripe/{workspace_id}",
        content=body,
        headers={"Stripe-Signature": header, "Content-Type": content_type},
    )


def inbox_rows(engine: sa.Engine) -> list[sa.Row]:
    """Every inbox row, oldest first."""
    with engine.connect() as connection:
        return connection.execute(sa.select(webhook_inbox).order_by(webhook_inbox.c.id)).all()


def customer_row(engine: sa.Engine, workspace_id: str, customer_id: str) -> sa.Row | None:
    """The stored customer, if any."""
    with engine.connect() as connection:
        return connection.execute(
            sa.select(customers).where(
                customers.c.workspace_id == workspace_id, customers.c.external_id == customer_id
            )
        ).first()
