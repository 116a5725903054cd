"""Workspace provider configurations: validated on the way in, credentials stored encrypted.

A workspace (tenant) has at most one configuration per provider. The API key and webhook secret
only ever leave this module decrypted inside a `WorkspaceCredentials`, whose repr hides them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from paysync_dagster.store.tables import (
    CANONICAL_TABLES,
    CIPHERTEXT_COLUMNS,
    workspace_payment_configurations,
)
from paysync_dagster.store.upsert import as_utc
from paysync_dagster.store.vault import Vault, VaultError
from paysync_dagster.urls import InvalidUrlError, validate_http_url

WORKSPACE_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")

_table = workspace_payment_configurations
_CIPHERTEXT_NAMES = tuple(c.name for c in CIPHERTEXT_COLUMNS if c.table is _table)


class WorkspaceError(ValueError):
    """A workspace operation was refused; the message names the bad input, never a secret."""


@dataclass(frozen=True)
class WorkspaceSummary:
    """What may be shown about a configuration: everything except the secrets."""

    workspace_id: str
    provider: str
    is_active: bool
    is_test_mode: bool
    api_base: str | None
    rate_limit_per_second: float | None
    has_webhook_secret: bool
    created_at: datetime
    # Provider-specific settings that are not secret (e.g. PayFit's company id).
    options: dict[str, str] = field(default_factory=dict)
    # The row's id: the control API's `config_id`.
    config_id: int | None = None


@dataclass(frozen=True)
class WorkspaceCredentials:
    """A configuration with its secrets decrypted, for the provider client only."""

    summary: WorkspaceSummary
    api_key: str = field(repr=False)
    webhook_secret: str | None = field(default=None, repr=False)


def validate_workspace_id(value: str) -> str:
    """A workspace id is a slug: it doubles as the Dagster partition key."""
    if not WORKSPACE_ID_PATTERN.fullmatch(value):
        raise WorkspaceError(
            f"invalid workspace id {value[:80]!r}: use 1-64 lowercase letters, digits, '-' or '_',"
            " starting with a letter or digit"
        )
    return value


def validate_api_base(value: str) -> str:
    """An http(s) URL without credentials, query or fragment (see `paysync_dagster.urls`)."""
    try:
        return validate_http_url(value, "API base URL")
    except InvalidUrlError as error:
        raise WorkspaceError(str(error)) from None


def _summary(row: sa.Row) -> WorkspaceSummary:
    return WorkspaceSummary(
        workspace_id=row.workspace_id,
        provider=row.provider,
        is_active=row.is_active,
        is_test_mode=row.is_test_mode,
        api_base=row.api_base,
        rate_limit_per_second=row.rate_limit_per_second,
        has_webhook_secret=row.webhook_secret_ciphertext is not None,
        created_at=row.created_at,
        options=dict(row.options or {}),
        config_id=row.id,
    )


@dataclass(frozen=True)
class WorkspaceConfig:
    """One provider configuration of a workspace, as it is to be stored.

    Built by `providers.configure`, which validates the provider's own fields first; what
    every provider shares is validated when it is saved.
    """

    workspace_id: str
    provider: str
    api_key: str = field(repr=False)
    is_test_mode: bool
    webhook_secret: str | None = field(default=None, repr=False)
    api_base: str | None = None
    rate_limit_per_second: float | None = None
    options: dict[str, str] = field(default_factory=dict)

    def validated(self) -> WorkspaceConfig:
        """This configuration with the shared fields checked (and the API base normalized)."""
        validate_workspace_id(self.workspace_id)
        rate = self.rate_limit_per_second
        if rate is not None and not 0 < rate <= 10_000:
            raise WorkspaceError("invalid rate limit: expected requests per second in (0, 10000]")
        if self.api_base is None:
            return self
        return replace(self, api_base=validate_api_base(self.api_base))


def save_workspaces(
    engine: sa.Engine,
    vault: Vault,
    configs: Sequence[WorkspaceConfig],
    *,
    replace_existing: bool = False,
) -> list[WorkspaceSummary]:
    """Store configurations with encrypted secrets, all in one transaction.

    Refuses an existing (workspace, provider) pair unless `replace_existing` is set; nothing
    is written when any configuration is invalid or refused.
    """
    configs = [config.validated() for config in configs]
    now = datetime.now(UTC)
    summaries = []
    with engine.begin() as connection:
        for config in configs:
            workspace_id, provider = config.workspace_id, config.provider
            values = {
                "is_active": True,
                "is_test_mode": config.is_test_mode,
                "api_base": config.api_base,
                "options": config.options or None,
                "rate_limit_per_second": config.rate_limit_per_second,
                "api_key_ciphertext": vault.encrypt(
                    config.api_key, workspace_id=workspace_id, provider=provider
                ),
                "webhook_secret_ciphertext": None
                if config.webhook_secret is None
                else vault.encrypt(
                    config.webhook_secret, workspace_id=workspace_id, provider=provider
                ),
                "updated_at": now,
            }
            key = (_table.c.workspace_id == workspace_id) & (_table.c.provider == provider)
            exists = connection.execute(sa.select(_table.c.id).where(key)).first() is not None
            if exists and not replace_existing:
                raise WorkspaceError(
                    f"workspace {workspace_id!r} already has a {provider} configuration"
                    " (use --replace to overwrite it)"
                )
            if exists:
                connection.execute(sa.update(_table).where(key).values(**values))
            else:
                connection.execute(
                    sa.insert(_table).values(
                        workspace_id=workspace_id, provider=provider, created_at=now, **values
                    )
                )
            summaries.append(_summary(connection.execute(sa.select(_table).where(key)).one()))
    return summaries


def list_workspaces(engine: sa.Engine, *, provider: str | None = None) -> list[WorkspaceSummary]:
    """Every configuration, ordered by workspace id; secrets are not read."""
    query = sa.select(_table).order_by(_table.c.workspace_id, _table.c.provider)
    if provider is not None:
        query = query.where(_table.c.provider == provider)
    with engine.connect() as connection:
        return [_summary(row) for row in connection.execute(query)]


def workspace_ids(engine: sa.Engine) -> list[str]:
    """The distinct ids of workspaces with an active configuration: the Dagster partitions."""
    query = (
        sa.select(_table.c.workspace_id)
        .where(_table.c.is_active)
        .distinct()
        .order_by(_table.c.workspace_id)
    )
    with engine.connect() as connection:
        return list(connection.scalars(query))


def get_configuration(engine: sa.Engine, config_id: int) -> WorkspaceSummary | None:
    """The configuration with id `config_id`, or None; secrets are not read."""
    with engine.connect() as connection:
        row = connection.execute(sa.select(_table).where(_table.c.id == config_id)).first()
    return None if row is None else _summary(row)


def remove_configuration(engine: sa.Engine, *, workspace_id: str, provider: str) -> None:
    """Delete one provider's configuration of a workspace (its synced rows stay)."""
    key = (_table.c.workspace_id == workspace_id) & (_table.c.provider == provider)
    with engine.begin() as connection:
        if not connection.execute(sa.delete(_table).where(key)).rowcount:
            raise WorkspaceError(f"workspace {workspace_id!r} has no {provider} configuration")


def load_credentials(
    engine: sa.Engine, vault: Vault, *, workspace_id: str, provider: str
) -> WorkspaceCredentials:
    """The configuration with decrypted secrets; a clear error when there is none."""
    key = (_table.c.workspace_id == workspace_id) & (_table.c.provider == provider)
    with engine.connect() as connection:
        row = connection.execute(sa.select(_table).where(key)).first()
    if row is None:
        raise WorkspaceError(
            f"workspace {workspace_id!r} has no {provider} configuration; add it with"
            f" `paysync workspace add {workspace_id} --provider {provider} --api-key …`"
        )
    webhook_secret = (
        None
        if row.webhook_secret_ciphertext is None
        else vault.decrypt(
            row.webhook_secret_ciphertext, workspace_id=workspace_id, provider=provider
        )
    )
    return WorkspaceCredentials(
        summary=_summary(row),
        api_key=vault.decrypt(row.api_key_ciphertext, workspace_id=workspace_id, provider=provider),
        webhook_secret=webhook_secret,
    )


def undecryptable_workspaces(engine: sa.Engine, vault: Vault) -> list[str]:
    """Ids of workspaces with a stored secret the vault cannot decrypt (sorted, distinct).

    Checks the API key, the webhook secret and, while its rotation window lasts, the previous
    webhook secret: everything the service may need to decrypt.
    """
    now = datetime.now(UTC)
    failing: set[str] = set()
    with engine.connect() as connection:
        rows = connection.execute(sa.select(_table)).all()
    for row in rows:
        expires_at = row.previous_webhook_secret_expires_at
        tokens = [row.api_key_ciphertext, row.webhook_secret_ciphertext]
        if expires_at is not None and as_utc(expires_at) > now:
            tokens.append(row.previous_webhook_secret_ciphertext)
        try:
            for token in tokens:
                if token is not None:
                    vault.decrypt(token, workspace_id=row.workspace_id, provider=row.provider)
        except VaultError:
            failing.add(row.workspace_id)
    return sorted(failing)


def remove_workspace(engine: sa.Engine, workspace_id: str, *, purge_data: bool = False) -> int:
    """Delete a workspace's configurations (and, if asked, its synced rows); returns how many
    configurations were removed."""
    validate_workspace_id(workspace_id)
    with engine.begin() as connection:
        removed = connection.execute(
            sa.delete(_table).where(_table.c.workspace_id == workspace_id)
        ).rowcount
        if removed == 0:
            raise WorkspaceError(f"no workspace {workspace_id!r} is configured")
        if purge_data:
            for table in CANONICAL_TABLES.values():
                connection.execute(sa.delete(table).where(table.c.workspace_id == workspace_id))
    return removed


def rotate_keys(
    engine: sa.Engine,
    vault: Vault,
    also: Sequence[Callable[[sa.Connection, Vault], int]] = (),
) -> int:
    """Re-encrypt every stored secret not under the vault's primary key; returns how many.

    `also` rotates other secret stores (e.g. M-Pesa credentials) on the same connection.
    Runs in one transaction, so a failure part-way leaves every secret under its old key.
    """
    rotated = 0
    with engine.begin() as connection:
        for rotate in also:
            rotated += rotate(connection, vault)
        for row in connection.execute(sa.select(_table)).all():
            changes = {}
            for column in _CIPHERTEXT_NAMES:
                token = getattr(row, column)
                if token is not None and vault.needs_rotation(token):
                    changes[column] = vault.reencrypt(
                        token, workspace_id=row.workspace_id, provider=row.provider
                    )
            if changes:
                connection.execute(sa.update(_table).where(_table.c.id == row.id).values(**changes))
                rotated += len(changes)
    return rotated


# -- Webhook signing secrets ------------------------------------------------------------------

DEFAULT_SECRET_ROTATION_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class WebhookSecret:
    """A signing secret the receiver accepts, until `expires_at` when it is the previous one."""

    secret: str = field(repr=False)
    expires_at: datetime | None = None


def load_webhook_secrets(
    engine: sa.Engine, vault: Vault, *, workspace_id: str, provider: str
) -> list[WebhookSecret]:
    """The current webhook secret and, during a rotation window, the previous one.

    An unknown workspace, or one without a webhook secret, has none.
    """
    key = (_table.c.workspace_id == workspace_id) & (_table.c.provider == provider)
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(
                _table.c.webhook_secret_ciphertext,
                _table.c.previous_webhook_secret_ciphertext,
                _table.c.previous_webhook_secret_expires_at,
            ).where(key, _table.c.is_active)
        ).first()
    if row is None or row.webhook_secret_ciphertext is None:
        return []
    secrets = [
        WebhookSecret(
            vault.decrypt(
                row.webhook_secret_ciphertext, workspace_id=workspace_id, provider=provider
            )
        )
    ]
    expires_at = row.previous_webhook_secret_expires_at
    if row.previous_webhook_secret_ciphertext is not None and expires_at is not None:
        expires_at = as_utc(expires_at)
        if expires_at > datetime.now(UTC):
            previous = vault.decrypt(
                row.previous_webhook_secret_ciphertext,
                workspace_id=workspace_id,
                provider=provider,
            )
            secrets.append(WebhookSecret(previous, expires_at))
    return secrets


def rotate_webhook_secret(
    engine: sa.Engine,
    vault: Vault,
    *,
    workspace_id: str,
    provider: str,
    new_secret: str,
    previous_valid_for: timedelta = DEFAULT_SECRET_ROTATION_WINDOW,
) -> datetime | None:
    """Make `new_secret` the webhook secret; the old one stays valid for `previous_valid_for`.

    Returns when the previous secret expires (None when there was none). A zero window
    revokes the old secret at once.
    """
    validate_workspace_id(workspace_id)
    if previous_valid_for < timedelta(0) or previous_valid_for > timedelta(days=30):
        raise WorkspaceError("invalid rotation window: expected between 0 and 30 days")
    now = datetime.now(UTC)
    key = (_table.c.workspace_id == workspace_id) & (_table.c.provider == provider)
    with engine.begin() as connection:
        row = connection.execute(sa.select(_table.c.webhook_secret_ciphertext).where(key)).first()
        if row is None:
            raise WorkspaceError(
                f"workspace {workspace_id!r} has no {provider} configuration; add it with"
                f" `paysync workspace add {workspace_id} --provider {provider} --api-key …`"
            )
        expires_at = now + previous_valid_for if row.webhook_secret_ciphertext else None
        connection.execute(
            sa.update(_table)
            .where(key)
            .values(
                webhook_secret_ciphertext=vault.encrypt(
                    new_secret, workspace_id=workspace_id, provider=provider
                ),
                previous_webhook_secret_ciphertext=row.webhook_secret_ciphertext,
                previous_webhook_secret_expires_at=expires_at,
                updated_at=now,
            )
        )
    return expires_at


def set_webhook_refetch(engine: sa.Engine, *, workspace_id: str, provider: str, on: bool) -> None:
    """Whether the webhook processor fetches each object's current state from the provider
    instead of trusting the event payload (one API call per event; immune to reordering)."""
    key = (_table.c.workspace_id == workspace_id) & (_table.c.provider == provider)
    with engine.begin() as connection:
        updated = connection.execute(
            sa.update(_table).where(key).values(webhook_refetch=on, updated_at=datetime.now(UTC))
        ).rowcount
    if not updated:
        raise WorkspaceError(
            f"workspace {workspace_id!r} has no {provider} configuration; add it with"
            f" `paysync workspace add {workspace_id} --provider {provider} --api-key …`"
        )
