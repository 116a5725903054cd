"""A real `paysync serve` over the test database, with tokens for two workspaces and admin."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from paysync_dagster.server import ServerContext, build_app
from paysync_dagster.server.auth import AuthOptions
from paysync_dagster.serving import server_in_thread, uvicorn_server
from paysync_dagster.settings import Settings
from paysync_dagster.store.tokens import create_token
from paysync_dagster.store.vault import Vault


@dataclass
class Api:
    """A running server and a token per role."""

    url: str
    acme: str
    globex: str
    admin: str
    app: object

    def client(self, token: str | None, workspace: str | None = "acme") -> httpx.Client:
        """A client sending `token` (X-API-Key) and `workspace` (X-Workspace-ID)."""
        headers = {}
        if token is not None:
            headers["X-API-Key"] = token
        if workspace is not None:
            headers["X-Workspace-ID"] = workspace
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@contextmanager
def running_api(
    engine: sa.Engine, vault: Vault, database_url: str, home: Path, auth_options: AuthOptions
) -> Iterator[Api]:
    """A real server over the test database, with fresh tokens for acme, globex and admin."""
    settings = Settings(home=home, database_url=database_url, production=False)
    app = build_app(
        ServerContext(settings=settings, engine=engine, vault=vault), auth_options=auth_options
    )
    with server_in_thread(uvicorn_server(app), "paysync server") as url:
        yield Api(
            url=url,
            acme=create_token(engine, "acme-app", workspace_ids=["acme"]),
            globex=create_token(engine, "globex-app", workspace_ids=["globex"]),
            admin=create_token(engine, "ops", admin=True),
            app=app,
        )


@pytest.fixture
def api(engine: sa.Engine, vault: Vault, database_url: str, tmp_path: Path) -> Iterator[Api]:
    # No cached token checks, so a revocation shows at once (see test_token_checks_are_cached).
    with running_api(
        engine, vault, database_url, tmp_path, AuthOptions(token_cache_seconds=0)
    ) as running:
        yield running
