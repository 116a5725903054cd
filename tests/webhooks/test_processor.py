"""Applying inbox events: ordering, deletions, ignored types, retries, dead letters, replay,
and several workers that never apply an event twice. Real databases, real sandbox."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import httpx
import sqlalchemy as sa

from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.providers.stripe.client import StripeApi
from paysync_dagster.store.tables import subscriptions, webhook_inbox
from paysync_dagster.store.workspaces import set_webhook_refetch
from paysync_dagster.webhooks.events import parse_event
from paysync_dagster.webhooks.inbox import InboxItem, Selection, insert_events, replay
from paysync_dagster.webhooks.processor import Processor, ProcessorOptions
from paysync_dagster.webhooks.refetch import StripeObjectFetcher
from paysync_dagster.webhooks.worker import worker_pool
from tests.support import wait_until
from tests.webhooks.helpers import (
    add_webhook_workspace,
    customer_event,
    customer_row,
    deliver,
    event_body,
    inbox_rows,
)

T = int(time.time()) - 60
NO_BACKOFF = ProcessorOptions(backoff_base_seconds=0)


def _enqueue(engine, workspace_id: str, *bodies: bytes) -> None:
    items = [InboxItem(workspace_id, parse_event(body)) for body in bodies]
    with engine.begin() as connection:
        insert_events(connection, items, received_at=datetime.now(UTC))


def _statuses(engine) -> dict[str, str]:
    return {row.provider_event_id: row.status for row in inbox_rows(engine)}


def test_worker_in_the_server_applies_a_delivered_event(
    paysync_server, engine, vault, database_url
) -> None:
    secret = add_webhook_workspace(engine, vault, "acme")
    base_url = paysync_server(services=worker_pool(Processor(engine), 1))
    body = customer_event("evt_1", "cus_1", created=T, email="new@x.test")
    assert deliver(base_url, "acme", body, secret).status_code == 200
    row = wait_until(lambda: customer_row(engine, "acme", "cus_1"), what="customer row", seconds=10)
    assert row.email == "new@x.test"
    assert httpx.get(f"{base_url}/readyz").json()["checks"]["webhook_worker"] == "running"
    [event] = inbox_rows(engine)
    assert (event.status, event.attempts) == ("applied", 1)


def test_duplicate_deliveries_are_applied_once(paysync_server, engine, vault) -> None:
    secret = add_webhook_workspace(engine, vault, "acme")
    base_url = paysync_server()
    body = customer_event("evt_1", "cus_1", created=T, email="a@x.test")
    for _ in range(3):
        assert deliver(base_url, "acme", body, secret).status_code == 200
    result = Processor(engine).drain("test")
    assert (result.claimed, result.applied) == (1, 1)
    [event] = inbox_rows(engine)
    assert (event.status, event.attempts) == ("applied", 1)
    assert customer_row(engine, "acme", "cus_1").email == "a@x.test"


def test_reordered_updates_keep_the_newest(engine, vault) -> None:
    add_webhook_workspace(engine, vault, "acme")
    newer = customer_event("evt_2", "cus_1", created=T + 10, email="newer@x.test")
    older = customer_event("evt_1", "cus_1", created=T, email="older@x.test")
    _enqueue(engine, "acme", newer)
    Processor(engine).drain("test")
    _enqueue(engine, "acme", older)
    Processor(engine).drain("test")
    assert _statuses(engine) == {"evt_2": "applied", "evt_1": "applied"}
    assert customer_row(engine, "acme", "cus_1").email == "newer@x.test"


def test_delete_before_update_stays_deleted(engine, vault) -> None:
    add_webhook_workspace(engine, vault, "acme")
    deleted = customer_event(
        "evt_2", "cus_1", created=T + 10, event_type="customer.deleted", email="a@x.test"
    )
    late_update = customer_event("evt_1", "cus_1", created=T, email="stale@x.test")
    _enqueue(engine, "acme", deleted)
    Processor(engine).drain("test")
    _enqueue(engine, "acme", late_update)
    Processor(engine).drain("test")
    row = customer_row(engine, "acme", "cus_1")
    assert row.deleted_at is not None
    assert row.email == "a@x.test"


def test_delete_after_create_sets_deleted_at(engine, vault) -> None:
    add_webhook_workspace(engine, vault, "acme")
    _enqueue(
        engine,
        "acme",
        customer_event("evt_1", "cus_1", created=T, event_type="customer.created"),
        customer_event("evt_2", "cus_1", created=T + 1, event_type="customer.deleted"),
    )
    Processor(engine).drain("test")
    assert customer_row(engine, "acme", "cus_1").deleted_at is not None


def test_unknown_event_types_are_recorded_as_ignored(engine, vault) -> None:
    add_webhook_workspace(engine, vault, "acme")
    payout = {"id": "po_1", "object": "payout", "amount": 100}
    _enqueue(engine, "acme", event_body("evt_1", "payout.paid", payout, created=T))
    result = Processor(engine).drain("test")
    assert (result.applied, result.ignored) == (0, 1)
    assert _statuses(engine) == {"evt_1": "ignored"}


def test_one_failing_event_is_retried_while_the_others_apply(engine, vault) -> None:
    add_webhook_workspace(engine, vault, "acme")
    broken = {"id": "sub_1", "object": "subscription", "status": "active"}  # no customer
    _enqueue(
        engine,
        "acme",
        event_body("evt_bad", "customer.subscription.updated", broken, created=T),
        customer_event("evt_ok", "cus_1", created=T),
    )
    result = Processor(engine, ProcessorOptions(backoff_base_seconds=60)).run_once("test")
    assert (result.applied, result.retried) == (1, 1)
    rows = {row.provider_event_id: row for row in inbox_rows(engine)}
    assert rows["evt_ok"].status == "applied"
    assert rows["evt_bad"].status == "pending"
    assert "missing required field 'customer'" in rows["evt_bad"].last_error
    assert rows["evt_bad"].next_attempt_at.timestamp() > time.time() + 25  # backed off
    with engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(subscriptions)) == 0


def test_dead_letter_after_n_attempts_then_replay_succeeds(
    engine, vault, stripe_sandbox, unreachable_base_url
) -> None:
    url, settings = stripe_sandbox(customers=3)
    api = StripeApi(settings.api_key, api_base=url)
    customer = next(api.list_pages("customers")).objects[0]
    api.close()
    add_webhook_workspace(engine, vault, "acme", api_key=settings.api_key, api_base=url)
    # The workspace points at an address where nothing listens: every refetch fails.
    add_webhook_workspace(
        engine,
        vault,
        "acme",
        api_key=settings.api_key,
        api_base=unreachable_base_url,
        replace=True,
    )
    set_webhook_refetch(engine, workspace_id="acme", provider="stripe", on=True)
    stale = {**customer, "email": "stale@x.test"}
    _enqueue(engine, "acme", event_body("evt_1", "customer.updated", stale, created=T))
    processor = Processor(
        engine,
        ProcessorOptions(max_attempts=3, backoff_base_seconds=0),
        fetcher=StripeObjectFetcher(engine, vault),
    )
    result = processor.drain("test")
    assert (result.claimed, result.dead, result.retried) == (3, 1, 2)
    [event] = inbox_rows(engine)
    assert (event.status, event.attempts) == ("dead", 3)
    assert "ProviderUnreachableError" in event.last_error
    assert customer_row(engine, "acme", customer["id"]) is None

    add_workspace(
        engine,
        vault,
        workspace_id="acme",
        provider="stripe",
        api_key=settings.api_key,
        api_base=url,
        replace=True,
    )
    assert replay(engine, Selection(status="dead")) == [event.id]
    assert processor.drain("test").applied == 1
    [event] = inbox_rows(engine)
    assert (event.status, event.attempts, event.last_error) == ("applied", 1, None)
    # Refetched: the row holds Stripe's current object, not the event's stale payload.
    assert customer_row(engine, "acme", customer["id"]).email == customer["email"]


def test_concurrent_workers_apply_each_event_exactly_once(engine, vault) -> None:
    add_webhook_workspace(engine, vault, "acme")
    count = 300
    _enqueue(
        engine,
        "acme",
        *(customer_event(f"evt_{n}", f"cus_{n}", created=T) for n in range(count)),
    )
    processor = Processor(engine, ProcessorOptions(batch_size=20))
    results = {}

    def work(worker_id: str) -> None:
        results[worker_id] = processor.drain(worker_id)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(result.applied for result in results.values()) == count
    assert sum(result.claimed for result in results.values()) == count
    with engine.connect() as connection:
        attempts = connection.execute(
            sa.select(webhook_inbox.c.status, webhook_inbox.c.attempts).distinct()
        ).all()
    assert attempts == [("applied", 1)]
