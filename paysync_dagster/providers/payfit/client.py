"""PayFit's partner API through httpx, with a shared rate budget, retries and clear failures.

`PayfitApi.list_pages` has the shape the sync engine drives (`PageSource`): pages of
collaborators or contracts, resumable from a page token. Every request takes a token from the
API key's shared `RateBudget`; 429, 5xx and network failures are retried with backoff and
jitter, honouring `Retry-After`; 401 and 403 fail at once. A base URL that never answered
(refused, unresolvable) gets a couple of quick retries, not the full schedule: the seed's
outage was a misconfigured API base, and such a config cannot start working mid-sync.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from paysync_dagster.providers.base import Page
from paysync_dagster.providers.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderUnavailableError,
)
from paysync_dagster.providers.payfit.budgets import shared_budget
from paysync_dagster.providers.payfit.errors import (
    PayfitMockModeError,
    PayfitPageTokenError,
    PayfitUnexpectedResponseError,
    PayfitUnreachableError,
    safe_url,
)
from paysync_dagster.providers.payfit.mock_mode import mock_mode_status
from paysync_dagster.providers.rate_budget import RateBudget

PAYFIT_ENTITIES = ("collaborators", "contracts")
DEFAULT_API_BASE = "https://partner-api.payfit.com"
DEFAULT_OAUTH_BASE = "https://oauth.payfit.com"
# PayFit caps `maxResults` at 50 (larger values are silently lowered); its default is 10.
PAGE_SIZE = 50
# A Retry-After longer than this is treated as an outage rather than waited out.
MAX_RETRY_AFTER_SECONDS = 60.0
RATE_WINDOW_SECONDS = 1.0
# Retries of a network failure while the base URL has never answered: enough for a blip at
# start-up, short enough that a wrong `api_base` fails within about a second.
UNREACHED_RETRIES = 2
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
_PATH_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# PayFit scope names: `collaborators:read`, `contracts:payslips:read`, ...
_SCOPE = re.compile(r"\b[a-z][a-z-]*(?::[a-z][a-z-]*)*:(?:read|write)\b")
_CHECK_KEY = (
    "check the workspace's PayFit API key (`paysync workspace add <id> --provider payfit"
    " --api-key ...`)"
)


@dataclass(frozen=True)
class PayfitPage(Page):
    """A list page, plus the token of the page after it (None on the last page).

    The token is where a sync resumes: it is what `list_pages(starting_after=...)` takes.
    """

    next_page_token: str | None = None

    def resume_cursor(self) -> str | None:
        """The next page's token: `list_pages(starting_after=...)` resumes there."""
        return self.next_page_token


@dataclass(frozen=True)
class Introspection:
    """What `POST /introspect` says about an API key."""

    active: bool
    company_id: str | None
    scopes: tuple[str, ...]
    client_id: str | None
    token_type: str | None


@dataclass(frozen=True)
class ConnectionTestResult:
    """The outcome of `PayfitApi.test_connection`, with a message fit to show a person."""

    ok: bool
    message: str
    company_id: str | None = None
    company_name: str | None = None
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _RetryableFailure:
    """A throttled, failed or unreachable request worth another try."""

    description: str
    retry_after: float | None
    network: bool = False


def _retry_after_seconds(headers: Mapping[str, str], status: int) -> float | None:
    """`Retry-After` in seconds; for a 429 without one, PayFit's one-second window."""
    value = headers.get("retry-after")
    if value is None and status == 429:
        # PayFit documents only X-RateLimit-*-Second headers: its limit is per second, so
        # one second is always enough, where a jittered backoff would probe several times.
        return RATE_WINDOW_SECONDS
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None


def _looks_like_html(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "")
    return "html" in content_type or response.content.lstrip()[:1] == b"<"


def _validated_base(url: str, what: str) -> str:
    """`url` without a trailing slash, if it is an absolute http(s) URL without credentials."""
    try:
        parts = httpx.URL(url)
    except httpx.InvalidURL:
        raise ValueError(f"PayFit {what} {safe_url(url)!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.host:
        raise ValueError(f"PayFit {what} {safe_url(url)!r} must be an http(s) URL with a host")
    if parts.userinfo:
        raise ValueError(f"PayFit {what} {safe_url(url)!r} must not contain credentials")
    return url.rstrip("/")


def _path_id(value: str, what: str) -> str:
    if not _PATH_ID.fullmatch(value):
        raise ValueError(f"malformed PayFit {what} {value[:80]!r}")
    return value


class PayfitApi:
    """One PayFit company's API, as one workspace sees it.

    `company_id` may be None: it is then read from `/introspect` on first use. `budget`
    defaults to the key's process-wide budget (`budgets.shared_budget`). `workspace_id`, when
    given, is named in every error so a failing workspace is identifiable from its message.
    """

    def __init__(
        self,
        api_key: str,
        *,
        company_id: str | None = None,
        api_base: str | None = None,
        oauth_base: str | None = None,
        workspace_id: str | None = None,
        budget: RateBudget | None = None,
        max_retries: int = 8,
        timeout_seconds: float = 30.0,
        connect_timeout_seconds: float = 5.0,
        backoff_base_seconds: float = 0.25,
        backoff_cap_seconds: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        http_client: httpx.Client | None = None,
    ) -> None:
        mock = mock_mode_status(api_key, company_id)
        if mock.active:
            # The sync checks mock mode first and skips; this makes "no request leaves the
            # process" hold even for a caller that forgot to.
            where = f"workspace {workspace_id!r}: " if workspace_id else ""
            raise PayfitMockModeError(f"{where}{mock.reason}")
        if any(char.isspace() for char in api_key):
            raise ValueError("a PayFit API key must contain no whitespace")
        self._api_key = api_key
        self._company_id = None if company_id is None else _path_id(company_id, "company id")
        self._api_base = _validated_base(api_base or DEFAULT_API_BASE, "api_base")
        self._oauth_base = _validated_base(oauth_base or DEFAULT_OAUTH_BASE, "oauth_base")
        self._where = f"workspace {workspace_id!r}: " if workspace_id else ""
        self._budget = budget or shared_budget(api_key)
        self._max_retries = max_retries
        self._backoff_base = backoff_base_seconds
        self._backoff_cap = backoff_cap_seconds
        self._sleep = sleep
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "User-Agent": "paysync-payfit",
        }
        self._owns_http = http_client is None
        self._http = http_client or open_http_client(timeout_seconds, connect_timeout_seconds)
        # The bases (api, oauth) that have given an HTTP answer: until one has, network
        # failures there point at the configuration and get only UNREACHED_RETRIES.
        self._reached: set[str] = set()

    # -- requests ---------------------------------------------------------------------------

    def _base_of(self, url: str) -> str:
        """The configured base `url` is under (the API's unless it is the OAuth one's)."""
        return self._oauth_base if url.startswith(self._oauth_base + "/") else self._api_base

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "[redacted]")[:200]

    def _payfit_message(self, response: httpx.Response) -> str | None:
        """PayFit's short error message from a JSON error body, credential-free."""
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(body, dict):
            return None
        for field in ("message", "error_description", "error"):
            value = body.get(field)
            if isinstance(value, str) and value:
                return self._scrub(value)
        return None

    def _missing_scope(self, response: httpx.Response) -> str | None:
        """The scope a 403 names, looked for in the body's fields and message."""
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(body, dict):
            return None
        for field in ("missingScope", "missing_scope", "requiredScope", "required_scope", "scope"):
            value = body.get(field)
            if isinstance(value, str) and _SCOPE.fullmatch(value):
                return value
        for field in ("message", "error_description", "error"):
            value = body.get(field)
            if isinstance(value, str):
                found = _SCOPE.search(value[:500])
                if found:
                    return found.group(0)
        return None

    def _refusal(self, response: httpx.Response, what: str, url: str) -> ProviderError:
        """The error for a final, non-retryable HTTP answer."""
        status = response.status_code
        where = f"{self._where}PayFit {what} at {safe_url(url)}"
        if status == 401:
            return ProviderAuthError(
                f"{where}: HTTP 401, the API key is invalid or revoked; {_CHECK_KEY}"
            )
        if status == 403:
            scope = self._missing_scope(response)
            if scope is not None:
                return ProviderAuthError(
                    f"{where}: HTTP 403, the API key lacks the scope {scope!r}; create a key"
                    " with that scope in PayFit (Integrations > API access)"
                )
            message = self._payfit_message(response)
            return ProviderAuthError(
                f"{where}: HTTP 403 ({message or 'forbidden'}); the key may belong to another"
                " company (check the company id) or lack a scope"
            )
        if 300 <= status < 400:
            location = safe_url(response.headers.get("location", "")) or "nowhere"
            return PayfitUnexpectedResponseError(
                f"{where}: HTTP {status} redirect to {location}; PayFit's API does not"
                f" redirect, so check the api_base (PayFit's is {DEFAULT_API_BASE})"
            )
        if _looks_like_html(response):
            return PayfitUnexpectedResponseError(
                f"{where}: HTTP {status} with an HTML page, not PayFit's JSON API; check the"
                f" api_base (PayFit's is {DEFAULT_API_BASE})"
            )
        message = self._payfit_message(response)
        if status == 404:
            return ProviderError(
                f"{where}: HTTP 404 ({message or 'not found'}); the company id may be wrong,"
                " belong to another company, or the api_base may not be PayFit's"
            )
        return ProviderError(f"{where}: HTTP {status} ({message or 'no message'})")

    def _decode(self, response: httpx.Response, what: str, url: str) -> Any:
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise PayfitUnexpectedResponseError(
                f"{self._where}PayFit {what} at {safe_url(url)}: a response of"
                f" {len(response.content)} bytes is larger than any PayFit page"
            )
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            kind = "an HTML page" if _looks_like_html(response) else "a body that is not JSON"
            raise PayfitUnexpectedResponseError(
                f"{self._where}PayFit {what} at {safe_url(url)}: HTTP {response.status_code}"
                f" with {kind}; check that the api_base points at PayFit's partner API"
                f" ({DEFAULT_API_BASE})"
            ) from None

    def _attempt(
        self,
        method: str,
        url: str,
        what: str,
        params: dict[str, Any] | None,
        json: Any,
    ) -> Any:
        """One request: the decoded body, a failure worth retrying, or a raised refusal."""
        try:
            response = self._http.request(
                method, url, params=params, json=json, headers=self._headers
            )
        except httpx.ConnectError:
            return _RetryableFailure("connection refused or host not found", None, network=True)
        except httpx.TimeoutException as error:
            return _RetryableFailure(f"timed out ({type(error).__name__})", None, network=True)
        except (httpx.ProtocolError, httpx.DecodingError) as error:
            # An HTTP/2 protocol error (the seed's ERR_HTTP2_PROTOCOL_ERROR), a TLS-terminating
            # proxy speaking something else, or a server closing mid-response.
            return _RetryableFailure(
                f"HTTP protocol error ({type(error).__name__}); the server at this address may"
                " not speak HTTP as PayFit does",
                None,
                network=True,
            )
        except httpx.TransportError as error:
            return _RetryableFailure(f"network error ({type(error).__name__})", None, network=True)
        self._reached.add(self._base_of(url))
        status = response.status_code
        if status in (200, 201):
            return self._decode(response, what, url)
        if status == 429 or status >= 500:
            message = self._payfit_message(response)
            return _RetryableFailure(
                f"HTTP {status}" + (f", {message}" if message else ""),
                _retry_after_seconds(response.headers, status),
            )
        if status == 400 and params and "nextPageToken" in params:
            message = self._payfit_message(response)
            raise PayfitPageTokenError(
                f"{self._where}PayFit refused the page token ({message or 'HTTP 400'});"
                " the listing restarts from its first page"
            )
        raise self._refusal(response, what, url)

    def _backoff(self, attempt: int, failure: _RetryableFailure, what: str, url: str) -> float:
        if failure.retry_after is not None and failure.retry_after > MAX_RETRY_AFTER_SECONDS:
            raise ProviderUnavailableError(
                f"{self._where}PayFit {what} at {safe_url(url)}: asked to wait"
                f" {failure.retry_after:.0f}s ({failure.description})"
            )
        if failure.network and self._base_of(url) not in self._reached:
            return 0.1 * 2**attempt
        jittered = random.uniform(0, min(self._backoff_cap, self._backoff_base * 2**attempt))
        return jittered if failure.retry_after is None else failure.retry_after + jittered / 4

    def _request(
        self,
        method: str,
        url: str,
        what: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> tuple[Any, int, int]:
        """A request within the budget, retried; returns (decoded body, calls, retries)."""
        attempt = 0
        while True:
            self._budget.acquire()
            outcome = self._attempt(method, url, what, params, json)
            if not isinstance(outcome, _RetryableFailure):
                return outcome, attempt + 1, attempt
            unreached = outcome.network and self._base_of(url) not in self._reached
            limit = UNREACHED_RETRIES if unreached else self._max_retries
            if attempt >= limit:
                raise self._exhausted(outcome, attempt, what, url, unreached=unreached)
            self._sleep(self._backoff(attempt, outcome, what, url))
            attempt += 1

    def _exhausted(
        self, failure: _RetryableFailure, retries: int, what: str, url: str, *, unreached: bool
    ) -> ProviderUnavailableError:
        where = f"{self._where}PayFit {what} at {safe_url(url)}"
        if unreached:
            base = self._base_of(url)
            option = "--api-base" if base == self._api_base else "--oauth-base"
            return PayfitUnreachableError(
                f"{where}: {failure.description} after {retries + 1} attempts; check the"
                f" workspace's base URL ({option} {safe_url(base)}), that the service is"
                " running, and that this host can reach it"
            )
        return ProviderUnavailableError(
            f"{where}: still failing after {retries} retries ({failure.description})"
        )

    # -- API --------------------------------------------------------------------------------

    def introspect(self) -> Introspection:
        """What PayFit says about the key (`POST /introspect` on the OAuth base)."""
        url = f"{self._oauth_base}/introspect"
        body, _, _ = self._request("POST", url, "POST /introspect", json={"token": self._api_key})
        if not isinstance(body, dict) or not isinstance(body.get("active"), bool):
            raise PayfitUnexpectedResponseError(
                f"{self._where}PayFit POST /introspect at {safe_url(url)}: the JSON is not an"
                f" introspection result; check the oauth_base (PayFit's is {DEFAULT_OAUTH_BASE})"
            )
        company = body.get("company_id")
        scope = body.get("scope")
        client_id = body.get("client_id")
        token_type = body.get("token_type")
        return Introspection(
            active=body["active"],
            company_id=company
            if isinstance(company, str) and _PATH_ID.fullmatch(company)
            else None,
            scopes=tuple(scope.split()[:100]) if isinstance(scope, str) else (),
            client_id=client_id[:200] if isinstance(client_id, str) else None,
            token_type=token_type[:50] if isinstance(token_type, str) else None,
        )

    def company_id(self) -> str:
        """The company this workspace reads: as configured, else from `/introspect` (cached)."""
        if self._company_id is None:
            found = self.introspect()
            if not found.active:
                raise ProviderAuthError(
                    f"{self._where}PayFit says the API key is not active; {_CHECK_KEY}"
                )
            if found.company_id is None:
                raise PayfitUnexpectedResponseError(
                    f"{self._where}PayFit's /introspect gave no usable company_id; configure"
                    " the company id explicitly (--company-id)"
                )
            self._company_id = found.company_id
        return self._company_id

    def get_company(self) -> dict[str, Any]:
        """The company record (`GET /companies/{companyId}`)."""
        company_id = self.company_id()
        url = f"{self._api_base}/companies/{company_id}"
        body, _, _ = self._request("GET", url, "GET /companies/{companyId}")
        if not isinstance(body, dict):
            raise PayfitUnexpectedResponseError(
                f"{self._where}PayFit GET /companies/{{companyId}} at {safe_url(url)}: expected"
                f" a JSON object, got {type(body).__name__}; check the api_base"
            )
        return body

    def _list_body(
        self, body: Any, entity: str, url: str
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The objects and next token of a list body, if it has PayFit's list shape."""
        objects = body.get(entity) if isinstance(body, dict) else None
        meta = body.get("meta", {}) if isinstance(body, dict) else None
        token = meta.get("nextPageToken") if isinstance(meta, dict) else None
        if (
            not isinstance(objects, list)
            or not isinstance(meta, dict)
            or not (token is None or (isinstance(token, str) and 0 < len(token) <= 4096))
        ):
            raise PayfitUnexpectedResponseError(
                f"{self._where}PayFit GET /companies/{{companyId}}/{entity} at {safe_url(url)}:"
                f' the JSON is not a PayFit list ({{"{entity}": [...], "meta": {{...}}}});'
                " check the api_base"
            )
        return objects, token

    def list_pages(
        self, entity: str, *, starting_after: str | None = None, page_size: int = PAGE_SIZE
    ) -> Iterator[PayfitPage]:
        """Every object of `entity` (`collaborators` or `contracts`), a page at a time.

        `starting_after` is a page token from an earlier listing (`PayfitPage.next_page_token`):
        the listing resumes at that page. A token PayFit no longer accepts raises
        `PayfitPageTokenError`, a `CursorGoneError`, so the sync restarts the listing.
        """
        if entity not in PAYFIT_ENTITIES:
            raise ValueError(f"unknown PayFit entity {entity!r}")
        if not 1 <= page_size <= PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {PAGE_SIZE}")
        url = f"{self._api_base}/companies/{self.company_id()}/{entity}"
        what = f"GET /companies/{{companyId}}/{entity}"
        token = starting_after
        while True:
            params: dict[str, Any] = {"maxResults": page_size}
            if token is not None:
                params["nextPageToken"] = token
            fetched_at = datetime.now(UTC)
            body, calls, retries = self._request("GET", url, what, params=params)
            objects, next_token = self._list_body(body, entity, url)
            if next_token is not None and next_token == token:
                raise PayfitUnexpectedResponseError(
                    f"{self._where}PayFit {what} at {safe_url(url)} returned the page token it"
                    " was given; the listing would never end"
                )
            yield PayfitPage(
                objects, next_token is not None, fetched_at, calls, retries, next_token
            )
            if next_token is None:
                return
            token = next_token

    def test_connection(self) -> ConnectionTestResult:
        """Prove the key and company: introspect, then fetch the company. Never raises for a
        provider failure; the result's message says what is wrong and what to check."""
        try:
            found = self.introspect()
            if not found.active:
                return ConnectionTestResult(
                    False, f"PayFit says the API key is not active; {_CHECK_KEY}"
                )
            if self._company_id is None:
                if found.company_id is None:
                    return ConnectionTestResult(
                        False,
                        "PayFit's /introspect gave no usable company_id; configure the company"
                        " id explicitly (--company-id)",
                        scopes=found.scopes,
                    )
                self._company_id = found.company_id
            elif found.company_id is not None and found.company_id != self._company_id:
                return ConnectionTestResult(
                    False,
                    f"the API key belongs to company {found.company_id!r}, not the configured"
                    f" {self._company_id!r}; fix the company id",
                    company_id=found.company_id,
                    scopes=found.scopes,
                )
            company = self.get_company()
        except ProviderError as error:
            return ConnectionTestResult(False, str(error))
        name = company.get("name")
        return ConnectionTestResult(
            True,
            f"connected to PayFit company {self._company_id!r}",
            company_id=self._company_id,
            company_name=name[:200] if isinstance(name, str) else None,
            scopes=found.scopes,
        )

    def close(self) -> None:
        """Release the HTTP connections, unless they are shared."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> PayfitApi:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_http_client(
    timeout_seconds: float = 30.0, connect_timeout_seconds: float = 5.0
) -> httpx.Client:
    """A pooled, thread-safe httpx client shareable by many workspaces' `PayfitApi`s.

    Redirects are not followed: PayFit's API does not redirect, and a redirect usually means
    the base URL is a website or a login page.
    """
    return httpx.Client(
        timeout=httpx.Timeout(timeout_seconds, connect=connect_timeout_seconds),
        follow_redirects=False,
    )
