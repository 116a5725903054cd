"""A real `paysync serve` app on a free 127.0.0.1 port, over the test database."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa

from paysync_dagster.server import BackgroundService, ServerContext, build_app
from paysync_dagster.serving import server_in_thread, uvicorn_server
from paysync_dagster.settings import Settings
from paysync_dagster.store.vault import Vault

ServerFactory = Callable[..., str]


@pytest.fixture
def paysync_server(
    engine: sa.Engine, vault: Vault, database_url: str, tmp_path: Path
) -> Iterator[ServerFactory]:
    """Start servers: `paysync_server(services=[...], webhook_options=...)` returns the base
    URL."""
    settings = Settings(home=tmp_path, database_url=database_url, production=False)
    context = ServerContext(settings=settings, engine=engine, vault=vault)
    with ExitStack() as stack:

        def start(services: Sequence[BackgroundService] = (), **app_options) -> str:
            server = uvicorn_server(build_app(context, services, **app_options))
            return stack.enter_context(server_in_thread(server, "paysync server"))

        yield start
