"""Load balancer probes: `/healthz` (the process answers) and `/readyz` (it can do its work)."""

from __future__ import annotations

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from paysync_dagster.store.tables import workspace_payment_configurations
from paysync_dagster.store.workspaces import undecryptable_workspaces

# Ids listed in the body; the count is always complete.
_MAX_LISTED_WORKSPACES = 50


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


def _secrets_check(engine: sa.Engine, vault) -> tuple[str, list[str]]:
    """`ok`, `some_undecryptable` or `undecryptable` (none decrypt: the key ring is wrong),
    with the failing workspace ids."""
    try:
        with engine.connect() as connection:
            total = connection.scalar(
                sa.select(sa.func.count()).select_from(workspace_payment_configurations)
            )
        failing = undecryptable_workspaces(engine, vault)
    except sa.exc.SQLAlchemyError:
        return "unknown", []
    if not failing:
        return "ok", []
    return ("undecryptable" if len(failing) >= (total or 0) else "some_undecryptable"), failing


async def readyz(request: Request) -> JSONResponse:
    """Ready: the database answers, the key ring decrypts the stored secrets and every
    background service is running (503 otherwise).

    Workspaces whose secrets do not decrypt are named by id. When only some of them fail the
    service stays ready for the others (one tenant's corrupt row must not take every tenant
    out of the load balancer); when none decrypt, the key ring is wrong and it is not ready.
    The body never holds a URL or a credential.
    """
    context = request.app.state.context
    checks = {
        "database": "ok"
        if await run_in_threadpool(_database_reachable, context.engine)
        else "unreachable"
    }
    secrets, failing = await run_in_threadpool(_secrets_check, context.engine, context.vault)
    checks["secrets"] = secrets
    for service in request.app.state.services:
        checks[service.name] = "running" if service.is_running() else "stopped"
    ready = all(state in ("ok", "running", "some_undecryptable") for state in checks.values())
    body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": checks}
    if failing:
        body["undecryptable_workspaces"] = {
            "count": len(failing),
            "ids": failing[:_MAX_LISTED_WORKSPACES],
        }
    return JSONResponse(body, status_code=200 if ready else 503)


routes = [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
