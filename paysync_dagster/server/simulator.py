"""Simulator routes: `POST /simulator/run`, `GET /simulator/runs`, and the seed's `GET /health`.

Both simulator routes need a bearer token. For now that is an M-Pesa settings token
(`paysync mpesa token create`), checked by `mpesa.tokens.authenticate`, until the API token
model covers them. A run executes in a worker thread and answers when it has finished.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from paysync_dagster.mpesa.tokens import authenticate
from paysync_dagster.simulator.engine import RunOptions, RunSummary, run_simulation
from paysync_dagster.simulator.inputs import load_inputs
from paysync_dagster.simulator.records import recent_runs
from paysync_dagster.simulator.settings import LoopSettings
from paysync_dagster.simulator.targets import TargetError, load_target, target_names

logger = logging.getLogger("paysync.simulator")

# A request waits for its run; this bounds how long.
MAX_API_ITERATIONS = 100
MAX_LISTED_RUNS = 200


def _error(status_code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code)


async def _authenticated(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return await run_in_threadpool(authenticate, request.app.state.context.engine, token.strip())


def _bounded_int(request: Request, name: str, default: int, high: int) -> int | None:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= high:
        return None
    return int(text)


def _run_targets(request: Request, names: list[str], iterations: int) -> list[RunSummary]:
    context = request.app.state.context
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


async def run(request: Request) -> JSONResponse:
    """Run `iterations` attempts (default ITERATIONS_PER_RUN) against `target`, or against
    every configured target when none is named."""
    if await _authenticated(request) is None:
        return _error(401, "authentication required: send Authorization: Bearer <token>")
    default = LoopSettings.from_environment().iterations
    iterations = _bounded_int(request, "iterations", default, MAX_API_ITERATIONS)
    if iterations is None:
        return _error(422, f"iterations must be an integer from 1 to {MAX_API_ITERATIONS}")
    engine = request.app.state.context.engine
    named = request.query_params.get("target")
    names = [named] if named is not None else await run_in_threadpool(target_names, engine)
    if not names:
        return _error(404, "no simulator target is configured")
    try:
        summaries = await run_in_threadpool(_run_targets, request, names, iterations)
    except TargetError as error:
        return _error(404, str(error))
    return JSONResponse(
        {"status": "ok", "iterations": iterations, "runs": [_summary(s) for s in summaries]}
    )


async def runs(request: Request) -> JSONResponse:
    """The newest runs (of `target` when given), newest first, at most `limit` (default 20)."""
    if await _authenticated(request) is None:
        return _error(401, "authentication required: send Authorization: Bearer <token>")
    limit = _bounded_int(request, "limit", 20, MAX_LISTED_RUNS)
    if limit is None:
        return _error(422, f"limit must be an integer from 1 to {MAX_LISTED_RUNS}")
    target = request.query_params.get("target")
    if target is not None and len(target) > 64:
        return _error(422, "target names are at most 64 characters")
    found = await run_in_threadpool(
        recent_runs, request.app.state.context.engine, target=target, limit=limit
    )
    return JSONResponse({"runs": found})


async def health(_request: Request) -> JSONResponse:
    """The seed's health check: the process answers."""
    return JSONResponse({"ok": True})


routes = [
    Route("/simulator/run", run, methods=["POST"]),
    Route("/simulator/runs", runs, methods=["GET"]),
    Route("/health", health, methods=["GET"]),
]
