"""Exponential backoff shared by the settings service and the repair."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import sqlalchemy as sa

logger = logging.getLogger("paysync.mpesa")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Up to `max_retries` retries after the first attempt, waiting `base_seconds * 2**n`.

    `sleep` is injectable so tests observe the waits instead of spending them.
    """

    max_retries: int = 3
    base_seconds: float = 0.1
    sleep: Callable[[float], None] = time.sleep

    def delay(self, retry: int) -> float:
        """The wait before retry number `retry` (1-based)."""
        return self.base_seconds * 2 ** (retry - 1)


def retry_transient(policy: RetryPolicy, what: str, attempt: Callable[[], T]) -> T:
    """Run `attempt`, retrying on transient database errors (lock timeouts, deadlocks,
    serialization failures, a busy SQLite file); the last error propagates."""
    retry = 0
    while True:
        try:
            return attempt()
        except sa.exc.OperationalError as error:
            if retry == policy.max_retries:
                raise
            retry += 1
            delay = policy.delay(retry)
            logger.warning(
                "%s: transient database error %s; retry %d/%d in %.2fs",
                what,
                type(error.orig).__name__,
                retry,
                policy.max_retries,
                delay,
            )
            policy.sleep(delay)
