"""Per-key token buckets, so the sandbox can throttle like Stripe's rate limiter."""

import math
import time
from collections.abc import Callable


class TokenBucket:
    """Allows `rate` requests per second on average, in bursts of at most `max(1, rate)`."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._capacity = max(1.0, rate)
        self._clock = clock
        self._tokens = self._capacity
        self._updated = clock()

    def take(self) -> float:
        """Spend a token: 0.0 if one was available, else the seconds until one will be."""
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self._rate


class RateLimiter:
    """One token bucket per API key."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, key: str) -> float:
        """Spend one of `key`'s tokens; see `TokenBucket.take`."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self._rate, self._clock)
        return bucket.take()


def retry_after(seconds: float) -> str:
    """A `Retry-After` value: whole seconds when exact, else decimals, rounded up to 1 ms."""
    millis = max(1, math.ceil(seconds * 1000))
    if millis % 1000 == 0:
        return str(millis // 1000)
    return f"{millis / 1000:.3f}".rstrip("0")
