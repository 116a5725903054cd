"""The sandbox's Starlette app: PayFit's partner API and `/introspect` over a PayfitState.

One server answers both bases (`api_base` and `oauth_base` may point at the same URL). Besides
PayFit's routes it serves `/_sandbox/...` control routes for tests, which bypass the gate and
are never logged: `GET|DELETE /_sandbox/requests` (the request log) and
`POST /_sandbox/expire-page-tokens` (make every issued `nextPageToken` stale).
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .dataset import PayfitDataset
from .errors import PayfitError, bad_request, missing_scope, not_found
from .gate import Gate
from .settings import PayfitSandboxSettings
from .state import DEFAULT_MAX_RESULTS, MAX_RESULTS, PayfitState

MAX_BODY_BYTES = 64 * 1024
CONTROL_PREFIX = "/_sandbox/"

Handler = Callable[[Request], Awaitable[Any]]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _max_results(request: Request) -> int:
    """`maxResults`: default 10, values above 50 silently capped, as PayFit does."""
    value = request.query_params.get("maxResults")
    if value is None:
        return DEFAULT_MAX_RESULTS
    if not value.isdigit() or len(value) > 9 or int(value) < 1:
        raise bad_request("maxResults must be a positive integer")
    return min(int(value), MAX_RESULTS)


def _page_token(request: Request) -> str | None:
    token = request.query_params.get("nextPageToken")
    return token or None


async def _body(request: Request) -> dict[str, Any]:
    """A JSON object body, read with a size limit."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise bad_request("Content-Type must be application/json")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise bad_request(f"body is larger than {MAX_BODY_BYTES} bytes")
    try:
        decoded = orjson.loads(bytes(body))
    except orjson.JSONDecodeError:
        raise bad_request("body is not valid JSON") from None
    if not isinstance(decoded, dict):
        raise bad_request("body must be a JSON object")
    return decoded


class _RequestLog:
    """ASGI middleware that logs every request outside `/_sandbox/` with its status."""

    def __init__(self, app: ASGIApp, state: PayfitState) -> None:
        self._app = app
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self._app(scope, receive, send)
            return
        status: list[int] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, capture)
        finally:
            self._state.record(
                {
                    "method": scope["method"],
                    "path": scope["path"],
                    "query": scope["query_string"].decode("latin-1"),
                    "status": status[0] if status else None,
                }
            )


def build_app(settings: PayfitSandboxSettings) -> Starlette:
    """An ASGI app speaking PayFit's partner API for `settings`.

    `app.state.sandbox` is its `PayfitState`. Every answer is JSON, errors included; the
    company in the path must be the settings' (else 403), and each route needs its scope.
    """
    state = PayfitState(
        PayfitDataset(settings.collaborators, settings.seed, settings.company_id),
        record_requests=settings.record_requests,
    )
    gate = Gate(settings)
    request_numbers = itertools.count()

    def api(handler: Handler, scope: str | None = None) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            headers = {"X-Request-Id": f"req-{next(request_numbers)}", **gate.rate_headers()}
            try:
                await gate.admit(request.headers)
                company = request.path_params.get("company_id")
                if company is not None and company != settings.company_id:
                    raise PayfitError(
                        403, "This access token cannot access the requested company",
                        code="forbidden",
                    )  # fmt: skip
                if scope is not None and scope not in settings.scopes:
                    raise missing_scope(scope)
                body = await handler(request)
                status = 201 if request.method == "POST" and company is not None else 200
            except PayfitError as exc:
                body, status = exc.body(), exc.status
                headers.update(exc.headers)
            return _json(body, status, headers)

        return endpoint

    async def introspect(request: Request) -> dict[str, Any]:
        return {
            "active": True,
            "company_id": settings.company_id,
            "scope": " ".join(settings.scopes),
            "client_id": f"sandbox-client-{settings.seed}",
            "token_type": "bearer",
        }

    async def company(request: Request) -> dict[str, Any]:
        return {
            "id": settings.company_id,
            "name": f"Sandbox SAS ({settings.company_id})",
            "country": "FR",
            "collaboratorsCount": state.collaborator_count,
        }

    async def list_collaborators(request: Request) -> dict[str, Any]:
        return state.list_collaborators(_page_token(request), _max_results(request))

    async def create_collaborator(request: Request) -> dict[str, Any]:
        return state.create_collaborator(await _body(request))

    async def get_collaborator(request: Request) -> dict[str, Any]:
        return state.collaborator(state.find_collaborator(request.path_params["collaborator_id"]))

    async def update_collaborator(request: Request) -> dict[str, Any]:
        return state.update_collaborator(
            request.path_params["collaborator_id"], await _body(request)
        )

    async def list_contracts(request: Request) -> dict[str, Any]:
        return state.list_contracts(_page_token(request), _max_results(request))

    async def requests_log(request: Request) -> Response:
        if request.method == "DELETE":
            state.clear_requests()
            return _json({"cleared": True})
        return _json({"recording": settings.record_requests, "requests": state.requests()})

    async def expire_tokens(request: Request) -> Response:
        state.tokens.expire_all()
        return _json({"expired": True})

    async def unknown_route(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        error = not_found() if status == 404 else PayfitError(status, "Method Not Allowed")
        return _json(error.body(), error.status)

    collaborators = "/companies/{company_id}/collaborators"
    app = Starlette(
        routes=[
            Route("/introspect", api(introspect), methods=["POST"]),
            Route("/companies/{company_id}", api(company), methods=["GET"]),
            Route(collaborators, api(list_collaborators, "collaborators:read"), methods=["GET"]),
            Route(collaborators, api(create_collaborator, "collaborators:write"), methods=["POST"]),
            Route(
                collaborators + "/{collaborator_id}",
                api(get_collaborator, "collaborators:read"),
                methods=["GET"],
            ),
            Route(
                collaborators + "/{collaborator_id}",
                api(update_collaborator, "collaborators:write"),
                methods=["PATCH"],
            ),
            Route(
                "/companies/{company_id}/contracts",
                api(list_contracts, "contracts:read"),
                methods=["GET"],
            ),
            Route(CONTROL_PREFIX + "requests", requests_log, methods=["GET", "DELETE"]),
            Route(CONTROL_PREFIX + "expire-page-tokens", expire_tokens, methods=["POST"]),
        ],
        exception_handlers={HTTPException: unknown_route},
        middleware=[Middleware(_RequestLog, state=state)],
    )
    app.state.sandbox = state
    app.state.settings = settings
    return app
