"""From a mutation in the Stripe sandbox to the changed row: signed webhook delivery, the
receiver, the inbox and the worker inside a real `paysync serve` app, nothing in between."""

from __future__ import annotations

import stripe

from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.store.workspaces import set_webhook_refetch
from paysync_dagster.webhooks.processor import Processor
from paysync_dagster.webhooks.refetch import StripeObjectFetcher
from paysync_dagster.webhooks.worker import worker_pool
from tests.support import fake_api_key, wait_until
from tests.webhooks.helpers import customer_row, fake_webhook_secret, inbox_rows


def _setup(engine, vault, paysync_server, stripe_sandbox, **delivery):
    secret = fake_webhook_secret()
    processor = Processor(engine, fetcher=StripeObjectFetcher(engine, vault))
    server_url = paysync_server(services=worker_pool(processor, 1))
    url, settings = stripe_sandbox(
        customers=5,
        api_key=fake_api_key(),
        webhook_urls=(f"{server_url}/webhooks/stripe/acme",),
        webhook_secret=secret,
        **delivery,
    )
    add_workspace(
        engine,
        vault,
        workspace_id="acme",
        provider="stripe",
        api_key=settings.api_key,
        webhook_secret=secret,
        api_base=url,
    )
    client = stripe.StripeClient(
        settings.api_key, base_addresses={"api": url}, max_network_retries=0
    )
    return client


def test_sandbox_mutations_reach_the_canonical_rows(
    engine, vault, paysync_server, stripe_sandbox
) -> None:
    client = _setup(engine, vault, paysync_server, stripe_sandbox)
    created = client.v1.customers.create({"email": "first@x.test", "name": "First"})
    row = wait_until(
        lambda: customer_row(engine, "acme", created.id), what="created customer", seconds=10
    )
    assert (row.email, row.name, row.deleted_at) == ("first@x.test", "First", None)

    client.v1.customers.update(created.id, {"email": "second@x.test"})
    wait_until(
        lambda: customer_row(engine, "acme", created.id).email == "second@x.test",
        what="updated email",
        seconds=10,
    )
    client.v1.customers.delete(created.id)
    wait_until(
        lambda: customer_row(engine, "acme", created.id).deleted_at is not None,
        what="soft delete",
        seconds=10,
    )
    events = inbox_rows(engine)
    assert [e.event_type for e in events] == [
        "customer.created",
        "customer.updated",
        "customer.deleted",
    ]
    assert {e.status for e in events} == {"applied"}


def test_duplicated_and_reordered_deliveries_converge_with_refetch(
    engine, vault, paysync_server, stripe_sandbox
) -> None:
    client = _setup(
        engine,
        vault,
        paysync_server,
        stripe_sandbox,
        webhook_duplicate_rate=1.0,
        webhook_reorder_window=8,
    )
    # Several updates land in the same second, so only the current object (refetch) can say
    # which one is last; the payloads alone would tie.
    set_webhook_refetch(engine, workspace_id="acme", provider="stripe", on=True)
    customer = client.v1.customers.create({"email": "v0@x.test"})
    for version in range(1, 6):
        client.v1.customers.update(customer.id, {"email": f"v{version}@x.test"})
    wait_until(
        lambda: (
            len(inbox_rows(engine)) == 6 and {e.status for e in inbox_rows(engine)} == {"applied"}
        ),
        what="six distinct events applied",
        seconds=10,
    )
    assert customer_row(engine, "acme", customer.id).email == "v5@x.test"
    assert all(event.attempts == 1 for event in inbox_rows(engine))
