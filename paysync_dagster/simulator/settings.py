"""The simulator's knobs, with the seed's environment variables and their defaults.

`RUN_INTERVAL_SECONDS`, `RUN_JITTER_SECONDS`, `ITERATIONS_PER_RUN` and `ENABLE_LOOP` keep
the names the service this replaces used, so its deployments' settings carry over.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

MAX_ITERATIONS = 1000
# The seed's HTTP timeouts were 30-60 s; every step here gets the lower end.
DEFAULT_TIMEOUT_SECONDS = 30.0
# Retries on network errors only, each with the attempt's idempotency key.
DEFAULT_NETWORK_RETRIES = 2

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SimulatorSettingsError(ValueError):
    """A simulator environment variable has a value paysync cannot use."""


def _integer(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SimulatorSettingsError(f"{name} must be an integer, got {text[:20]!r}") from None
    if not low <= value <= high:
        raise SimulatorSettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    text = environ.get(name, "").strip().lower()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SimulatorSettingsError(f"{name} must be true or false, got {text[:20]!r}")


@dataclass(frozen=True)
class LoopSettings:
    """How often the scheduled loop runs each target: every `interval_seconds` ±
    `jitter_seconds` (uniform), `iterations` attempts per run; `enabled` is whether the
    Dagster sensor starts running."""

    interval_seconds: int = 300
    jitter_seconds: int = 120
    iterations: int = 2
    enabled: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.jitter_seconds < self.interval_seconds:
            raise SimulatorSettingsError(
                "RUN_JITTER_SECONDS must be at least 0 and below RUN_INTERVAL_SECONDS"
            )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> LoopSettings:
        """The settings from `RUN_INTERVAL_SECONDS`, `RUN_JITTER_SECONDS`,
        `ITERATIONS_PER_RUN` and `ENABLE_LOOP`; unset ones keep the seed's defaults."""
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            interval_seconds=_integer(
                env, "RUN_INTERVAL_SECONDS", defaults.interval_seconds, 1, 86_400
            ),
            jitter_seconds=_integer(env, "RUN_JITTER_SECONDS", defaults.jitter_seconds, 0, 86_399),
            iterations=_integer(env, "ITERATIONS_PER_RUN", defaults.iterations, 1, MAX_ITERATIONS),
            enabled=_flag(env, "ENABLE_LOOP", defaults.enabled),
        )


@dataclass(frozen=True)
class Thresholds:
    """When a run's checks fail.

    `min_success_rate`: below it, ERROR. `degraded_ms` / `max_ms`: an attempt slower than
    `degraded_ms` end to end is degraded, and the latency check WARNs when the run's p95 is
    over it and ERRORs over `max_ms`. `freshness_seconds`: a succeeded payment must reach
    the mirror within it.
    """

    min_success_rate: float = 0.9
    degraded_ms: float = 2_000.0
    max_ms: float = 10_000.0
    freshness_seconds: float = 60.0
