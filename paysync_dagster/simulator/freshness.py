"""How long a succeeded payment takes to reach the mirror: webhook -> inbox -> row.

After a run's attempts, the probe polls the linked workspace's `payment_intents` for each
succeeded payment intent's row with status `succeeded`, until all have arrived or the
deadline passes. The latency is the row's `synced_at` (the write that made it succeeded)
minus the moment the confirm answered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from paysync_dagster.store.tables import payment_intents
from paysync_dagster.store.upsert import as_utc

ARRIVED = "arrived"
LATE = "late"
MISSING = "missing"
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Freshness:
    """One payment's arrival: `latency_ms` (None if it never arrived) and its status."""

    latency_ms: float | None
    status: str


def await_mirror(
    engine: sa.Engine,
    workspace_id: str,
    paid_at: Mapping[str, float],
    *,
    threshold_seconds: float,
    clock: Callable[[], float] = time.time,
) -> dict[str, Freshness]:
    """Wait up to `threshold_seconds` for each payment intent in `paid_at` (id -> epoch
    seconds of payment) to be mirrored as succeeded; its freshness by id."""
    waiting = dict(paid_at)
    found: dict[str, Freshness] = {}
    deadline = (max(paid_at.values()) if paid_at else clock()) + threshold_seconds
    while waiting:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(payment_intents.c.external_id, payment_intents.c.synced_at)
                .where(payment_intents.c.workspace_id == workspace_id)
                .where(payment_intents.c.provider == "stripe")
                .where(payment_intents.c.status == "succeeded")
                .where(payment_intents.c.external_id.in_(list(waiting)))
            ).all()
        for external_id, synced_at in rows:
            latency = max(0.0, as_utc(synced_at).timestamp() - waiting.pop(external_id))
            status = ARRIVED if latency <= threshold_seconds else LATE
            found[external_id] = Freshness(latency * 1000, status)
        if not waiting or clock() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    found.update({external_id: Freshness(None, MISSING) for external_id in waiting})
    return found
