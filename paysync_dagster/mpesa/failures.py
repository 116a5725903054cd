"""Repair failures kept for manual intervention, resolved once their bar is consistent again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from paysync_dagster.mpesa.drift import bars_with_credentials, is_drifted
from paysync_dagster.store.tables import bars, mpesa_repair_failures

_table = mpesa_repair_failures


@dataclass(frozen=True)
class FailedBar:
    """A bar the repair could not fix after all its attempts."""

    bar_id: int
    expected_enabled: bool
    attempts: int
    error: str


@dataclass(frozen=True)
class UnresolvedFailures:
    """Bars with an unresolved repair failure: how many, and the most recent records."""

    bars: int
    records: tuple[FailedBar, ...]


def record_failures(engine: sa.Engine, failed: Sequence[FailedBar], run_id: str | None) -> None:
    """Record each failed bar, in one transaction."""
    if not failed:
        return
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(_table),
            [
                {
                    "bar_id": bar.bar_id,
                    "expected_enabled": bar.expected_enabled,
                    "attempts": bar.attempts,
                    "error": bar.error,
                    "run_id": run_id,
                    "created_at": now,
                }
                for bar in failed
            ],
        )


def resolve_consistent(engine: sa.Engine) -> int:
    """Mark resolved the failures of bars that are consistent now (or no longer exist)."""
    still_drifted = (
        sa.select(bars.c.id)
        .select_from(bars_with_credentials)
        .where(bars.c.id == _table.c.bar_id, is_drifted)
        .exists()
    )
    with engine.begin() as connection:
        return connection.execute(
            sa.update(_table)
            .where(_table.c.resolved_at.is_(None), ~still_drifted)
            .values(resolved_at=datetime.now(UTC))
        ).rowcount


def unresolved_failures(connection: sa.Connection, limit: int = 20) -> UnresolvedFailures:
    """The bars whose repair failed and are still waiting for someone to look at them."""
    unresolved = _table.c.resolved_at.is_(None)
    count = connection.scalar(
        sa.select(sa.func.count(sa.distinct(_table.c.bar_id))).where(unresolved)
    )
    rows = connection.execute(
        sa.select(_table).where(unresolved).order_by(_table.c.id.desc()).limit(limit)
    ).all()
    return UnresolvedFailures(
        bars=count or 0,
        records=tuple(
            FailedBar(row.bar_id, row.expected_enabled, row.attempts, row.error) for row in rows
        ),
    )
