"""How the webhook processor batches, leases and retries: one home for the defaults that
`paysync serve`, `paysync webhooks replay` and Dagster's webhook resource all show.

Kept free of heavy imports, so the CLI can show the defaults in `--help` cheaply.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class ProcessorOptions:
    """How the processor batches, leases and retries."""

    batch_size: int = 200
    max_attempts: int = 8
    backoff_base_seconds: float = 2.0
    backoff_cap_seconds: float = 3600.0
    lease_seconds: float = 30.0

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_attempts < 1 or self.lease_seconds <= 0:
            raise ValueError("batch_size, max_attempts and lease_seconds must be positive")

    def backoff(self, attempts: int) -> timedelta:
        """Delay before attempt `attempts + 1`: exponential, capped, with jitter in [½, 1]."""
        ceiling = min(self.backoff_cap_seconds, self.backoff_base_seconds * 2 ** (attempts - 1))
        return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))
