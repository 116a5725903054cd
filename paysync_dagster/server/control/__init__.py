"""The control API (`/api/v1/…`): configurations, providers, syncs, sessions and recovery.

Every route needs a token (`server/auth.py`) and, except `/providers`, an `X-Workspace-ID`
the token may act on. Request bodies are read within `deps.MAX_BODY_BYTES`, as bounded JSON.
"""

from __future__ import annotations

from fastapi import APIRouter

from paysync_dagster.server.control import configs, providers, sessions, syncs, webhooks
from paysync_dagster.server.control.deps import ERROR_RESPONSES


def router() -> APIRouter:
    """Every control API route under `/api/v1`."""
    api = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
    sync = APIRouter(prefix="/sync", tags=["sync"])
    for module in (providers, configs, sessions, syncs):
        sync.include_router(module.router)
    api.include_router(sync)
    api.include_router(webhooks.router, tags=["webhooks"])
    return api
