"""Repair: set `bars.mpesa_enabled` from `mpesa_credentials.is_active`, inconsistent bars only.

Drifted bars are read from one streamed query and fixed in chunks, one transaction each. A
chunk is one `UPDATE` inside a savepoint; if it fails, the chunk is bisected, each half in its
own savepoint, down to the single bar at fault, so a bad bar costs about log2(chunk) extra
statements and never stops the others. Bars that still fail are retried on their own with
exponential backoff, and whatever fails after every retry is recorded for manual intervention.

Each chunk locks its bars before the `UPDATE` reads the credentials, the same order the settings
service uses, and the `UPDATE` re-checks the drift condition: a bar fixed or changed since it
was listed is left alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from paysync_dagster.mpesa.drift import DriftedBar, find_drift, stream_drifted
from paysync_dagster.mpesa.failures import FailedBar, record_failures, resolve_consistent
from paysync_dagster.mpesa.locking import lock_bars, write_transaction
from paysync_dagster.mpesa.retry import RetryPolicy
from paysync_dagster.redaction import describe_error
from paysync_dagster.store.tables import bars, mpesa_credentials

logger = logging.getLogger("paysync.mpesa")

DEFAULT_CHUNK_SIZE = 1000

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RepairReport:
    """What one repair did: drifted bars found, fixed, and still failing after every retry."""

    drifted: int
    repaired: int
    failed: tuple[FailedBar, ...]
    retries: int
    seconds: float


def repair_drift(
    engine: sa.Engine,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    retry: RetryPolicy | None = None,
    run_id: str | None = None,
    progress: Progress | None = None,
) -> RepairReport:
    """Fix every drifted bar; `progress(done, total)` is called after each chunk."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    policy = retry or RetryPolicy()
    started = time.monotonic()
    failing: dict[int, tuple[DriftedBar, str]] = {}
    repaired = done = 0
    with engine.connect() as reader:
        total = find_drift(reader).count
        for chunk in stream_drifted(reader, chunk_size):
            fixed, errors = _repair_chunk(engine, [bar.bar_id for bar in chunk])
            repaired += fixed
            failing.update(
                {bar.bar_id: (bar, errors[bar.bar_id]) for bar in chunk if bar.bar_id in errors}
            )
            done += len(chunk)
            if progress is not None:
                progress(done, total)

    retries = 0
    while failing and retries < policy.max_retries:
        retries += 1
        delay = policy.delay(retries)
        logger.info(
            "M-Pesa repair: retry %d/%d for %d bar(s) in %.2fs",
            retries,
            policy.max_retries,
            len(failing),
            delay,
        )
        policy.sleep(delay)
        for bar_id, (bar, _error) in list(failing.items()):
            fixed, errors = _repair_chunk(engine, [bar_id])
            if errors:
                failing[bar_id] = (bar, errors[bar_id])
            else:
                repaired += fixed
                del failing[bar_id]

    failed = tuple(
        FailedBar(bar.bar_id, bar.expected_enabled, retries + 1, error)
        for bar, error in failing.values()
    )
    for bar in failed:
        logger.error(
            "M-Pesa repair: bar %d still inconsistent after %d attempt(s): %s",
            bar.bar_id,
            bar.attempts,
            bar.error,
        )
    record_failures(engine, failed, run_id)
    resolve_consistent(engine)
    return RepairReport(
        drifted=total,
        repaired=repaired,
        failed=failed,
        retries=retries,
        seconds=time.monotonic() - started,
    )


def repair_statement(bar_ids: Sequence[int]) -> sa.Update:
    """Set the flag from the credentials for those of `bar_ids` that drift, and only those."""
    expected = sa.func.coalesce(
        sa.select(mpesa_credentials.c.is_active)
        .where(mpesa_credentials.c.bar_id == bars.c.id)
        .scalar_subquery(),
        sa.false(),
    )
    return (
        sa.update(bars)
        .where(bars.c.id.in_(bar_ids), bars.c.mpesa_enabled != expected)
        .values(mpesa_enabled=expected, updated_at=datetime.now(UTC))
    )


def _repair_chunk(engine: sa.Engine, bar_ids: list[int]) -> tuple[int, dict[int, str]]:
    """Repair `bar_ids` in one transaction; returns (bars fixed, error per failed bar)."""
    try:
        with write_transaction(engine) as connection:
            lock_bars(connection, bar_ids)
            return _update_isolating(connection, bar_ids)
    except sa.exc.DBAPIError as error:
        # The transaction itself failed (lock wait, deadlock, commit): no bar was fixed.
        reason = _describe(error)
        return 0, dict.fromkeys(bar_ids, reason)


def _update_isolating(connection: sa.Connection, bar_ids: list[int]) -> tuple[int, dict[int, str]]:
    """Update in a savepoint; on failure bisect, down to the single failing bars."""
    try:
        with connection.begin_nested():
            return connection.execute(repair_statement(bar_ids)).rowcount, {}
    except sa.exc.DBAPIError as error:
        if len(bar_ids) == 1:
            return 0, {bar_ids[0]: _describe(error)}
    middle = len(bar_ids) // 2
    fixed_left, errors_left = _update_isolating(connection, bar_ids[:middle])
    fixed_right, errors_right = _update_isolating(connection, bar_ids[middle:])
    return fixed_left + fixed_right, {**errors_left, **errors_right}


def _describe(error: sa.exc.DBAPIError) -> str:
    # The driver's error, not SQLAlchemy's wrapper: that one appends the SQL and parameters.
    return " ".join(describe_error(error.orig).split())
