"""Configuring a workspace's provider: validated by the registry, stored by `store/`.

The store validates what every provider shares (workspace id, API base, rate limit); the
provider's own fields (key format, webhook secret, PayFit's company id) are validated here,
through its registry entry, so that `store/` never needs to know which providers exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import sqlalchemy as sa

from paysync_dagster.providers.base import Credentials, Provider
from paysync_dagster.providers.registry import get_provider
from paysync_dagster.store import workspaces as store
from paysync_dagster.store.vault import Vault
from paysync_dagster.store.workspaces import (
    WorkspaceConfig,
    WorkspaceCredentials,
    WorkspaceError,
    WorkspaceSummary,
)

API_KEY = "api_key"
WEBHOOK_SECRET = "webhook_secret"  # noqa: S105 - the name of a field, not a secret
_STORED_APART = (API_KEY, WEBHOOK_SECRET)


def _validated_options(provider: Provider, options: Mapping[str, str]) -> dict[str, str]:
    fields = {f.name: f for f in provider.credential_fields if f.name not in _STORED_APART}
    unknown = sorted(set(options) - set(fields))
    if unknown:
        allowed = ", ".join(sorted(fields)) or "none"
        raise WorkspaceError(
            f"{provider.name} takes no option {unknown[0]!r} (its options: {allowed})"
        )
    return {name: fields[name].validate(value) for name, value in options.items()}


def _field(provider: Provider, name: str):
    for candidate in provider.credential_fields:
        if candidate.name == name:
            return candidate
    return None


def workspace_config(
    *,
    workspace_id: str,
    provider: str,
    api_key: str,
    webhook_secret: str | None = None,
    api_base: str | None = None,
    rate_limit_per_second: float | None = None,
    options: Mapping[str, str] | None = None,
) -> WorkspaceConfig:
    """A configuration validated by `provider`'s registry entry and the shared rules.

    The error names the bad input, never a secret's text.
    """
    spec = get_provider(provider)
    key_field = _field(spec, API_KEY)
    if key_field is not None:
        api_key = key_field.validate(api_key)
    if webhook_secret is not None:
        secret_field = _field(spec, WEBHOOK_SECRET)
        if secret_field is None:
            raise WorkspaceError(f"{spec.name} takes no webhook secret")
        webhook_secret = secret_field.validate(webhook_secret)
    return WorkspaceConfig(
        workspace_id=workspace_id,
        provider=spec.name,
        api_key=api_key,
        is_test_mode=spec.key_is_test_mode(api_key),
        webhook_secret=webhook_secret,
        api_base=api_base,
        rate_limit_per_second=rate_limit_per_second,
        options=_validated_options(spec, options or {}),
    ).validated()


def add_workspace(
    engine: sa.Engine,
    vault: Vault,
    *,
    workspace_id: str,
    provider: str,
    api_key: str,
    webhook_secret: str | None = None,
    api_base: str | None = None,
    rate_limit_per_second: float | None = None,
    options: Mapping[str, str] | None = None,
    replace: bool = False,
) -> WorkspaceSummary:
    """Validate a workspace's configuration for its provider and store it, secrets encrypted.

    Nothing is written when any input is invalid.
    """
    config = workspace_config(
        workspace_id=workspace_id,
        provider=provider,
        api_key=api_key,
        webhook_secret=webhook_secret,
        api_base=api_base,
        rate_limit_per_second=rate_limit_per_second,
        options=options,
    )
    [summary] = store.save_workspaces(engine, vault, [config], replace_existing=replace)
    return summary


def rotate_webhook_secret(
    engine: sa.Engine,
    vault: Vault,
    *,
    workspace_id: str,
    provider: str,
    new_secret: str,
    previous_valid_for: timedelta = store.DEFAULT_SECRET_ROTATION_WINDOW,
) -> datetime | None:
    """Validate `new_secret` for `provider`, then rotate it in (see the store's function)."""
    spec = get_provider(provider)
    secret_field = _field(spec, WEBHOOK_SECRET)
    if secret_field is None:
        raise WorkspaceError(f"{spec.name} takes no webhook secret")
    return store.rotate_webhook_secret(
        engine,
        vault,
        workspace_id=workspace_id,
        provider=spec.name,
        new_secret=secret_field.validate(new_secret),
        previous_valid_for=previous_valid_for,
    )


def client_credentials(stored: WorkspaceCredentials) -> Credentials:
    """A stored configuration as the provider's client takes it."""
    return Credentials(
        workspace_id=stored.summary.workspace_id,
        api_key=stored.api_key,
        api_base=stored.summary.api_base,
        options=stored.summary.options,
    )


def stored_mock_mode_reason(
    engine: sa.Engine, vault: Vault, *, workspace_id: str, provider: Provider
) -> str | None:
    """Why `workspace_id`'s stored configuration for `provider` must not be called (None: it
    may be). Raises `WorkspaceError` or `VaultError` when it cannot be read."""
    stored = store.load_credentials(
        engine, vault, workspace_id=workspace_id, provider=provider.name
    )
    return provider.mock_mode_reason(client_credentials(stored))


# The fields a bulk import row may carry; `options` fields are the providers' own.
IMPORT_FIELDS = (
    "workspace_id",
    "provider",
    "api_key",
    "webhook_secret",
    "api_base",
    "rate_limit_per_second",
    "company_id",
    "oauth_base",
)
_OPTION_FIELDS = ("company_id", "oauth_base")


def import_config(row: Mapping[str, str | None]) -> WorkspaceConfig:
    """One import row (CSV columns or a JSON line's keys, `IMPORT_FIELDS`) as a validated
    configuration; empty cells are absent values."""
    values = {name: value for name, value in row.items() if value not in (None, "")}
    unknown = sorted(set(values) - set(IMPORT_FIELDS))
    if unknown:
        raise WorkspaceError(f"unknown column {unknown[0]!r} (columns: {', '.join(IMPORT_FIELDS)})")
    for required in ("workspace_id", "api_key"):
        if required not in values:
            raise WorkspaceError(f"missing {required}")
    rate = values.get("rate_limit_per_second")
    try:
        rate_limit = None if rate is None else float(rate)
    except ValueError:
        raise WorkspaceError("rate_limit_per_second is not a number") from None
    return workspace_config(
        workspace_id=str(values["workspace_id"]),
        provider=str(values.get("provider", "stripe")),
        api_key=str(values["api_key"]),
        webhook_secret=values.get("webhook_secret"),
        api_base=values.get("api_base"),
        rate_limit_per_second=rate_limit,
        options={name: str(values[name]) for name in _OPTION_FIELDS if name in values},
    )
