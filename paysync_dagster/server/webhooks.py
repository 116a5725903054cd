"""`POST /webhooks/stripe/{workspace_id}`: authenticate, store durably, acknowledge.

Checks run cheapest first: rate limit (429), size (413), content type (415), signature
(400). An unknown workspace, a path that cannot name one, a secret that does not decrypt and a
bad signature get the same answer and take the same work (a signature is computed against a
dummy secret), so the endpoint reveals neither which tenants exist nor which secret failed; a
secret that does not decrypt is logged once per workspace. A rejected request stores nothing
and is counted and logged without its body. An accepted event is acknowledged only after the
inbox commit; a redelivery of a stored event is acknowledged as a duplicate and not stored
again. Data the database refuses (it should not: bodies are bounded and U+0000 is escaped)
gets a 422, which a sender does not retry forever.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paysync_dagster.providers.stripe.entities import PROVIDER
from paysync_dagster.server.bodies import read_body
from paysync_dagster.store.vault import VaultError
from paysync_dagster.store.workspaces import WORKSPACE_ID_PATTERN, load_webhook_secrets
from paysync_dagster.webhooks.events import InvalidEventError, parse_event
from paysync_dagster.webhooks.inbox import InboxItem
from paysync_dagster.webhooks.limits import KeyedRateLimiter
from paysync_dagster.webhooks.secrets import SecretCache
from paysync_dagster.webhooks.signature import (
    DEFAULT_TOLERANCE_SECONDS,
    SignatureError,
    verify_signature,
)
from paysync_dagster.webhooks.worker import WebhookWorker
from paysync_dagster.webhooks.writer import EventRefusedError, InboxUnavailableError, InboxWriter

if TYPE_CHECKING:
    from .context import BackgroundService, ServerContext

logger = logging.getLogger(__name__)
_MAX_LOGGED_VAULT_FAILURES = 10_000
_DUMMY_SECRET = f"whsec_{secrets.token_hex(24)}"
_UNVERIFIED = JSONResponse({"error": "signature verification failed"}, status_code=400)


@dataclass(frozen=True)
class WebhookReceiverOptions:
    """Limits of the webhook endpoint."""

    max_body_bytes: int = 256 * 1024
    rate_per_second: float = 500.0
    burst: float = 1000.0
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS
    secret_ttl_seconds: float = 5.0


class WebhookReceiver:
    """The endpoint's state: secrets cache, rate limiter, inbox writer and counters."""

    def __init__(
        self,
        context: ServerContext,
        options: WebhookReceiverOptions,
        workers: Sequence[WebhookWorker] = (),
    ) -> None:
        self.options = options
        self.stats: Counter[str] = Counter()
        self.secrets = SecretCache(
            partial(_load_secrets, context, self), ttl_seconds=options.secret_ttl_seconds
        )
        self.limiter = KeyedRateLimiter(options.rate_per_second, options.burst)
        self.wake_workers = partial(_wake_all, tuple(workers))
        self.writer = InboxWriter(context.engine, on_commit=self.wake_workers)
        self._logged_vault_failures: set[str] = set()

    def vault_failed(self, workspace_id: str, error: VaultError) -> None:
        """Count a webhook secret that does not decrypt; log it the first time per workspace."""
        self.stats["secret_undecryptable"] += 1
        if workspace_id in self._logged_vault_failures:
            return
        if len(self._logged_vault_failures) < _MAX_LOGGED_VAULT_FAILURES:
            self._logged_vault_failures.add(workspace_id)
        logger.error(
            "webhook secret of workspace %r does not decrypt; its deliveries are refused: %s",
            workspace_id,
            error,
        )

    def reject(
        self, response: Response, workspace_id: str, reason: str, detail: str = ""
    ) -> Response:
        """Count and log a rejection (never the body or a secret) and answer it."""
        self.stats[f"rejected_{reason}"] += 1
        logger.warning(
            "webhook rejected (%s%s) for workspace %r",
            reason,
            f": {detail}" if detail else "",
            workspace_id[:64],
        )
        return response


def _load_secrets(context: ServerContext, receiver: WebhookReceiver, workspace_id: str):
    """The workspace's valid secrets; none for an id that cannot exist or does not decrypt."""
    if not WORKSPACE_ID_PATTERN.fullmatch(workspace_id):
        return []
    try:
        return load_webhook_secrets(
            context.engine, context.vault, workspace_id=workspace_id, provider=PROVIDER
        )
    except VaultError as error:
        receiver.vault_failed(workspace_id, error)
        return []


def _wake_all(workers: Sequence[WebhookWorker]) -> None:
    for worker in workers:
        worker.wake()


def build_receiver(
    context: ServerContext,
    services: Sequence[BackgroundService],
    options: WebhookReceiverOptions | None = None,
) -> WebhookReceiver:
    """The receiver for an app, waking the app's in-process webhook workers on each commit."""
    workers = [service for service in services if isinstance(service, WebhookWorker)]
    return WebhookReceiver(context, options or WebhookReceiverOptions(), workers)


async def stripe_webhook(request: Request) -> Response:
    """Receive one Stripe event for the workspace named in the path."""
    receiver: WebhookReceiver = request.app.state.webhook_receiver
    workspace_id = request.path_params["workspace_id"]
    if not receiver.limiter.allow(workspace_id):
        return receiver.reject(
            JSONResponse(
                {"error": "rate limit exceeded"}, status_code=429, headers={"Retry-After": "1"}
            ),
            workspace_id,
            "rate_limited",
        )
    limit = receiver.options.max_body_bytes
    try:
        body = await read_body(request, limit)
    except ClientDisconnect:
        return receiver.reject(Response(status_code=400), workspace_id, "disconnected")
    if body is None:
        return receiver.reject(
            JSONResponse({"error": f"body larger than {limit} bytes"}, status_code=413),
            workspace_id,
            "too_large",
        )
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        return receiver.reject(
            JSONResponse({"error": "content type must be application/json"}, status_code=415),
            workspace_id,
            "not_json",
        )
    valid_secrets = receiver.secrets.cached(workspace_id)
    if valid_secrets is None:
        valid_secrets = await run_in_threadpool(receiver.secrets.refresh, workspace_id)
    try:
        verify_signature(
            request.headers.get("stripe-signature"),
            body,
            valid_secrets or [_DUMMY_SECRET],
            tolerance_seconds=receiver.options.tolerance_seconds,
        )
        if not valid_secrets:
            raise SignatureError("unknown workspace or no webhook secret")
    except SignatureError as error:
        return receiver.reject(_UNVERIFIED, workspace_id, "unverified", str(error))
    try:
        event = parse_event(body)
    except InvalidEventError as error:
        return receiver.reject(
            JSONResponse({"error": f"invalid event: {error}"}, status_code=400),
            workspace_id,
            "invalid_event",
        )
    try:
        is_new = await receiver.writer.submit(InboxItem(workspace_id, event))
    except EventRefusedError as error:
        return receiver.reject(
            JSONResponse({"error": f"{error}; do not retry"}, status_code=422),
            workspace_id,
            "refused_by_database",
            str(error),
        )
    except InboxUnavailableError:
        receiver.stats["store_failed"] += 1
        return JSONResponse({"error": "event not stored; retry later"}, status_code=503)
    receiver.stats["accepted" if is_new else "duplicate"] += 1
    return JSONResponse({"received": True, "duplicate": not is_new})


async def webhook_stats(request: Request) -> JSONResponse:
    """Counters of accepted, duplicate and rejected deliveries since the process started."""
    return JSONResponse(dict(request.app.state.webhook_receiver.stats))


routes = [
    Route("/webhooks/stripe/{workspace_id}", stripe_webhook, methods=["POST"]),
    Route("/webhooks/stats", webhook_stats, methods=["GET"]),
]
