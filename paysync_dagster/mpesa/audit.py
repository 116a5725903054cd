"""The audit report: how many bars drift, which ones, and what waits for manual repair."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from paysync_dagster.mpesa.drift import DriftedBar, DriftSummary, drifted_bars, find_drift
from paysync_dagster.mpesa.failures import UnresolvedFailures, unresolved_failures
from paysync_dagster.store.tables import bars, mpesa_credentials


@dataclass(frozen=True)
class AuditReport:
    """Counts, the first `limit` inconsistent bars and the unresolved repair failures."""

    bars: int
    bars_with_credentials: int
    drift: DriftSummary
    inconsistent: tuple[DriftedBar, ...]
    unresolved: UnresolvedFailures


def audit(engine: sa.Engine, limit: int = 50) -> AuditReport:
    """Read-only report of the M-Pesa flags' consistency."""
    with engine.connect() as connection:
        counts = connection.execute(
            sa.select(sa.func.count(bars.c.id), sa.func.count(mpesa_credentials.c.id)).select_from(
                bars.outerjoin(mpesa_credentials)
            )
        ).one()
        return AuditReport(
            bars=counts[0],
            bars_with_credentials=counts[1],
            drift=find_drift(connection),
            inconsistent=tuple(drifted_bars(connection, limit=limit)),
            unresolved=unresolved_failures(connection),
        )
