"""One migrated database per backend and test module, shared by the property tests.

Hypothesis runs hundreds of examples per property; each example empties the M-Pesa tables
(`helpers.reset`) instead of copying a database, which keeps both backends fast.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa

from paysync_dagster.server import ServerContext, build_app
from paysync_dagster.serving import server_in_thread, uvicorn_server
from paysync_dagster.settings import Settings
from paysync_dagster.store.database import create_engine
from paysync_dagster.store.tokens import create_token
from paysync_dagster.store.vault import KeyRing, Vault
from tests.mpesa.helpers import install_fault_trigger
from tests.support import BACKENDS, MigratedTemplates


@pytest.fixture(scope="module", params=BACKENDS)
def shared_database(
    request: pytest.FixtureRequest, tmp_path_factory, migrated_templates: MigratedTemplates
) -> Iterator[str]:
    """A migrated database URL for the whole module, with the fault trigger installed."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = migrated_templates.sqlite_copy(tmp_path_factory.mktemp("mpesa") / "paysync.db")
        else:
            url = stack.enter_context(migrated_templates.postgresql_copy())
        engine = create_engine(url)
        install_fault_trigger(engine)
        engine.dispose()
        yield url


@pytest.fixture(scope="module")
def shared_engine(shared_database: str) -> Iterator[sa.Engine]:
    engine = create_engine(shared_database)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def shared_vault() -> Vault:
    return Vault(KeyRing.generate("test1"))


@dataclass(frozen=True)
class Api:
    """A running `paysync serve` app and an authorized client for it."""

    client: httpx.Client
    token: str

    def save(self, body: object) -> httpx.Response:
        return self.client.post(
            "/api/mpesa-settings", json=body, headers={"Authorization": f"Bearer {self.token}"}
        )

    def payment_methods(self, bar_id: int) -> httpx.Response:
        return self.client.get(f"/api/bars/{bar_id}/payment-methods")


@pytest.fixture(scope="module")
def shared_api(
    shared_engine: sa.Engine, shared_vault: Vault, shared_database: str, tmp_path_factory
) -> Iterator[Api]:
    """A real uvicorn server over the module's database, and a valid token."""
    settings = Settings(
        home=tmp_path_factory.mktemp("home"), database_url=shared_database, production=False
    )
    context = ServerContext(settings=settings, engine=shared_engine, vault=shared_vault)
    token = create_token(shared_engine, f"test-{uuid.uuid4().hex[:8]}", admin=True)
    with (
        server_in_thread(uvicorn_server(build_app(context)), "paysync server") as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield Api(client, token)
