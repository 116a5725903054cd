"""How far a sync session has got: objects listed, pages, throughput, estimated finish.

The estimate assumes the entity lists about as many objects as its previous completed sync
did (the only total known before a listing ends) and that the current rate holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Progress:
    """A session's progress at one moment."""

    listed: int
    pages: int
    elapsed_seconds: float
    objects_per_second: float | None
    expected_total: int | None
    percent: float | None
    eta_seconds: float | None
    estimated_finish_at: datetime | None


def progress(
    *,
    listed: int,
    pages: int,
    started_at: datetime,
    finished_at: datetime | None,
    expected_total: int | None,
    now: datetime,
) -> Progress:
    """Progress of a session that started at `started_at` (and finished at `finished_at`)."""
    end = finished_at or now
    elapsed = max((end - started_at).total_seconds(), 0.0)
    rate = listed / elapsed if elapsed > 0 and listed else None
    if finished_at is not None:
        return Progress(listed, pages, elapsed, rate, listed, 100.0, 0.0, finished_at)
    if not expected_total:
        return Progress(listed, pages, elapsed, rate, expected_total, None, None, None)
    remaining = max(expected_total - listed, 0)
    percent = min(100.0, 100.0 * listed / expected_total)
    eta = None if rate is None else remaining / rate
    finish = None if eta is None else now + timedelta(seconds=eta)
    return Progress(listed, pages, elapsed, rate, expected_total, percent, eta, finish)
