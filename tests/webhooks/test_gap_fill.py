"""Gap filling from the sandbox's /v1/events: missed webhooks are enqueued once and applied;
a cursor beyond Stripe's 30-day retention falls back to a full sync, and says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import stripe

from paysync_dagster.defs.resources import DatabaseResource, SyncResource, VaultResource
from paysync_dagster.defs.webhooks.assets import stripe_gap_fill
from paysync_dagster.defs.workspaces.partitions import WORKSPACE_PARTITIONS_NAME
from paysync_dagster.providers.stripe.client import StripeApi
from paysync_dagster.providers.stripe.provider import STRIPE
from paysync_dagster.webhooks.gapfill import gap_fill, write_cursor
from paysync_dagster.webhooks.processor import Processor
from tests.webhooks.helpers import customer_row, inbox_rows


def test_missed_events_are_enqueued_once_and_applied(engine, vault, stripe_workspace) -> None:
    settings = stripe_workspace("acme", customers=3)
    url = _sandbox_url(engine)
    client = stripe.StripeClient(settings.api_key, base_addresses={"api": url})
    created = client.v1.customers.create({"email": "missed@x.test"})
    client.v1.customers.update(created.id, {"name": "Missed"})
    api = StripeApi(settings.api_key, api_base=url)
    try:
        first = gap_fill(engine, api, "acme")
        again = gap_fill(engine, api, "acme")
    finally:
        api.close()
    assert (first.listed, first.enqueued, first.full_sync_needed) == (2, 2, False)
    assert again.enqueued == 0
    assert {(e.source, e.event_type) for e in inbox_rows(engine)} == {
        ("gap_fill", "customer.created"),
        ("gap_fill", "customer.updated"),
    }
    Processor(engine).drain("test")
    row = customer_row(engine, "acme", created.id)
    assert (row.email, row.name) == ("missed@x.test", "Missed")


def test_beyond_retention_falls_back_to_a_full_sync(
    database_url, engine, vault, stripe_workspace
) -> None:
    stripe_workspace("acme", customers=4)
    write_cursor(engine, "acme", datetime.now(UTC) - timedelta(days=31))
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, ["acme"])
        result = dg.materialize(
            [stripe_gap_fill],
            instance=instance,
            partition_key="acme",
            resources={
                "database": DatabaseResource(url=database_url),
                "vault": VaultResource(),
                "sync": SyncResource(),
            },
        )
        assert result.success
        by_key = {
            event.asset_key.to_user_string(): event
            for event in result.get_asset_materialization_events()
        }
        materialization = by_key["webhooks/stripe_gap_fill"].materialization
        assert materialization.metadata["full_sync"].value is True
        # The partitions the fallback rewrote are recorded, so the catalog's lineage is true.
        assert {key for key in by_key if key.startswith("stripe/")} == {
            f"stripe/{entity}" for entity in STRIPE.entity_names
        }
        assert by_key["stripe/customers"].partition == "acme"
        assert materialization.metadata["full_sync_customers"].value == "completed: 4 listed"
        warnings = [
            e.message
            for e in instance.all_logs(result.run_id)
            if "fell back to a full sync" in (e.message or "")
        ]
        assert warnings
    assert customer_row(engine, "acme", _first_customer_id(engine)) is not None


def _sandbox_url(engine) -> str:
    import sqlalchemy as sa

    from paysync_dagster.store.tables import workspace_payment_configurations as config

    with engine.connect() as connection:
        return connection.scalar(sa.select(config.c.api_base))


def _first_customer_id(engine) -> str:
    import sqlalchemy as sa

    from paysync_dagster.store.tables import customers

    with engine.connect() as connection:
        return connection.scalar(sa.select(customers.c.external_id).limit(1))
