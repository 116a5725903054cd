"""The resources every asset, check, sensor and schedule shares, and their bindings.

Values that come from the environment are bound with `dg.EnvVar`, so the UI shows where they
come from instead of their values; unset, each falls back to the local default that needs no
setup (SQLite and a key file under `./.paysync/`).
"""

import os
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from pydantic import Field, PrivateAttr

from paysync_dagster.settings import Settings
from paysync_dagster.store.database import create_engine, is_current
from paysync_dagster.store.vault import Vault
from paysync_dagster.sync.provider_sync import SyncOptions
from paysync_dagster.webhooks.processor import ProcessorOptions

# The engine's defaults, the one home of each value; the resources expose them to the UI.
_SYNC = SyncOptions()
_PROCESSOR = ProcessorOptions()


class DatabaseResource(dg.ConfigurableResource):
    """SQLAlchemy access to paysync's tables.

    `url` defaults to `PAYSYNC_DATABASE_URL`, else the local SQLite file under `./.paysync/`.
    The schema is managed by `paysync db upgrade`; a database that is behind fails fast with
    that instruction instead of failing mid-sync on a missing column.
    """

    url: str | None = None
    _engine: sa.Engine | None = PrivateAttr(default=None)

    def get_engine(self) -> sa.Engine:
        """The engine, created and schema-checked on first use."""
        if self._engine is None:
            engine = create_engine(self.url or Settings.from_environment().database_url)
            if not is_current(engine):
                engine.dispose()
                raise dg.Failure(
                    "the paysync database is not migrated to the current schema;"
                    " run `paysync db upgrade` first"
                )
            self._engine = engine
        return self._engine

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()


class VaultResource(dg.ConfigurableResource):
    """Decrypts workspace credentials for provider clients.

    Keys come from `PAYSYNC_ENCRYPTION_KEYS`; locally, without it, from the key file under
    `home` (default `PAYSYNC_HOME` or `./.paysync/`).
    """

    home: str | None = None

    def get_vault(self) -> Vault:
        """A vault over the configured key ring."""
        home = Path(self.home) if self.home else Settings.from_environment().home
        return Vault.from_environment(os.environ, home=home)


class SyncResource(dg.ConfigurableResource):
    """How provider syncs batch, retry and share the providers' rate limits.

    A workspace's own configured rate limit wins; otherwise the per-mode rate here; otherwise
    the provider's documented limit (Stripe: 25 req/s test, 100 live; PayFit: 50 per key).
    """

    batch_size: int = Field(
        default=_SYNC.batch_size, ge=1, le=10_000, description="Objects per transaction."
    )
    max_retries: int = Field(default=_SYNC.max_retries, ge=0, le=20)
    timeout_seconds: float = Field(default=_SYNC.timeout_seconds, gt=0)
    test_mode_requests_per_second: float | None = Field(default=None, gt=0)
    live_mode_requests_per_second: float | None = Field(default=None, gt=0)
    max_concurrent_workspaces: int = Field(default=_SYNC.max_concurrent_workspaces, ge=1, le=64)

    def options(self) -> SyncOptions:
        """The engine's view of these settings."""
        return SyncOptions(
            batch_size=self.batch_size,
            max_retries=self.max_retries,
            timeout_seconds=self.timeout_seconds,
            test_mode_requests_per_second=self.test_mode_requests_per_second,
            live_mode_requests_per_second=self.live_mode_requests_per_second,
            max_concurrent_workspaces=self.max_concurrent_workspaces,
        )


class WebhookProcessingResource(dg.ConfigurableResource):
    """Retry policy and limits of the webhook processor and the inbox checks.

    The same defaults as `paysync serve`, so an event dead-letters after the same number of
    attempts whichever of them processed it.
    """

    batch_size: int = Field(
        default=_PROCESSOR.batch_size, ge=1, le=5000, description="Events per transaction."
    )
    max_attempts: int = Field(
        default=_PROCESSOR.max_attempts, ge=1, le=100, description="Attempts before dead letter."
    )
    backoff_base_seconds: float = Field(default=_PROCESSOR.backoff_base_seconds, ge=0)
    lease_seconds: float = Field(default=_PROCESSOR.lease_seconds, gt=0)
    max_pending_seconds: int = Field(
        default=60, ge=1, description="Pending longer than this fails the inbox check."
    )

    def options(self) -> ProcessorOptions:
        """The engine's view of these settings."""
        return ProcessorOptions(
            batch_size=self.batch_size,
            max_attempts=self.max_attempts,
            backoff_base_seconds=self.backoff_base_seconds,
            lease_seconds=self.lease_seconds,
        )


def _from_environment(name: str) -> dg.EnvVar | None:
    """`dg.EnvVar(name)` when the variable is set, else None (the resource's local default)."""
    return dg.EnvVar(name) if os.environ.get(name) else None


@dg.definitions
def resources() -> dg.Definitions:
    """The deployed bindings: the database and the vault follow the environment."""
    return dg.Definitions(
        resources={
            "database": DatabaseResource(url=_from_environment("PAYSYNC_DATABASE_URL")),
            "vault": VaultResource(home=_from_environment("PAYSYNC_HOME")),
            "sync": SyncResource(),
            "webhook_processing": WebhookProcessingResource(),
        }
    )
