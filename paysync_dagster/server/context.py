"""What the server's parts share: the context handlers read and the background services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Protocol

import sqlalchemy as sa
from fastapi import Depends, Request

from paysync_dagster.settings import Settings
from paysync_dagster.store.vault import Vault


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
