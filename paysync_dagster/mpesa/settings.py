"""The settings service behind `POST /api/mpesa-settings`: one transaction for both flags.

A bar's credentials, `mpesa_credentials.is_active` and `bars.mpesa_enabled` are written in a
single transaction that first locks the bar, so concurrent requests for one bar apply one after
the other and every reader sees either all of a request or none of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from paysync_dagster.mpesa import credentials
from paysync_dagster.mpesa.errors import SettingsValidationError
from paysync_dagster.mpesa.locking import lock_bars, write_transaction
from paysync_dagster.mpesa.retry import RetryPolicy, retry_transient
from paysync_dagster.mpesa.validation import MpesaSettings
from paysync_dagster.store.tables import bars, mpesa_credentials
from paysync_dagster.store.vault import Vault


@dataclass(frozen=True)
class SyncStatus:
    """The seed's `sync_status`: what the committed transaction wrote."""

    credentials_updated: bool
    bar_status_updated: bool


def apply_settings(
    engine: sa.Engine, vault: Vault, settings: MpesaSettings, retry: RetryPolicy | None = None
) -> SyncStatus:
    """Store `settings` for its bar and set both flags to `settings.enabled`, atomically.

    Raises `SettingsValidationError` (naming `barId`) when the bar does not exist; transient
    database errors are retried with exponential backoff; on any error nothing is written.
    """
    # Encrypting outside the transaction keeps the bar locked only for the writes.
    ciphertexts = credentials.encrypt(vault, settings)
    return retry_transient(
        retry or RetryPolicy(),
        f"M-Pesa settings for bar {settings.bar_id}",
        lambda: _write(engine, settings, ciphertexts),
    )


def _write(engine: sa.Engine, settings: MpesaSettings, ciphertexts: dict[str, str]) -> SyncStatus:
    now = datetime.now(UTC)
    values = {
        "environment": settings.environment,
        "business_shortcode": settings.business_shortcode,
        "is_active": settings.enabled,
        "updated_at": now,
        **ciphertexts,
    }
    with write_transaction(engine) as connection:
        if not lock_bars(connection, [settings.bar_id]):
            raise SettingsValidationError({"barId": "no bar has this id"})
        updated = connection.execute(
            sa.update(mpesa_credentials)
            .where(mpesa_credentials.c.bar_id == settings.bar_id)
            .values(**values)
        ).rowcount
        if not updated:
            connection.execute(
                sa.insert(mpesa_credentials).values(
                    bar_id=settings.bar_id, created_at=now, **values
                )
            )
        connection.execute(
            sa.update(bars)
            .where(bars.c.id == settings.bar_id)
            .values(mpesa_enabled=settings.enabled, updated_at=now)
        )
    return SyncStatus(credentials_updated=True, bar_status_updated=True)
