"""What every API request goes through before its handler: latency, auth, rate limit, faults."""

from __future__ import annotations

import asyncio
import hmac
import random

from starlette.datastructures import Headers

from paysync_dagster.sandbox.stripe.ratelimit import RateLimiter, retry_after

from .errors import PayfitError
from .settings import PayfitSandboxSettings


class Gate:
    """Applies a sandbox's latency, bearer-key check, per-key rate limit and failure rate."""

    def __init__(self, settings: PayfitSandboxSettings) -> None:
        self._settings = settings
        self._limiter = RateLimiter(settings.rate_limit) if settings.rate_limit else None
        # Seeded so that a given request sequence fails the same way on every run.
        self._failures = random.Random(settings.seed)

    def rate_headers(self) -> dict[str, str]:
        """PayFit's limit header, sent on every answer when the sandbox throttles."""
        if self._settings.rate_limit is None:
            return {}
        return {"X-RateLimit-Limit-Second": f"{self._settings.rate_limit:g}"}

    async def admit(self, headers: Headers) -> None:
        """Return when the request may proceed, or raise the PayfitError to answer instead."""
        if self._settings.latency_ms:
            await asyncio.sleep(self._settings.latency_ms / 1000)
        key = self._authenticate(headers.get("authorization"))
        if self._limiter is not None:
            wait = self._limiter.take(key)
            if wait:
                headers = {**self.rate_headers(), "X-RateLimit-Remaining-Second": "0"}
                if self._settings.send_retry_after:
                    headers["Retry-After"] = retry_after(wait)
                raise PayfitError(429, "API rate limit exceeded", headers=headers)
        if self._settings.fail_rate and self._failures.random() < self._settings.fail_rate:
            raise PayfitError(500, "Internal server error (injected by the sandbox's fail_rate)")

    def _authenticate(self, authorization: str | None) -> str:
        scheme, _, key = (authorization or "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise PayfitError(401, "Missing bearer token", code="unauthorized")
        if not hmac.compare_digest(key.encode(), self._settings.api_key.encode()):
            raise PayfitError(401, "Invalid or revoked access token", code="invalid_token")
        return key
