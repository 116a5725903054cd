"""Load balancer probes: `/healthz` (the process answers) and `/readyz` (it can do its work)."""

from __future__ import annotations

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def healthz(_request: Request) -> JSONResponse:
    """Alive: the event loop runs and answers."""
    return JSONResponse({"status": "ok"})


def _database_reachable(engine: sa.Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return False
    return True


async def readyz(request: Request) -> JSONResponse:
    """Ready: the database answers and every background service is running (503 otherwise).

    The body names each check and its state, never a URL or a credential.
    """
    checks = {
        "database": "ok"
        if await run_in_threadpool(_database_reachable, request.app.state.context.engine)
        else "unreachable"
    }
    for service in request.app.state.services:
        checks[service.name] = "running" if service.is_running() else "stopped"
    ready = all(state in ("ok", "running") for state in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


routes = [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
