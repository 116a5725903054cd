"""Stripe API access through the official SDK, with a rate budget and explicit retries.

Single objects come through `StripeClient`. The list-page hot path sends its GETs through the
SDK's own HTTP client (`stripe.HTTPXClient`, same headers, same API version) but decodes the
body with orjson into plain dicts: the SDK decodes every response with `json.loads` into
`OrderedDict`s, which cost ~35 µs of CPU per object of a full sync against ~3 µs for orjson
(measured on this project's machine), and the mapping only needs dict lookups.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
import stripe

from paysync_dagster.providers.base import CursorGoneError, Page
from paysync_dagster.providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderUnavailableError,
    ProviderUnreachableError,
)
from paysync_dagster.providers.rate_budget import RateBudget
from paysync_dagster.providers.stripe.entities import ENTITIES, is_test_key

PAGE_SIZE = 100
TEST_MODE_REQUESTS_PER_SECOND = 25.0
LIVE_MODE_REQUESTS_PER_SECOND = 100.0
# Stripe's subscription list omits canceled subscriptions unless asked for all of them.
LIST_FILTERS: dict[str, dict[str, str]] = {"subscriptions": {"status": "all"}}
# A Retry-After longer than this is treated as an outage rather than waited out.
MAX_RETRY_AFTER_SECONDS = 60.0
DEFAULT_API_BASE = "https://api.stripe.com"
# Connection failures tolerated before the API base has ever answered: beyond these it is
# taken to be misconfigured or down, and the sync fails in about a second instead of retrying
# for half a minute as it would for an outage of a base that was reachable.
UNREACHABLE_RETRIES = 2
_CURSOR_PARAMS = ("starting_after", "ending_before")
_OBJECT_ID = re.compile(r"[A-Za-z0-9_]{1,255}")


def default_requests_per_second(api_key: str) -> float:
    """Stripe's documented per-account limits: 25 req/s in test mode, 100 in live mode."""
    return TEST_MODE_REQUESTS_PER_SECOND if is_test_key(api_key) else LIVE_MODE_REQUESTS_PER_SECOND


def unreachable_message(api_base: str) -> str:
    """What to say when `api_base` never answers: the URL and the command that fixes it."""
    host = urlsplit(api_base).hostname or ""
    if host in ("127.0.0.1", "localhost", "::1"):
        advice = (
            "nothing listens on that local port: `paysync dev` starts the sandbox of every"
            " workspace that points at one (a port it found busy is left to whatever held it)"
        )
    else:
        advice = "check the URL, or fix it with `paysync workspace add ID --replace --api-base URL`"
    # The URL ends at a space: the UI turns it into a link, and a glued ";" would break it.
    return f"cannot connect to the Stripe API at {api_base} ({advice})"


def _retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None


@dataclass(frozen=True)
class _RetryableFailure:
    """A throttled, failed or unreachable request worth another try."""

    description: str
    retry_after: float | None
    connection_failed: bool = False


def _error_fields(content: bytes) -> tuple[str | None, str | None]:
    """Stripe's error `code` and `param` from an error body, if it is Stripe's error JSON."""
    try:
        error = orjson.loads(content).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return None, None
    if not isinstance(error, dict):
        return None, None
    return error.get("code"), error.get("param")


def open_http_client(timeout_seconds: float = 30.0) -> stripe.HTTPXClient:
    """The SDK's HTTP client (thread-safe, pooled), shareable by many workspaces' `StripeApi`s.

    Workspaces keep their own key and rate budget; only connections are shared.
    """
    return stripe.HTTPXClient(timeout=timeout_seconds, allow_sync_methods=True)


class StripeApi:
    """One Stripe account's API, as one workspace sees it.

    Every request takes a token from the workspace's `RateBudget`; 429, 5xx and connection
    errors are retried with exponential backoff and full jitter, honouring `Retry-After`.
    The SDK's own retries are off so that every retry is counted and budgeted here.
    """

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        budget: RateBudget | None = None,
        max_retries: int = 8,
        timeout_seconds: float = 30.0,
        backoff_base_seconds: float = 0.25,
        backoff_cap_seconds: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        http_client: stripe.HTTPXClient | None = None,
    ) -> None:
        # A shared client (see `open_http_client`) saves each workspace a TLS context and
        # connection set-up; one this object creates is its own to close.
        self._owns_http = http_client is None
        self._http = http_client or open_http_client(timeout_seconds)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=0,
            http_client=self._http,
        )
        self._api_base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Stripe-Version": stripe.api_version,
            "User-Agent": f"paysync stripe-python/{stripe.VERSION}",
        }
        self._budget = budget or RateBudget(default_requests_per_second(api_key))
        self._max_retries = max_retries
        self._backoff_base = backoff_base_seconds
        self._backoff_cap = backoff_cap_seconds
        self._sleep = sleep
        # Whether the API base has ever answered; until it has, connection errors fail fast.
        self._reached = False

    def _backoff(self, attempt: int, failure: _RetryableFailure) -> float:
        if failure.retry_after is not None and failure.retry_after > MAX_RETRY_AFTER_SECONDS:
            raise ProviderUnavailableError(
                f"Stripe asked to wait {failure.retry_after:.0f}s ({failure.description})"
            )
        jittered = random.uniform(0, min(self._backoff_cap, self._backoff_base * 2**attempt))
        return jittered if failure.retry_after is None else failure.retry_after + jittered / 4

    def _attempt(self, path: str, params: dict[str, Any]) -> dict[str, Any] | _RetryableFailure:
        """One GET: the decoded body, a failure worth retrying, or a raised refusal."""
        url = f"{self._api_base}{path}?{urlencode(params)}"
        try:
            content, status, headers = self._http.request("get", url, self._headers)
        except stripe.APIConnectionError as error:
            return _RetryableFailure(f"connection error: {type(error).__name__}", None, True)
        self._reached = True
        if status == 200:
            return orjson.loads(content)
        if status in (401, 403):
            raise ProviderAuthError(
                f"Stripe rejected the workspace's API key (HTTP {status});"
                " check the key with `paysync workspace add --replace`"
            )
        if status == 429 or status >= 500:
            return _RetryableFailure(f"HTTP {status}", _retry_after_seconds(headers))
        code, param = _error_fields(content)
        if code == "resource_missing" and param in _CURSOR_PARAMS:
            raise CursorGoneError(f"resume cursor {params.get(param)!r} is gone")
        raise ProviderError(f"Stripe refused GET {path} (HTTP {status}, {code})")

    def _with_retries(
        self, what: str, attempt_once: Callable[[], Any | _RetryableFailure]
    ) -> tuple[Any, int, int]:
        """Run `attempt_once` within the budget until it succeeds; (result, calls, retries)."""
        for attempt in range(self._max_retries + 1):
            self._budget.acquire()
            outcome = attempt_once()
            if not isinstance(outcome, _RetryableFailure):
                self._reached = True
                return outcome, attempt + 1, attempt
            if outcome.connection_failed and not self._reached and attempt >= UNREACHABLE_RETRIES:
                raise ProviderUnreachableError(unreachable_message(self._api_base))
            if attempt == self._max_retries:
                raise ProviderUnavailableError(
                    f"{what} still failing after {attempt} retries ({outcome.description})"
                )
            self._sleep(self._backoff(attempt, outcome))
        raise AssertionError("unreachable: the loop returns or raises")

    def _get(self, path: str, params: dict[str, Any]) -> tuple[dict[str, Any], int, int]:
        """A list GET with budget and retries; returns (decoded body, calls made, retries)."""
        return self._with_retries(f"GET {path}", lambda: self._attempt(path, params))

    def _retrieve_once(self, path: str) -> dict[str, Any] | _RetryableFailure | None:
        try:
            return dict(self._client.raw_request("get", path).data)
        except (stripe.AuthenticationError, stripe.PermissionError) as error:
            raise ProviderAuthError(
                f"Stripe rejected the workspace's API key (HTTP {error.http_status});"
                " check the key with `paysync workspace add --replace`"
            ) from None
        except stripe.InvalidRequestError as error:
            if error.code == "resource_missing":
                return None
            raise ProviderError(
                f"Stripe refused GET {path} (HTTP {error.http_status}, {error.code})"
            ) from None
        except stripe.APIConnectionError as error:
            return _RetryableFailure(f"connection error: {type(error).__name__}", None, True)
        except (stripe.RateLimitError, stripe.APIError) as error:
            return _RetryableFailure(
                f"{type(error).__name__}, HTTP {error.http_status}",
                _retry_after_seconds(error.headers or {}),
            )

    def retrieve(self, entity: str, object_id: str) -> dict[str, Any] | None:
        """The current state of one object through `StripeClient`, or None if Stripe has no
        such object (e.g. it was deleted). Budgeted and retried like every other call."""
        if entity not in ENTITIES:
            raise ValueError(f"unknown Stripe entity {entity!r}")
        if not _OBJECT_ID.fullmatch(object_id):
            raise ValueError(f"malformed Stripe object id {object_id[:80]!r}")
        path = f"/v1/{entity}/{object_id}"
        found, _, _ = self._with_retries(f"GET {path}", lambda: self._retrieve_once(path))
        return found

    def list_pages(
        self, entity: str, *, starting_after: str | None = None, page_size: int = PAGE_SIZE
    ) -> Iterator[Page]:
        """Every object of `entity`, newest first, one page at a time.

        `starting_after` resumes a listing after an object id from an earlier page.
        """
        if entity not in ENTITIES and entity != "events":
            raise ValueError(f"unknown Stripe entity {entity!r}")
        path = f"/v1/{entity}"
        cursor = starting_after
        while True:
            params: dict[str, Any] = {"limit": page_size, **LIST_FILTERS.get(entity, {})}
            if cursor is not None:
                params["starting_after"] = cursor
            fetched_at = datetime.now(UTC)
            body, calls, retries = self._get(path, params)
            objects = body["data"]
            yield Page(objects, bool(body["has_more"]), fetched_at, calls, retries)
            if not body["has_more"] or not objects:
                return
            cursor = objects[-1]["id"]

    def close(self) -> None:
        """Release the HTTP connections, unless they are shared."""
        if self._owns_http:
            self._http.close()
