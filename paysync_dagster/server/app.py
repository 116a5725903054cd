"""The Starlette application behind `paysync serve`.

Routes come from one module per concern (health, webhooks, M-Pesa settings); long-running
workers inside the process are `BackgroundService`s started and stopped with the app's
lifespan, and `/readyz` reports on each of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from paysync_dagster.settings import Settings
from paysync_dagster.store.vault import Vault

from . import health, mpesa, simulator, webhooks


class BackgroundService(Protocol):
    """A worker that lives as long as the server process (e.g. the webhook processor)."""

    name: str

    def start(self) -> None:
        """Begin working; must return promptly."""

    def stop(self) -> None:
        """Finish the current unit of work and stop; must return within a few seconds."""

    def is_running(self) -> bool:
        """Whether the worker is alive and able to make progress."""


@dataclass(frozen=True)
class ServerContext:
    """What request handlers share: settings, the database engine and the vault."""

    settings: Settings
    engine: sa.Engine
    vault: Vault


def build_app(
    context: ServerContext,
    services: Sequence[BackgroundService] = (),
    *,
    webhook_options: webhooks.WebhookReceiverOptions | None = None,
) -> Starlette:
    """The paysync HTTP app over `context`, running `services` for its lifetime."""
    # Webhooks: the receiver's inbox writer lives with the app and wakes in-process workers.
    webhook_receiver = webhooks.build_receiver(context, services, webhook_options)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
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

    routes: list[BaseRoute] = [*health.routes, *webhooks.routes, *mpesa.routes, *simulator.routes]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.context = context
    app.state.services = tuple(services)
    app.state.webhook_receiver = webhook_receiver
    return app
