"""Shared fixtures: a migrated database on every backend, a vault, and Stripe sandboxes.

Every database test runs on a fresh SQLite file, and also on PostgreSQL when
`PAYSYNC_TEST_DATABASE_URL` names a server (each test gets its own database, dropped after).
Both are copies of a template the migrations built once per session (`MigratedTemplates`).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import sqlalchemy as sa

from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.sandbox.payfit import PayfitSandboxSettings
from paysync_dagster.sandbox.payfit import running_sandbox as running_payfit_sandbox
from paysync_dagster.sandbox.stripe import StripeSandboxSettings, running_sandbox
from paysync_dagster.store.database import create_engine
from paysync_dagster.store.vault import KeyRing, Vault
from tests.support import BACKENDS, POSTGRES_URL, MigratedTemplates, fake_api_key

# The browser flows' folder, as pytest names its tests.
UI_TESTS = "tests/ui/"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Slow tests first (a stable sort: the order is otherwise the files'), so that on
    # pytest-xdist's workers they overlap the many short ones instead of ending the run alone.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    if POSTGRES_URL:
        return
    skip = pytest.mark.skip(reason="PostgreSQL tests need PAYSYNC_TEST_DATABASE_URL")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `pytest -n N`: every test is its own unit of work, except the browser flows,
    which share one local stack and run in order on one worker.

    xdist's own `--dist loadgroup` cannot do it with pytest 9: it tags the groups through a
    node attribute pytest 9 no longer reads, so a group's tests spread across workers.
    """
    from xdist.scheduler import LoadScopeScheduling

    class BrowserFlowsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return UI_TESTS if nodeid.startswith(UI_TESTS) else nodeid

    return BrowserFlowsTogether(config, log)


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    """Each backend migrated once per session (and xdist worker), by the real migrations."""
    with MigratedTemplates(tmp_path_factory.mktemp("migrated")) as templates:
        yield templates


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path, migrated_templates: MigratedTemplates
) -> Iterator[str]:
    """A migrated, empty database URL on each backend: a copy of the session's migrated
    template, as `upgrade` leaves a new database (SQLite: a file; PostgreSQL: a database)."""
    if request.param == "sqlite":
        yield migrated_templates.sqlite_copy(tmp_path / "paysync.db")
        return
    with migrated_templates.postgresql_copy() as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def vault(monkeypatch: pytest.MonkeyPatch) -> Vault:
    """A fresh key ring, also exported as PAYSYNC_ENCRYPTION_KEYS as a deployment would."""
    keyring = KeyRing.generate("test1")
    monkeypatch.setenv("PAYSYNC_ENCRYPTION_KEYS", keyring.to_spec())
    return Vault(keyring)


SandboxFactory = Callable[..., tuple[str, StripeSandboxSettings]]


@pytest.fixture
def stripe_sandbox() -> Iterator[SandboxFactory]:
    """Start Stripe sandboxes on free ports: `stripe_sandbox(customers=50, seed=1, ...)`."""
    with ExitStack() as stack:

        def start(**options) -> tuple[str, StripeSandboxSettings]:
            options.setdefault("api_key", fake_api_key())
            settings = StripeSandboxSettings(**options)
            return stack.enter_context(running_sandbox(settings)), settings

        yield start


@pytest.fixture
def stripe_workspace(engine: sa.Engine, vault: Vault, stripe_sandbox: SandboxFactory):
    """Configure a workspace against a fresh sandbox: `stripe_workspace("acme", customers=40)`.

    Test workspaces get a generous rate budget so tests are not paced at Stripe's 25 req/s.
    """

    def configure(workspace_id: str, **sandbox_options) -> StripeSandboxSettings:
        url, settings = stripe_sandbox(**sandbox_options)
        add_workspace(
            engine,
            vault,
            workspace_id=workspace_id,
            provider="stripe",
            api_key=settings.api_key,
            api_base=url,
            rate_limit_per_second=1000,
        )
        return settings

    return configure


PayfitFactory = Callable[..., tuple[str, PayfitSandboxSettings]]


@pytest.fixture
def payfit_sandbox() -> Iterator[PayfitFactory]:
    """Start PayFit sandboxes that record every request: `payfit_sandbox(collaborators=50)`."""
    with ExitStack() as stack:

        def start(**options) -> tuple[str, PayfitSandboxSettings]:
            options.setdefault("api_key", f"pf-test-{secrets.token_hex(12)}")
            options.setdefault("company_id", "cmp-test")
            options.setdefault("rate_limit", None)
            options.setdefault("record_requests", True)
            settings = PayfitSandboxSettings(**options)
            return stack.enter_context(running_payfit_sandbox(settings)), settings

        yield start


@pytest.fixture
def instance_database_url() -> Iterator[str]:
    """A psycopg2 URL of a fresh, empty PostgreSQL database for Dagster's own storage, dropped
    (forcibly) afterwards: `deploy/dagster.yaml` points Dagster at a whole database."""
    assert POSTGRES_URL is not None
    name = f"paysync_dagster_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        # +psycopg2: dagster-postgres speaks psycopg2 (see the comment in deploy/dagster.yaml).
        url = sa.make_url(POSTGRES_URL).set(drivername="postgresql+psycopg2", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
