"""The gateway sandbox's Starlette app: tokenize, checkout and pay, with Datatrans-like
errors (`{"error": {"code", "message"}}`), idempotent replays and fault knobs.

What a card does is decided by its number (`CARD_OUTCOMES`; any other valid number
succeeds). Card numbers live only in the tokenize request: a token keeps the outcome and
the last 4 digits, and nothing is logged.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import random
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paysync_dagster import bounds

from .settings import GatewaySandboxSettings

MAX_BODY_BYTES = 16 * 1024
_MAX_IDEMPOTENCY_KEY = 255
_REPLAY_CAPACITY = 10_000
_DIGITS = re.compile(r"[0-9]{12,19}")

# Card number -> (outcome, error code, message). Outcome: declined (402), requires_action
# (3-D Secure redirect) or error (500, a processing failure that says nothing about the card).
CARD_OUTCOMES: dict[str, tuple[str, str, str]] = {
    "4000000000000002": ("declined", "DECLINED", "The card was declined."),
    "4000000000000341": ("declined", "DECLINED", "The card was declined after it was stored."),
    "4000000000009995": ("declined", "INSUFFICIENT_FUNDS", "The card has insufficient funds."),
    "4000000000003220": ("requires_action", "3DS_REQUIRED", "3-D Secure authentication."),
    "4000000000000119": ("error", "PROCESSING_ERROR", "The acquirer failed to process it."),
}


class GatewayError(Exception):
    """An error answered as `{"error": {"code", "message"}}` with an HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> tuple[dict[str, Any], int]:
        return {"error": {"code": self.code, "message": self.message}}, self.status


@dataclass(frozen=True)
class _Token:
    last4: str
    outcome: tuple[str, str, str] | None


def _luhn(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def _string(body: dict[str, Any], name: str, limit: int = 255) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise GatewayError(400, "INVALID_PROPERTY", f"{name} must be a string of 1-{limit} chars")
    return value


class GatewayState:
    """Tokens, checkouts and payments of one sandbox, plus its idempotent replays."""

    def __init__(self, settings: GatewaySandboxSettings) -> None:
        self.settings = settings
        self.tokens: dict[str, _Token] = {}
        self.checkouts: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.replays: OrderedDict[tuple[str, str], tuple[dict[str, Any], int]] = OrderedDict()
        self._ids = itertools.count(1)
        self._random = random.Random(settings.seed)

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):010d}{self._random.getrandbits(32):08x}"

    def _ids_match(self, body: dict[str, Any], *names: str) -> None:
        expected = {"formId": self.settings.form_id, "merchantId": self.settings.merchant_id}
        for name in names:
            if _string(body, name, 64) != expected[name]:
                raise GatewayError(403, "UNKNOWN_MERCHANT", f"unknown {name}")

    def tokenize(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        self._ids_match(body, "formId")
        card = body.get("card")
        if not isinstance(card, dict):
            raise GatewayError(400, "INVALID_PROPERTY", "card must be an object")
        number = card.get("number")
        if not isinstance(number, str) or not _DIGITS.fullmatch(number) or not _luhn(number):
            raise GatewayError(400, "INVALID_CARD", "card.number is not a valid card number")
        cvv = card.get("cvv")
        if not isinstance(cvv, str) or not cvv.isdigit() or len(cvv) not in (3, 4):
            raise GatewayError(400, "INVALID_CARD", "card.cvv must be 3 or 4 digits")
        token = self._id("tok")
        self.tokens[token] = _Token(number[-4:], CARD_OUTCOMES.get(number))
        return {"transactionId": token, "card": {"last4": number[-4:]}}, 200

    def checkout(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        self._ids_match(body, "formId", "merchantId")
        amount = body.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount < 10**9:
            raise GatewayError(400, "INVALID_PROPERTY", "amount must be a positive integer")
        currency = _string(body, "currency", 3)
        customer = body.get("customer")
        if not isinstance(customer, dict):
            raise GatewayError(400, "INVALID_PROPERTY", "customer must be an object")
        for name in ("firstName", "lastName", "email"):
            _string(customer, name, 320)
        checkout_id = self._id("chk")
        self.checkouts[checkout_id] = {
            "amount": amount,
            "currency": currency,
            "refno": _string(body, "refno"),
            "status": "open",
        }
        return {"checkoutId": checkout_id, "status": "open"}, 201

    def pay(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        self._ids_match(body, "merchantId")
        checkout = self.checkouts.get(_string(body, "checkoutId"))
        if checkout is None:
            raise GatewayError(404, "NOT_FOUND", "no such checkout")
        token = self.tokens.get(_string(body, "transactionId"))
        if token is None:
            raise GatewayError(404, "NOT_FOUND", "no such transactionId")
        if checkout["status"] != "open":
            raise GatewayError(409, "ALREADY_PROCESSED", "the checkout was already paid")
        payment_id = self._id("pay")
        outcome = token.outcome
        if outcome is not None and outcome[0] == "error":
            raise GatewayError(500, outcome[1], outcome[2])
        if outcome is not None and outcome[0] == "declined":
            checkout["status"] = "declined"
            self.payments[payment_id] = {"status": "declined", "last4": token.last4}
            raise GatewayError(402, outcome[1], outcome[2])
        status = "requires_action" if outcome is not None else "settled"
        checkout["status"] = status
        self.payments[payment_id] = {"status": status, "last4": token.last4}
        answer: dict[str, Any] = {"paymentId": payment_id, "status": status}
        if status == "requires_action":
            answer["redirectUrl"] = f"/v1/3ds/{payment_id}"
        return answer, 200

    def remember(self, key: tuple[str, str] | None, body: dict[str, Any], status: int) -> None:
        """Keep an answer for replay (not server errors: those are retried for real)."""
        if key is None or status >= 500:
            return
        self.replays[key] = (body, status)
        while len(self.replays) > _REPLAY_CAPACITY:
            self.replays.popitem(last=False)


async def _json_body(request: Request) -> dict[str, Any]:
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise GatewayError(415, "UNSUPPORTED_MEDIA_TYPE", "send application/json")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise GatewayError(413, "TOO_LARGE", f"bodies are limited to {MAX_BODY_BYTES} bytes")
    try:
        decoded = bounds.loads_bounded(bytes(body))
    except (bounds.InputLimitError, orjson.JSONDecodeError, ValueError):
        raise GatewayError(400, "INVALID_JSON", "the body is not valid JSON") from None
    if not isinstance(decoded, dict):
        raise GatewayError(400, "INVALID_JSON", "the body must be a JSON object")
    return decoded


def build_app(settings: GatewaySandboxSettings) -> Starlette:
    """The gateway app for `settings`; `app.state.gateway` is its state."""
    state = GatewayState(settings)
    faults = random.Random(settings.seed)
    Step = Callable[[dict[str, Any]], tuple[dict[str, Any], int]]

    def endpoint(step: Step) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            if settings.latency_ms:
                await asyncio.sleep(settings.latency_ms / 1000)
            key = request.headers.get("idempotency-key")
            replay_key = None
            try:
                if settings.api_key is not None:
                    scheme, _, given = request.headers.get("authorization", "").partition(" ")
                    if scheme.lower() != "bearer" or not hmac.compare_digest(
                        given.strip().encode(), settings.api_key.encode()
                    ):
                        raise GatewayError(401, "UNAUTHORIZED", "invalid or missing API key")
                if key is not None:
                    if not 0 < len(key) <= _MAX_IDEMPOTENCY_KEY:
                        raise GatewayError(400, "INVALID_PROPERTY", "Idempotency-Key is too long")
                    replay_key = (request.url.path, key)
                    replayed = state.replays.get(replay_key)
                    if replayed is not None:
                        return JSONResponse(
                            replayed[0], replayed[1], headers={"Idempotent-Replayed": "true"}
                        )
                if settings.fail_rate and faults.random() < settings.fail_rate:
                    raise GatewayError(503, "UNAVAILABLE", "injected by the sandbox's fail_rate")
                body, status = step(await _json_body(request))
            except GatewayError as error:
                body, status = error.response()
            state.remember(replay_key, body, status)
            return JSONResponse(body, status)

        return handle

    async def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": {"code": "NOT_FOUND", "message": "no such endpoint"}}, 404)

    app = Starlette(
        routes=[
            Route("/v1/tokenize", endpoint(state.tokenize), methods=["POST"]),
            Route("/v1/checkouts", endpoint(state.checkout), methods=["POST"]),
            Route("/v1/payments", endpoint(state.pay), methods=["POST"]),
        ],
        exception_handlers={404: not_found},
    )
    app.state.gateway = state
    return app
