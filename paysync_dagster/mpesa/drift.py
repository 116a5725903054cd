"""Drift: bars whose `mpesa_enabled` differs from their credentials' `is_active`.

Missing credentials count as `is_active = false`, so an M-Pesa-enabled bar without
credentials is drift and its repair disables M-Pesa. Every query here is one set-based
statement over the join, served by the `(bar_id, is_active)` index on `mpesa_credentials`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa

from paysync_dagster.store.tables import bars, mpesa_credentials

DEFAULT_SAMPLE_SIZE = 20

# What `bars.mpesa_enabled` must be: the credentials' `is_active`, false without credentials.
expected_enabled = sa.func.coalesce(mpesa_credentials.c.is_active, sa.false())
bars_with_credentials = bars.outerjoin(mpesa_credentials, mpesa_credentials.c.bar_id == bars.c.id)
is_drifted = bars.c.mpesa_enabled != expected_enabled


@dataclass(frozen=True)
class DriftSummary:
    """How many bars drift, and the lowest ids among them as a sample."""

    count: int
    sample: tuple[int, ...]


@dataclass(frozen=True)
class DriftedBar:
    """One inconsistent bar: its flag, and what the credentials say it must be."""

    bar_id: int
    mpesa_enabled: bool
    expected_enabled: bool
    has_credentials: bool

    @property
    def kind(self) -> str:
        """A short description of the inconsistency for reports."""
        if not self.has_credentials:
            return "enabled without credentials"
        if self.mpesa_enabled:
            return "enabled but credentials inactive"
        return "credentials active but disabled"


def find_drift(connection: sa.Connection, sample_size: int = DEFAULT_SAMPLE_SIZE) -> DriftSummary:
    """Count every drifted bar and sample the lowest ids, in one query (a window count)."""
    query = (
        sa.select(bars.c.id, sa.func.count().over().label("total"))
        .select_from(bars_with_credentials)
        .where(is_drifted)
        .order_by(bars.c.id)
        .limit(sample_size)
    )
    rows = connection.execute(query).all()
    return DriftSummary(count=rows[0].total if rows else 0, sample=tuple(r.id for r in rows))


def drifted_bars(connection: sa.Connection, limit: int | None = None) -> list[DriftedBar]:
    """The drifted bars in id order (the first `limit` of them, if given)."""
    return list(_drifted(connection, limit=limit))


def stream_drifted(connection: sa.Connection, batch_size: int) -> Iterator[list[DriftedBar]]:
    """Every drifted bar in id order, in batches, from one streamed query (bounded memory)."""
    query = _drifted_query().execution_options(yield_per=batch_size)
    for partition in connection.execute(query).partitions():
        yield [_drifted_bar(row) for row in partition]


def _drifted(connection: sa.Connection, limit: int | None) -> Iterator[DriftedBar]:
    query = _drifted_query()
    if limit is not None:
        query = query.limit(limit)
    for row in connection.execute(query):
        yield _drifted_bar(row)


def _drifted_query() -> sa.Select:
    return (
        sa.select(
            bars.c.id,
            bars.c.mpesa_enabled,
            expected_enabled.label("expected"),
            (mpesa_credentials.c.id.is_not(None)).label("has_credentials"),
        )
        .select_from(bars_with_credentials)
        .where(is_drifted)
        .order_by(bars.c.id)
    )


def _drifted_bar(row: sa.Row) -> DriftedBar:
    return DriftedBar(
        row.id, bool(row.mpesa_enabled), bool(row.expected), bool(row.has_credentials)
    )
