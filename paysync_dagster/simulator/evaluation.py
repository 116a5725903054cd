"""A run's figures and checks: pass rate, per-step percentiles, latency and freshness.

Plain data, so the Dagster asset, the CLI and tests judge a run the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from paysync_dagster.simulator import outcomes
from paysync_dagster.simulator.freshness import MISSING
from paysync_dagster.simulator.records import AttemptRecord
from paysync_dagster.simulator.settings import Thresholds

ERROR = "ERROR"
WARN = "WARN"
CHECK_NAMES = ("success_rate", "latency", "freshness")
_STEP_FIELDS = ("tokenize_ms", "checkout_ms", "pay_ms", "total_ms")


@dataclass(frozen=True)
class CheckOutcome:
    """One check's verdict; `severity` is what a failure weighs."""

    name: str
    passed: bool
    severity: str
    description: str
    metadata: dict[str, float | int | str] = field(default_factory=dict)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of `values` (non-empty)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def success_rate(attempts: Sequence[AttemptRecord]) -> float:
    """The fraction of attempts whose outcome matched the card's expectation."""
    matched = sum(1 for a in attempts if a.status in (outcomes.PASSED, outcomes.DEGRADED))
    return matched / len(attempts) if attempts else 0.0


def figures(attempts: Sequence[AttemptRecord]) -> dict[str, float | int]:
    """Counts per status, pass rate, and p50/p95 of each step that made calls."""
    result: dict[str, float | int] = {"attempts": len(attempts)}
    for status in outcomes.STATUSES:
        result[status] = sum(1 for a in attempts if a.status == status)
    result["pass_rate"] = success_rate(attempts)
    for name in _STEP_FIELDS:
        values = [getattr(a, name) for a in attempts if getattr(a, name) is not None]
        if values:
            step = name.removesuffix("_ms")
            result[f"{step}_p50_ms"] = percentile(values, 0.5)
            result[f"{step}_p95_ms"] = percentile(values, 0.95)
    fresh = [a.freshness_ms for a in attempts if a.freshness_ms is not None]
    if fresh:
        result["freshness_p50_ms"] = percentile(fresh, 0.5)
        result["freshness_max_ms"] = max(fresh)
    return result


def evaluate(
    attempts: Sequence[AttemptRecord], thresholds: Thresholds, *, measures_freshness: bool
) -> list[CheckOutcome]:
    """The `success_rate`, `latency` and `freshness` checks of a run."""
    rate = success_rate(attempts)
    checks = [
        CheckOutcome(
            "success_rate",
            bool(attempts) and rate >= thresholds.min_success_rate,
            ERROR,
            f"{rate:.0%} of {len(attempts)} attempt(s) got the expected outcome"
            f" (minimum {thresholds.min_success_rate:.0%})",
            {"success_rate": rate, "minimum": thresholds.min_success_rate},
        )
    ]
    totals = [a.total_ms for a in attempts]
    p95 = percentile(totals, 0.95) if totals else 0.0
    over_max, over_degraded = p95 > thresholds.max_ms, p95 > thresholds.degraded_ms
    checks.append(
        CheckOutcome(
            "latency",
            not over_degraded,
            ERROR if over_max else WARN,
            f"p95 attempt {p95:.0f} ms (degraded over {thresholds.degraded_ms:.0f} ms,"
            f" failing over {thresholds.max_ms:.0f} ms)",
            {"p95_ms": p95, "degraded_ms": thresholds.degraded_ms, "max_ms": thresholds.max_ms},
        )
    )
    checks.append(_freshness(attempts, thresholds, measures_freshness))
    return checks


def _freshness(
    attempts: Sequence[AttemptRecord], thresholds: Thresholds, measures_freshness: bool
) -> CheckOutcome:
    if not measures_freshness:
        return CheckOutcome(
            "freshness", True, ERROR, "not measured: the target is not linked to a workspace"
        )
    probed = [a for a in attempts if a.freshness_status is not None]
    missing = [a for a in probed if a.freshness_status == MISSING]
    latencies = [a.freshness_ms for a in probed if a.freshness_ms is not None]
    worst = max(latencies, default=0.0)
    limit_ms = thresholds.freshness_seconds * 1000
    passed = not missing and worst <= limit_ms
    return CheckOutcome(
        "freshness",
        passed,
        ERROR,
        f"{len(probed) - len(missing)} of {len(probed)} succeeded payment(s) reached the mirror,"
        f" slowest {worst:.0f} ms (limit {limit_ms:.0f} ms)",
        {"probed": len(probed), "missing": len(missing), "max_ms": worst, "limit_ms": limit_ms},
    )
