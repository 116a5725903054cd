"""Bars: the tenants that take M-Pesa payments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from paysync_dagster.mpesa.errors import MpesaError
from paysync_dagster.store.tables import bars, mpesa_credentials


@dataclass(frozen=True)
class BarSummary:
    """A bar and its M-Pesa state, without any secret."""

    bar_id: int
    name: str
    mpesa_enabled: bool
    has_credentials: bool
    credentials_active: bool


def add_bar(engine: sa.Engine, name: str) -> int:
    """Create a bar with M-Pesa disabled (it has no credentials yet); returns its id."""
    if not name.strip() or len(name) > 255 or not name.isprintable():
        raise MpesaError("invalid bar name: use 1-255 printable characters")
    now = datetime.now(UTC)
    with engine.begin() as connection:
        return connection.execute(
            sa.insert(bars)
            .values(name=name, mpesa_enabled=False, created_at=now, updated_at=now)
            .returning(bars.c.id)
        ).scalar_one()


def list_bars(engine: sa.Engine) -> list[BarSummary]:
    """Every bar with its two M-Pesa flags, in id order."""
    query = (
        sa.select(bars.c.id, bars.c.name, bars.c.mpesa_enabled, mpesa_credentials.c.is_active)
        .select_from(bars.outerjoin(mpesa_credentials))
        .order_by(bars.c.id)
    )
    with engine.connect() as connection:
        return [
            BarSummary(
                row.id, row.name, row.mpesa_enabled, row.is_active is not None, bool(row.is_active)
            )
            for row in connection.execute(query)
        ]
