"""The audit report: how many bars drift, which ones, and what waits for manual repair.

A bar whose stored credentials do not decrypt (copied from another bar, tampered with, or
under a key the ring lacks) is inconsistent too: whatever its flags say, customers are not
offered M-Pesa. Repairing flags cannot fix it; its settings must be saved again.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from paysync_dagster.mpesa import credentials
from paysync_dagster.mpesa.drift import DriftedBar, DriftSummary, drifted_bars, find_drift
from paysync_dagster.mpesa.failures import UnresolvedFailures, unresolved_failures
from paysync_dagster.store.tables import bars, mpesa_credentials
from paysync_dagster.store.vault import Vault

_SCAN_BATCH = 10_000


@dataclass(frozen=True)
class AuditReport:
    """Counts, the first `limit` inconsistent bars and the unresolved repair failures."""

    bars: int
    bars_with_credentials: int
    drift: DriftSummary
    inconsistent: tuple[DriftedBar, ...]
    unresolved: UnresolvedFailures
    # Bars whose credentials do not decrypt: how many, how many of them do not drift as
    # well (so are not in `drift.count`), and the first `limit` ids.
    undecryptable: int
    undecryptable_only: int
    undecryptable_sample: tuple[int, ...]

    @property
    def inconsistent_count(self) -> int:
        """Every inconsistent bar, each counted once."""
        return self.drift.count + self.undecryptable_only


def audit(engine: sa.Engine, vault: Vault, limit: int = 50) -> AuditReport:
    """Read-only report of the M-Pesa flags' consistency and the credentials' validity."""
    with engine.connect() as connection:
        counts = connection.execute(
            sa.select(sa.func.count(bars.c.id), sa.func.count(mpesa_credentials.c.id)).select_from(
                bars.outerjoin(mpesa_credentials)
            )
        ).one()
        undecryptable, drifting = _undecryptable_bars(connection, vault)
        return AuditReport(
            bars=counts[0],
            bars_with_credentials=counts[1],
            drift=find_drift(connection),
            inconsistent=tuple(drifted_bars(connection, limit=limit)),
            unresolved=unresolved_failures(connection),
            undecryptable=len(undecryptable),
            undecryptable_only=len(undecryptable) - drifting,
            undecryptable_sample=tuple(undecryptable[:limit]),
        )


def _undecryptable_bars(connection: sa.Connection, vault: Vault) -> tuple[list[int], int]:
    """Ids of bars whose credentials are not valid, and how many of them also drift."""
    query = (
        sa.select(mpesa_credentials, bars.c.mpesa_enabled)
        .join(bars, bars.c.id == mpesa_credentials.c.bar_id)
        .order_by(mpesa_credentials.c.bar_id)
        .execution_options(yield_per=_SCAN_BATCH)
    )
    failing: list[int] = []
    drifting = 0
    for row in connection.execute(query):
        if credentials.decrypt(vault, row) is None:
            failing.append(row.bar_id)
            drifting += row.mpesa_enabled != row.is_active
    return failing, drifting
