"""What the server's parts share: the context handlers read and the background services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Protocol

import sqlalchemy as sa
from fastapi import Depends, Request

from paysync_dagster.settings import Settings
from paysync_dagster.store.vault import Vault

# Requests that may use the database at once: AnyIO's thread pool (40 by default), where
# handlers run their queries, is capped to this many, so a fixed pool of this many connections
# plus one per background thread serves every request without opening new ones.
REQUEST_THREADS = 16


def database_pool_size(background_threads: int) -> int:
    """Connections a server needs: one per request thread and per background thread (the
    inbox writer, webhook workers), and one to spare."""
    return REQUEST_THREADS + background_threads + 1


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


def server_context(request: Request) -> ServerContext:
    """The app's shared settings, engine and vault (a FastAPI dependency)."""
    return request.app.state.context


Context = Annotated[ServerContext, Depends(server_context)]
