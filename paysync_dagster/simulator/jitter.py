"""When the scheduled loop runs each target: every interval ± jitter, never overlapping.

Dagster schedules have no jitter, so the sensor keeps each target's next due time in its
cursor and asks `plan_tick` at every tick which targets to run now. A target that is due
while its previous run is still in progress waits for it; the next due time is drawn from
when a run is launched, so a late run never causes a burst of catch-up runs.
"""

from __future__ import annotations

import json
import random
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from paysync_dagster.simulator.settings import LoopSettings


@dataclass(frozen=True)
class TickPlan:
    """What a tick does: the targets to launch now, and the cursor to keep."""

    launch: list[str]
    due: dict[str, float]

    def cursor(self) -> str:
        """The cursor text: each target's next due time (epoch seconds)."""
        return json.dumps(self.due, sort_keys=True)


def parse_cursor(cursor: str | None) -> dict[str, float]:
    """Due times from a cursor; an unreadable cursor starts afresh rather than failing."""
    try:
        loaded = json.loads(cursor or "{}")
    except ValueError:
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {
        str(name): float(due)
        for name, due in loaded.items()
        if isinstance(due, int | float) and not isinstance(due, bool)
    }


def next_due(launched_at: float, target: str, settings: LoopSettings) -> float:
    """When `target`, launched at `launched_at`, is next due: interval ± uniform jitter.

    Seeded by target and launch time, so a tick evaluated twice plans the same time.
    """
    rng = random.Random(f"{target}:{launched_at!r}")
    return (
        launched_at
        + settings.interval_seconds
        + rng.uniform(-settings.jitter_seconds, settings.jitter_seconds)
    )


def plan_tick(
    now: float,
    due: dict[str, float],
    targets: Iterable[str],
    in_progress: Collection[str],
    settings: LoopSettings,
) -> TickPlan:
    """Which `targets` to launch at `now`, given their due times and the runs in progress.

    A new target is due at once; a removed one is forgotten.
    """
    planned: dict[str, float] = {}
    launch: list[str] = []
    for target in sorted(set(targets)):
        when = due.get(target, now)
        if when <= now and target not in in_progress:
            launch.append(target)
            when = next_due(now, target, settings)
        planned[target] = when
    return TickPlan(launch, planned)
