"""The application behind `paysync serve`: plain Starlette routes in front of a FastAPI app.

Routes come from one module per concern. Health probes and the webhook receiver are plain
Starlette routes, matched first: the receiver reads its raw body for the signature, and
keeping FastAPI off its path keeps its throughput (FastAPI in front cost about 10% of the
receiver's maximum rate, benchmarks/webhook_ingest.py). Plain Starlette routes from other
modules go in `extra_routes`. Everything else goes to the FastAPI app mounted at `/`: the
control API and the M-Pesa routes, with pydantic models, described at `/openapi.json` and
`/docs`. Both apps share one `state`. Long-running workers inside the process are
`BackgroundService`s started and stopped with the app's lifespan, and `/readyz` reports on
each of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount

from paysync_dagster.server import control, errors, health, mpesa, simulator, webhooks
from paysync_dagster.server.auth import AuthOptions, FailureThrottle, PrincipalCache
from paysync_dagster.server.context import REQUEST_THREADS, BackgroundService, ServerContext
from paysync_dagster.server.control.launcher import SyncLauncher

API_DESCRIPTION = """\
Configure workspaces' payment providers, start syncs as Dagster runs and follow them, and
recover failed webhooks and syncs.

Authenticate with `X-API-Key: <token>` or `Authorization: Bearer <token>`
(`paysync token create NAME --workspace ID` or `--admin`), and name the workspace in
`X-Workspace-ID`.
"""


def build_app(
    context: ServerContext,
    services: Sequence[BackgroundService] = (),
    *,
    webhook_options: webhooks.WebhookReceiverOptions | None = None,
    auth_options: AuthOptions | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The paysync HTTP app over `context`, running `services` for its lifetime."""
    # Webhooks: the receiver's inbox writer lives with the app and wakes in-process workers.
    webhook_receiver = webhooks.build_receiver(context, services, webhook_options)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
        started: list[BackgroundService] = []
        webhook_receiver.writer.start()
        try:
            for service in services:
                service.start()
                started.append(service)
            yield
        finally:
            webhook_receiver.writer.stop()
            for service in reversed(started):
                service.stop()

    api = FastAPI(
        title="paysync",
        description=API_DESCRIPTION,
        version="1",
        # Clients of the M-Pesa settings API send JSON without a content type.
        strict_content_type=False,
    )
    api.include_router(control.router())
    api.include_router(mpesa.router)
    api.include_router(simulator.router)
    errors.install(api)
    app = Starlette(
        routes=[
            *health.routes,
            *simulator.routes,
            *webhooks.routes,
            *extra_routes,
            Mount("/", app=api),
        ],
        lifespan=lifespan,
    )
    errors.install_outer(app)
    api.state = app.state
    app.state.context = context
    app.state.services = tuple(services)
    app.state.webhook_receiver = webhook_receiver
    auth_options = auth_options or AuthOptions()
    app.state.auth_throttle = FailureThrottle(auth_options)
    app.state.principal_cache = PrincipalCache(auth_options)
    dagster_url = context.settings.dagster_url
    app.state.sync_launcher = SyncLauncher(dagster_url) if dagster_url else None
    return app
