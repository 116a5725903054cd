"""Who is calling: API tokens (`X-API-Key` or `Authorization: Bearer`) and workspace scope.

FastAPI dependencies, so the OpenAPI document declares both schemes and every route states
what it needs. A workspace token acting on another workspace gets 403 whether or not that
workspace exists. Failed authentications are throttled per client address: past a burst,
further attempts get 429 before any token is checked, so tokens cannot be guessed at speed.
A valid token's check is reused for `token_cache_seconds` (one second): a client polling a
session's status costs no token query per request, and a revoked token stops working within
that second.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from paysync_dagster.store.tokens import Principal, authenticate, digest
from paysync_dagster.store.workspaces import WORKSPACE_ID_PATTERN

_API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKey")
_BEARER = HTTPBearer(auto_error=False, scheme_name="Bearer")
_UNAUTHENTICATED = "authentication required: send X-API-Key or Authorization: Bearer <token>"


@dataclass(frozen=True)
class AuthOptions:
    """How many failed authentications a client address may make: `failure_burst` at once,
    then `failures_per_second`."""

    failures_per_second: float = 1.0
    failure_burst: float = 20.0
    max_clients: int = 10_000
    token_cache_seconds: float = 1.0
    max_cached_tokens: int = 10_000


class FailureThrottle:
    """A token bucket per client address, spent only by failed authentications."""

    def __init__(self, options: AuthOptions) -> None:
        self._options = options
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _tokens(self, client: str, now: float) -> float:
        tokens, updated = self._buckets.get(client, (self._options.failure_burst, now))
        return min(
            self._options.failure_burst,
            tokens + (now - updated) * self._options.failures_per_second,
        )

    def blocked(self, client: str) -> bool:
        """Whether `client` has used up its failed attempts for now."""
        with self._lock:
            return self._tokens(client, time.monotonic()) < 1

    def failed(self, client: str) -> None:
        """Spend one attempt of `client`."""
        now = time.monotonic()
        with self._lock:
            tokens = self._tokens(client, now)
            self._buckets.pop(client, None)
            self._buckets[client] = (max(tokens - 1, 0.0), now)
            if len(self._buckets) > self._options.max_clients:
                self._buckets.popitem(last=False)


class PrincipalCache:
    """Valid tokens' principals for a short time, by the token's hash (never the token).

    Only successes are kept: a failed token is looked up, and throttled, every time.
    """

    def __init__(self, options: AuthOptions) -> None:
        self._options = options
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token_digest: str) -> Principal | None:
        """The principal checked less than `token_cache_seconds` ago, if any."""
        with self._lock:
            entry = self._entries.get(token_digest)
        if entry is None or time.monotonic() - entry[1] >= self._options.token_cache_seconds:
            return None
        return entry[0]

    def put(self, token_digest: str, found: Principal) -> None:
        """Remember a successful check from now."""
        with self._lock:
            self._entries.pop(token_digest, None)
            self._entries[token_digest] = (found, time.monotonic())
            if len(self._entries) > self._options.max_cached_tokens:
                self._entries.popitem(last=False)


def _unauthenticated() -> HTTPException:
    return HTTPException(401, _UNAUTHENTICATED, headers={"WWW-Authenticate": "Bearer"})


async def principal(
    request: Request,
    api_key: Annotated[str | None, Security(_API_KEY)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)],
) -> Principal:
    """The caller's token, checked: 401 without a valid one, 429 after too many failures."""
    throttle: FailureThrottle = request.app.state.auth_throttle
    client = request.client.host if request.client else "unknown"
    if throttle.blocked(client):
        raise HTTPException(
            429, "too many failed authentications; retry later", headers={"Retry-After": "1"}
        )
    token = (api_key or (bearer.credentials if bearer is not None else None) or "").strip()
    cache: PrincipalCache = request.app.state.principal_cache
    token_digest = digest(token)
    found = cache.get(token_digest)
    if found is None and token:
        found = await run_in_threadpool(authenticate, request.app.state.context.engine, token)
        if found is not None:
            cache.put(token_digest, found)
    if found is None:
        throttle.failed(client)
        raise _unauthenticated()
    return found


Caller = Annotated[Principal, Depends(principal)]


async def workspace_id(
    caller: Caller,
    x_workspace_id: Annotated[
        str,
        Header(
            pattern=f"^{WORKSPACE_ID_PATTERN.pattern}$",
            max_length=64,
            description="The workspace the request acts on.",
        ),
    ],
) -> str:
    """The `X-Workspace-ID` the caller may act on: 403 for any other, existing or not."""
    if not caller.may_act_on(x_workspace_id):
        raise HTTPException(403, "this token may not act on that workspace")
    return x_workspace_id


WorkspaceId = Annotated[str, Depends(workspace_id)]
