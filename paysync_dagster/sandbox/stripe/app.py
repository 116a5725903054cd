"""The sandbox's Starlette app: Stripe's URL scheme over a SandboxState."""

import itertools
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .dataset import StripeDataset
from .errors import StripeError, invalid_request
from .gate import Gate
from .hashing import stream_key
from .ids import IdCodec
from .params import decode_form, parse_list_query, reject_parameters
from .settings import StripeSandboxSettings
from .state import LISTABLE, SandboxState
from .webhooks import WebhookDelivery, WebhookDeliverySettings

MAX_BODY_BYTES = 64 * 1024
_MAX_IDEMPOTENCY_KEY = 255
_METHODS = ["GET", "POST", "DELETE"]

Handler = Callable[[Request, str], Awaitable[dict[str, Any]]]


def _unrecognized(method: str, path: str) -> StripeError:
    return StripeError(
        404,
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
    )


async def _form(request: Request) -> dict[str, Any]:
    """The form-encoded body of a mutation, read with a size limit."""
    content_type = request.headers.get("content-type", "application/x-www-form-urlencoded")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        raise invalid_request(
            "Invalid request: Content-Type must be application/x-www-form-urlencoded"
        )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise invalid_request(f"Request body is larger than {MAX_BODY_BYTES} bytes")
    return decode_form(bytes(body))


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and len(key) > _MAX_IDEMPOTENCY_KEY:
        raise invalid_request(
            f"Idempotency-Key must be at most {_MAX_IDEMPOTENCY_KEY} characters",
            param="Idempotency-Key",
        )
    return key


class IdempotentReplays:
    """Answers of payment requests by idempotency key, replayed for a repeated request.

    Scoped to payment intents (where a replay decides whether a customer pays twice) and
    bounded: the oldest answers are forgotten first, as Stripe forgets keys after 24 hours.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._answers: OrderedDict[tuple[str, str, str], tuple[dict[str, Any], int]] = OrderedDict()

    def key(self, request: Request, idempotency_key: str | None) -> tuple[str, str, str] | None:
        """The replay key of a payment POST with an idempotency key; None for any other."""
        if (
            idempotency_key is None
            or request.method != "POST"
            or request.path_params.get("entity") != "payment_intents"
        ):
            return None
        return (request.headers.get("authorization", ""), request.url.path, idempotency_key)

    def get(self, key: tuple[str, str, str] | None) -> tuple[dict[str, Any], int] | None:
        """The stored answer for `key`, if any."""
        return None if key is None else self._answers.get(key)

    def put(self, key: tuple[str, str, str] | None, body: dict[str, Any], status: int) -> None:
        """Remember the answer for `key` (server errors are not remembered: retry them)."""
        if key is None or status >= 500:
            return
        self._answers[key] = (body, status)
        while len(self._answers) > self._capacity:
            self._answers.popitem(last=False)


def build_app(settings: StripeSandboxSettings) -> Starlette:
    """A Starlette app speaking Stripe's v1 API for `settings`; `app.state.sandbox` is its state.

    Serves list and retrieve for customers, products, prices, subscriptions, invoices,
    payment intents, charges and events; create/update/delete for customers; create and
    confirm for payment intents. Every answer, errors included, is JSON in Stripe's shape, so
    the official `stripe` SDK works against it unchanged. Payment requests with an
    `Idempotency-Key` are answered once and replayed, as Stripe does, so a retried attempt
    never pays twice.
    """
    state = SandboxState(StripeDataset(customers=settings.customers, seed=settings.seed))
    if settings.webhook_urls and settings.webhook_secret:
        state.subscribe(
            WebhookDelivery(
                WebhookDeliverySettings(
                    urls=settings.webhook_urls,
                    secret=settings.webhook_secret,
                    duplicate_rate=settings.webhook_duplicate_rate,
                    reorder_window=settings.webhook_reorder_window,
                    seed=settings.seed,
                )
            )
        )
    gate = Gate(settings)
    request_ids = IdCodec("req", stream_key(settings.seed, "id:requests"))
    request_numbers = itertools.count()
    replays = IdempotentReplays()

    def stripe_endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            request_id = request_ids.encode(next(request_numbers))
            headers = {"Request-Id": request_id}
            replay_key = None
            try:
                await gate.admit(request.headers)
                replay_key = replays.key(request, _idempotency_key(request))
                replayed = replays.get(replay_key)
                if replayed is not None:
                    body, status = replayed
                    headers["Idempotent-Replayed"] = "true"
                    return JSONResponse(body, status_code=status, headers=headers)
                body = await handler(request, request_id)
                status = 200
            except StripeError as exc:
                body, status = exc.body(), exc.status
                headers.update(exc.headers)
            replays.put(replay_key, body, status)
            return JSONResponse(body, status_code=status, headers=headers)

        return endpoint

    async def collection(request: Request, request_id: str) -> dict[str, Any]:
        entity = request.path_params["entity"]
        if request.method == "GET" and entity in LISTABLE:
            query = parse_list_query(entity, request.query_params.multi_items())
            return state.list_objects(entity, query)
        if request.method == "POST" and entity == "customers":
            return state.create_customer(
                await _form(request),
                request_id=request_id,
                idempotency_key=_idempotency_key(request),
            )
        if request.method == "POST" and entity == "payment_intents":
            return state.create_payment_intent(
                await _form(request),
                request_id=request_id,
                idempotency_key=_idempotency_key(request),
            )
        raise _unrecognized(request.method, request.url.path)

    async def single(request: Request, request_id: str) -> dict[str, Any]:
        entity = request.path_params["entity"]
        object_id = request.path_params["object_id"]
        if request.method == "GET" and entity in LISTABLE:
            reject_parameters(request.query_params.multi_items())
            return state.retrieve(entity, object_id)
        if request.method == "POST" and entity == "customers":
            return state.update_customer(
                object_id,
                await _form(request),
                request_id=request_id,
                idempotency_key=_idempotency_key(request),
            )
        if request.method == "DELETE" and entity == "customers":
            reject_parameters(request.query_params.multi_items())
            return state.delete_customer(
                object_id, request_id=request_id, idempotency_key=_idempotency_key(request)
            )
        raise _unrecognized(request.method, request.url.path)

    async def action(request: Request, request_id: str) -> dict[str, Any]:
        params = request.path_params
        if (
            request.method == "POST"
            and params["entity"] == "payment_intents"
            and params["action"] == "confirm"
        ):
            return state.confirm_payment_intent(
                params["object_id"],
                await _form(request),
                request_id=request_id,
                idempotency_key=_idempotency_key(request),
            )
        raise _unrecognized(request.method, request.url.path)

    async def not_found(request: Request, exc: Exception) -> Response:
        error = _unrecognized(request.method, request.url.path)
        return JSONResponse(error.body(), status_code=error.status)

    app = Starlette(
        routes=[
            Route("/v1/{entity}", stripe_endpoint(collection), methods=_METHODS),
            Route("/v1/{entity}/{object_id}", stripe_endpoint(single), methods=_METHODS),
            Route("/v1/{entity}/{object_id}/{action}", stripe_endpoint(action), methods=_METHODS),
        ],
        exception_handlers={HTTPException: not_found},
    )
    app.state.sandbox = state
    app.state.settings = settings
    return app
