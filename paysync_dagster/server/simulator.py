"""Simulator routes: `POST /simulator/run`, `GET /simulator/runs`, and the seed's `GET /health`.

The simulator routes take an admin API token (`paysync token create NAME --admin`): runs
reach any target, and targets are not scoped to workspaces. A run executes in a worker
thread and answers when it has finished.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from paysync_dagster.server.auth import Caller
from paysync_dagster.server.context import Context, ServerContext
from paysync_dagster.server.errors import ErrorBody
from paysync_dagster.simulator.engine import RunOptions, RunSummary, run_simulation
from paysync_dagster.simulator.inputs import load_inputs
from paysync_dagster.simulator.records import recent_runs
from paysync_dagster.simulator.settings import LoopSettings
from paysync_dagster.simulator.targets import TargetError, load_target, target_names
from paysync_dagster.store.workspaces import WORKSPACE_ID_PATTERN

logger = logging.getLogger("paysync.simulator")

# A request waits for its run; this bounds how long.
MAX_API_ITERATIONS = 100
MAX_LISTED_RUNS = 200
router = APIRouter(tags=["simulator"])
# Target names follow the workspace id rules (see `validate_target`); any other value is
# refused with a 422 before it reaches the database.
TargetName = Annotated[
    str | None,
    Query(
        pattern=f"^{WORKSPACE_ID_PATTERN.pattern}$",
        max_length=64,
        description="A simulator target's name.",
    ),
]
_ERRORS = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (401, "No valid token."),
        (403, "The token is not an admin token."),
        (404, "No such target, or no target configured."),
        (429, "Too many failed authentications."),
    )
}


def _require_admin(caller: Caller) -> None:
    if not caller.is_admin:
        raise HTTPException(403, "the simulator takes an admin token")


def _run_targets(context: ServerContext, names: list[str], iterations: int) -> list[RunSummary]:
    summaries = []
    for name in names:
        target = load_target(context.engine, context.vault, name)
        inputs = load_inputs(target.kind)
        options = RunOptions(
            iterations=iterations, trigger="api", cards=inputs.cards, customers=inputs.customers
        )
        summaries.append(run_simulation(context.engine, target, options))
    return summaries


def _summary(summary: RunSummary) -> dict[str, Any]:
    counts = {status: summary.count(status) for status in ("passed", "degraded", "failed", "error")}
    return {"run_id": summary.run_id, "target": summary.target, **counts,
            "all_passed": summary.all_passed}  # fmt: skip


@router.post("/simulator/run", responses=_ERRORS)
async def run(
    caller: Caller,
    context: Context,
    iterations: Annotated[int | None, Query(ge=1, le=MAX_API_ITERATIONS)] = None,
    target: TargetName = None,
) -> dict[str, Any]:
    """Run `iterations` attempts (default ITERATIONS_PER_RUN) against `target`, or against
    every configured target when none is named."""
    _require_admin(caller)
    iterations = iterations or LoopSettings.from_environment().iterations
    names = (
        [target] if target is not None else await run_in_threadpool(target_names, context.engine)
    )
    if not names:
        raise HTTPException(404, "no simulator target is configured")
    try:
        summaries = await run_in_threadpool(_run_targets, context, names, iterations)
    except TargetError as error:
        raise HTTPException(404, str(error)) from None
    return {"status": "ok", "iterations": iterations, "runs": [_summary(s) for s in summaries]}


@router.get("/simulator/runs", responses=_ERRORS)
async def runs(
    caller: Caller,
    context: Context,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED_RUNS)] = 20,
    target: TargetName = None,
) -> dict[str, Any]:
    """The newest runs (of `target` when given), newest first, at most `limit`."""
    _require_admin(caller)
    found = await run_in_threadpool(recent_runs, context.engine, target=target, limit=limit)
    return {"runs": found}


async def health(_request: Request) -> JSONResponse:
    """The seed's health check: the process answers."""
    return JSONResponse({"ok": True})


# The seed's health check stays out of the API document, like `/healthz` and `/readyz`.
routes = [Route("/health", health, methods=["GET"])]
