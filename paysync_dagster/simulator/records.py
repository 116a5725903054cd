"""Simulator runs and attempts in the database: written by the engine, read by checks,
the CLI and the HTTP API."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from paysync_dagster.simulator.outcomes import STATUSES
from paysync_dagster.store.tables import simulator_attempts, simulator_runs

RUNNING = "running"
COMPLETED = "completed"
CRASHED = "crashed"


@dataclass(frozen=True)
class AttemptRecord:
    """One `simulator_attempts` row (card as scenario, brand and last 4 only)."""

    run_id: str
    target: str
    trigger: str
    iteration: int
    idempotency_key: str
    card_scenario: str
    card_brand: str | None
    card_last4: str | None
    customer_ref: str
    amount: int
    currency: str
    expected_outcome: str
    actual_outcome: str | None
    status: str
    provider_payment_id: str | None
    tokenize_ms: float | None
    checkout_ms: float | None
    pay_ms: float | None
    total_ms: float
    retries: int
    error_code: str | None
    error_message: str | None
    started_at: datetime
    freshness_ms: float | None = None
    freshness_status: str | None = None


def start_run(
    engine: sa.Engine, *, target: str, trigger: str, iterations: int, dagster_run_id: str | None
) -> str:
    """Record a run as running; returns its id."""
    run_id = str(uuid.uuid4())
    with engine.begin() as connection:
        connection.execute(
            sa.insert(simulator_runs).values(
                id=run_id,
                target=target,
                trigger=trigger,
                dagster_run_id=dagster_run_id,
                status=RUNNING,
                iterations=iterations,
                started_at=datetime.now(UTC),
            )
        )
    return run_id


def finish_run(
    engine: sa.Engine,
    run_id: str,
    attempts: Sequence[AttemptRecord],
    *,
    error_message: str | None = None,
) -> None:
    """Store a run's attempts and its counts per status, in one transaction."""
    counts = {status: 0 for status in STATUSES}
    for attempt in attempts:
        counts[attempt.status] += 1
    with engine.begin() as connection:
        if attempts:
            connection.execute(
                sa.insert(simulator_attempts), [asdict(attempt) for attempt in attempts]
            )
        connection.execute(
            sa.update(simulator_runs)
            .where(simulator_runs.c.id == run_id)
            .values(
                status=CRASHED if error_message else COMPLETED,
                passed=counts["passed"],
                degraded=counts["degraded"],
                failed=counts["failed"],
                errors=counts["error"],
                error_message=error_message,
                finished_at=datetime.now(UTC),
            )
        )


def recent_runs(
    engine: sa.Engine, *, target: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The newest runs (of `target` when given), newest first, as JSON-ready dicts."""
    query = sa.select(simulator_runs).order_by(simulator_runs.c.started_at.desc()).limit(limit)
    if target is not None:
        query = query.where(simulator_runs.c.target == target)
    with engine.connect() as connection:
        return [_jsonable(row._mapping) for row in connection.execute(query)]


def run_attempts(engine: sa.Engine, run_id: str) -> list[sa.Row]:
    """A run's attempts, in iteration order."""
    with engine.connect() as connection:
        return list(
            connection.execute(
                sa.select(simulator_attempts)
                .where(simulator_attempts.c.run_id == run_id)
                .order_by(simulator_attempts.c.iteration)
            )
        )


def _jsonable(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in row.items()
    }
