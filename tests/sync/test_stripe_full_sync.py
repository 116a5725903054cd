"""Full syncs through the official SDK against the Stripe sandbox, on every backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import stripe

from paysync_dagster.providers.base import Page
from paysync_dagster.providers.errors import ProviderAuthError
from paysync_dagster.providers.stripe.entities import ENTITIES as STRIPE_ENTITIES
from paysync_dagster.providers.stripe.mapping import MAPPERS
from paysync_dagster.providers.stripe.provider import STRIPE
from paysync_dagster.sandbox.stripe import StripeDataset
from paysync_dagster.store import sessions
from paysync_dagster.store.tables import (
    CANONICAL_TABLES,
    payment_sync_events,
    payment_sync_sessions,
)
from paysync_dagster.store.workspaces import load_credentials
from paysync_dagster.sync.full_sync import sync_entity
from paysync_dagster.sync.provider_sync import SyncOptions, open_client, sync_provider_entity

OPTIONS = SyncOptions(batch_size=150)


def _sync(engine, vault, workspace_id: str, entity: str, options: SyncOptions = OPTIONS):
    return sync_provider_entity(
        STRIPE, engine, vault, workspace_id=workspace_id, entity_type=entity, options=options
    )


def _rows(engine, entity: str, workspace_id: str) -> dict[str, sa.Row]:
    table = CANONICAL_TABLES[entity]
    with engine.connect() as connection:
        return {
            row.external_id: row
            for row in connection.execute(
                sa.select(table).where(table.c.workspace_id == workspace_id)
            )
        }


def _sdk(settings, url) -> stripe.StripeClient:
    return stripe.StripeClient(settings.api_key, base_addresses={"api": url}, max_network_retries=0)


def test_every_entity_lands_complete_and_field_by_field(engine, vault, stripe_workspace):
    settings = stripe_workspace("acme", customers=120, seed=7)
    dataset = StripeDataset(customers=120, seed=7)
    for entity in STRIPE_ENTITIES:
        result = _sync(engine, vault, "acme", entity)
        assert result.status == sessions.COMPLETED
        assert result.listed == dataset.count(entity)
        assert result.inserted == dataset.count(entity)
        rows = _rows(engine, entity, "acme")
        assert len(rows) == dataset.count(entity)
        for index in range(0, dataset.count(entity), max(1, dataset.count(entity) // 7)):
            source = dataset.get(entity, index)
            row = rows[source["id"]]
            assert row.raw == source
            expected = MAPPERS[entity](source, row.source_ts)
            for column, value in expected.items():
                if column not in ("raw", "raw_hash", "source_ts", "deleted_at"):
                    actual = getattr(row, column)
                    if hasattr(actual, "tzinfo") and actual is not None and value is not None:
                        actual, value = actual.replace(tzinfo=None), value.replace(tzinfo=None)
                    assert actual == value, (entity, column)
    assert settings.customers == 120


def test_rerun_inserts_nothing_and_updates_propagate(engine, vault, stripe_workspace):
    settings = stripe_workspace("acme", customers=60, seed=3)
    first = _sync(engine, vault, "acme", "customers")
    assert first.inserted == 60

    again = _sync(engine, vault, "acme", "customers")
    assert (again.inserted, again.updated, again.unchanged, again.deleted) == (0, 0, 60, 0)

    with engine.connect() as connection:
        api_base = connection.scalar(
            sa.text("select api_base from workspace_payment_configurations")
        )
    client = _sdk(settings, api_base)
    target = StripeDataset(customers=60, seed=3).get("customers", 5)["id"]
    client.v1.customers.update(target, {"email": "changed@example.com"})
    gone = StripeDataset(customers=60, seed=3).get("customers", 9)["id"]
    client.v1.customers.delete(gone)
    created = client.v1.customers.create({"email": "new@example.com", "name": "New Person"})

    after = _sync(engine, vault, "acme", "customers")
    assert (after.inserted, after.updated, after.deleted) == (1, 1, 1)
    rows = _rows(engine, "customers", "acme")
    assert rows[target].email == "changed@example.com"
    assert rows[gone].deleted_at is not None
    assert rows[created.id].email == "new@example.com"


def test_rate_limit_storm_and_server_errors_still_complete(engine, vault, stripe_workspace):
    stripe_workspace("stormy", customers=150, seed=1, rate_limit=20.0, fail_rate=0.25)
    result = _sync(
        engine, vault, "stormy", "customers", SyncOptions(batch_size=100, max_retries=20)
    )
    assert result.status == sessions.COMPLETED
    assert result.retries > 0
    assert result.api_calls == result.pages + result.retries
    assert len(_rows(engine, "customers", "stormy")) == 150


def test_bad_credentials_fail_fast_and_write_nothing(engine, vault, stripe_sandbox):
    from paysync_dagster.providers.configure import add_workspace

    url, _ = stripe_sandbox(customers=10)
    add_workspace(
        engine,
        vault,
        workspace_id="wrongkey",
        provider="stripe",
        api_key="sk_test_" + "0" * 24,
        api_base=url,
    )
    with pytest.raises(ProviderAuthError) as raised:
        _sync(engine, vault, "wrongkey", "customers", SyncOptions(max_retries=0))
    assert "sk_test_" not in str(raised.value)
    with engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(payment_sync_sessions)) == 0
        assert (
            connection.scalar(sa.select(sa.func.count()).select_from(CANONICAL_TABLES["customers"]))
            == 0
        )


class _CorruptingSource:
    """Wraps the real client and breaks one object: a malformed provider record is a fault
    the sandbox cannot produce, so it is injected here."""

    def __init__(self, inner, bad_id: str) -> None:
        self._inner = inner
        self._bad_id = bad_id

    def list_pages(self, entity: str, *, starting_after: str | None = None) -> Iterator[Page]:
        for page in self._inner.list_pages(entity, starting_after=starting_after):
            objects = [
                {**obj, "email": 12345} if obj["id"] == self._bad_id else obj
                for obj in page.objects
            ]
            yield Page(objects, page.has_more, page.fetched_at, page.api_calls, page.retries)


class _DyingSource:
    """Wraps the real client and dies after `pages` pages: a crash mid-sync, injected."""

    def __init__(self, inner, pages: int) -> None:
        self._inner = inner
        self._pages = pages

    def list_pages(self, entity: str, *, starting_after: str | None = None) -> Iterator[Page]:
        for number, page in enumerate(
            self._inner.list_pages(entity, starting_after=starting_after)
        ):
            if number == self._pages:
                raise ConnectionError("worker lost mid-sync")
            yield page


def _api(engine, vault, workspace_id):
    credentials = load_credentials(engine, vault, workspace_id=workspace_id, provider="stripe")
    return open_client(STRIPE, credentials, OPTIONS)


def test_a_record_that_fails_to_map_is_recorded_and_skipped(engine, vault, stripe_workspace):
    stripe_workspace("acme", customers=50, seed=2)
    bad_id = StripeDataset(customers=50, seed=2).get("customers", 17)["id"]
    source = _CorruptingSource(_api(engine, vault, "acme"), bad_id)
    result = sync_entity(
        engine, source, workspace_id="acme", provider="stripe", entity_type="customers",
        table=CANONICAL_TABLES["customers"], mapper=MAPPERS["customers"],
    )  # fmt: skip
    assert result.status == sessions.COMPLETED_WITH_ERRORS
    assert (result.failed, result.inserted) == (1, 49)
    with engine.connect() as connection:
        event = connection.execute(sa.select(payment_sync_events)).one()
    assert event.external_id == bad_id
    assert "email" in event.message
    assert bad_id not in _rows(engine, "customers", "acme")


def test_a_sync_that_dies_keeps_its_batches_and_the_rerun_resumes(engine, vault, stripe_workspace):
    stripe_workspace("acme", customers=450, seed=4)
    table = CANONICAL_TABLES["customers"]
    dying = _DyingSource(_api(engine, vault, "acme"), pages=3)
    with pytest.raises(ConnectionError):
        sync_entity(
            engine, dying, workspace_id="acme", provider="stripe", entity_type="customers",
            table=table, mapper=MAPPERS["customers"], batch_size=100,
        )  # fmt: skip
    assert len(_rows(engine, "customers", "acme")) == 300
    with engine.connect() as connection:
        failed = connection.execute(sa.select(payment_sync_sessions)).one()
    assert failed.status == sessions.FAILED
    assert "worker lost" in failed.error_message

    resumed = _sync(engine, vault, "acme", "customers")
    assert resumed.resumed
    assert resumed.status == sessions.COMPLETED
    assert resumed.listed == 150
    assert resumed.deleted == 0
    rows = _rows(engine, "customers", "acme")
    assert len(rows) == 450
    assert all(row.deleted_at is None for row in rows.values())
