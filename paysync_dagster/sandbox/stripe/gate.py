"""What every request goes through before its handler: latency, auth, rate limit, failures."""

import asyncio
import hmac
import random

from starlette.datastructures import Headers

from .errors import StripeError, mask_key
from .ratelimit import RateLimiter, retry_after
from .settings import StripeSandboxSettings

_NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
)


class Gate:
    """Applies a sandbox's simulated latency, API key check, rate limit and failure rate."""

    def __init__(self, settings: StripeSandboxSettings) -> None:
        self._settings = settings
        self._limiter = RateLimiter(settings.rate_limit) if settings.rate_limit else None
        # Seeded so that a given request sequence fails the same way on every run.
        self._failures = random.Random(settings.seed)

    async def admit(self, headers: Headers) -> None:
        """Return when the request may proceed, or raise the StripeError to answer instead."""
        if self._settings.latency_ms:
            await asyncio.sleep(self._settings.latency_ms / 1000)
        key = self._authenticate(headers.get("authorization"))
        if self._limiter is not None:
            wait = self._limiter.take(key)
            if wait:
                raise StripeError(
                    429,
                    "Request rate limit exceeded. Retry after the delay in the Retry-After header.",
                    code="rate_limit",
                    headers={"Retry-After": retry_after(wait)},
                )
        if self._settings.fail_rate and self._failures.random() < self._settings.fail_rate:
            raise StripeError(
                500,
                "An unknown error occurred (injected by the sandbox's fail_rate).",
                type_="api_error",
            )

    def _authenticate(self, authorization: str | None) -> str:
        if not authorization:
            raise StripeError(401, _NO_KEY)
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise StripeError(401, _NO_KEY)
        if not hmac.compare_digest(key.encode(), self._settings.api_key.encode()):
            raise StripeError(401, f"Invalid API Key provided: {mask_key(key)}")
        return key
