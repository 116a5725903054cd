"""Building M-Pesa states for tests: bars, credentials, fake secrets and injected faults."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from paysync_dagster.mpesa import credentials
from paysync_dagster.mpesa.validation import MpesaSettings
from paysync_dagster.store.tables import bars, mpesa_credentials, mpesa_repair_failures
from paysync_dagster.store.vault import Vault

# A bar's state: its `mpesa_enabled`, and its credentials' `is_active` (None: no credentials).
BarState = tuple[bool, bool | None]

FAULTS_TABLE = "test_bar_faults"


def settings_body(bar_id: int | str, enabled: bool = True, **overrides: Any) -> dict[str, Any]:
    """A valid `MpesaSettingsRequest` with freshly generated, obviously fake secrets."""
    body = {
        "barId": str(bar_id),
        "mpesa_enabled": enabled,
        "mpesa_environment": "sandbox",
        "mpesa_business_shortcode": "174379",
        "mpesa_consumer_key": f"fake-key-{secrets.token_hex(8)}",
        "mpesa_consumer_secret": f"fake-secret-{secrets.token_hex(8)}",
        "mpesa_passkey": f"fake-passkey-{secrets.token_hex(16)}",
    }
    body.update(overrides)
    return body


def insert_bars(engine: sa.Engine, vault: Vault, states: Sequence[BarState]) -> list[int]:
    """Insert one bar per state (credentials with real, bar-bound ciphertexts); returns ids."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        ids = [
            connection.execute(
                sa.insert(bars)
                .values(name=f"bar {i}", mpesa_enabled=enabled, created_at=now, updated_at=now)
                .returning(bars.c.id)
            ).scalar_one()
            for i, (enabled, _active) in enumerate(states)
        ]
        rows = []
        for bar_id, (_enabled, active) in zip(ids, states, strict=True):
            if active is None:
                continue
            settings = MpesaSettings(
                bar_id, active, "sandbox", "174379", "fake-k", "fake-s", "fake-p"
            )
            rows.append(
                {
                    "bar_id": bar_id,
                    "environment": "sandbox",
                    "business_shortcode": "174379",
                    "is_active": active,
                    "created_at": now,
                    "updated_at": now,
                    **credentials.encrypt(vault, settings),
                }
            )
        if rows:
            connection.execute(sa.insert(mpesa_credentials), rows)
    return ids


def flags(engine: sa.Engine) -> dict[int, BarState]:
    """Every bar's (mpesa_enabled, is_active or None)."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(bars.c.id, bars.c.mpesa_enabled, mpesa_credentials.c.is_active).select_from(
                bars.outerjoin(mpesa_credentials)
            )
        ).all()
    return {row.id: (row.mpesa_enabled, row.is_active) for row in rows}


def snapshot(engine: sa.Engine) -> tuple[list[dict], list[dict]]:
    """Every row of bars and mpesa_credentials, for "nothing changed" assertions."""
    with engine.connect() as connection:
        return (
            [dict(r._mapping) for r in connection.execute(sa.select(bars).order_by(bars.c.id))],
            [
                dict(r._mapping)
                for r in connection.execute(
                    sa.select(mpesa_credentials).order_by(mpesa_credentials.c.id)
                )
            ],
        )


def reset(engine: sa.Engine) -> None:
    """Empty the M-Pesa tables (tokens are kept) and clear injected faults."""
    with engine.begin() as connection:
        for table in (mpesa_repair_failures, mpesa_credentials, bars):
            connection.execute(sa.delete(table))
        connection.execute(sa.text(f"DELETE FROM {FAULTS_TABLE}"))


def install_fault_trigger(engine: sa.Engine) -> None:
    """A real database fault for tests: any UPDATE of a bar listed in `test_bar_faults` fails.

    It stands in for a fault the repair cannot otherwise be made to meet on demand (a broken
    row, a trigger or constraint added by someone else).
    """
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(f"CREATE TABLE {FAULTS_TABLE} (bar_id INTEGER PRIMARY KEY)")
            connection.exec_driver_sql(
                f"CREATE TRIGGER test_bar_fault BEFORE UPDATE ON bars WHEN EXISTS"
                f" (SELECT 1 FROM {FAULTS_TABLE} WHERE bar_id = NEW.id)"
                " BEGIN SELECT RAISE(ABORT, 'injected test fault'); END"
            )
        else:
            connection.exec_driver_sql(f"CREATE TABLE {FAULTS_TABLE} (bar_id BIGINT PRIMARY KEY)")
            connection.exec_driver_sql(
                "CREATE FUNCTION test_bar_fault() RETURNS trigger AS $$ BEGIN"
                f" IF EXISTS (SELECT 1 FROM {FAULTS_TABLE} WHERE bar_id = NEW.id) THEN"
                " RAISE EXCEPTION 'injected test fault'; END IF; RETURN NEW; END"
                " $$ LANGUAGE plpgsql"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER test_bar_fault BEFORE UPDATE ON bars"
                " FOR EACH ROW EXECUTE FUNCTION test_bar_fault()"
            )


def set_faults(engine: sa.Engine, bar_ids: Sequence[int]) -> None:
    """Make updates of exactly `bar_ids` fail."""
    with engine.begin() as connection:
        connection.execute(sa.text(f"DELETE FROM {FAULTS_TABLE}"))
        for bar_id in bar_ids:
            connection.execute(
                sa.text(f"INSERT INTO {FAULTS_TABLE} (bar_id) VALUES (:id)"), {"id": bar_id}
            )
