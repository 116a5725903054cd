"""What control API handlers share: the route class, the run launcher, error answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from paysync_dagster.server.bodies import bounded_route
from paysync_dagster.server.control.launcher import SyncLauncher
from paysync_dagster.server.errors import ErrorBody
from paysync_dagster.settings import DAGSTER_URL_ENV

# Control API bodies are small JSON documents: a configuration is the largest.
MAX_BODY_BYTES = 64 * 1024
ControlRoute = bounded_route(MAX_BODY_BYTES)

NO_DAGSTER = (
    f"no Dagster webserver is configured: set {DAGSTER_URL_ENV} to its URL (e.g."
    f" {DAGSTER_URL_ENV}=http://127.0.0.1:3000) and restart `paysync serve`; `paysync dev`"
    " sets it. Syncs run as Dagster runs only, so the UI shows every one."
)

# Documented on every control API route, so clients (and the schema fuzzer) know them.
ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (401, "No valid token."),
        (403, "The token may not act on this workspace."),
        (404, "No such resource in this workspace."),
        (409, "The resource exists, or a sync of the workspace is running."),
        (413, "The body is too large."),
        (422, "Invalid input; `errors` names each bad field."),
        (429, "Too many failed authentications."),
    )
}
LAUNCH_RESPONSES: dict[int | str, dict] = {
    502: {"model": ErrorBody, "description": "The Dagster webserver refused the run."},
    503: {"model": ErrorBody, "description": "No Dagster webserver is configured or reachable."},
}


def sync_launcher(request: Request) -> SyncLauncher:
    """The launcher over `PAYSYNC_DAGSTER_URL`; 503 saying how to set it when unset."""
    launcher = request.app.state.sync_launcher
    if launcher is None:
        raise HTTPException(503, NO_DAGSTER)
    return launcher


Launcher = Annotated[SyncLauncher, Depends(sync_launcher)]


def not_found(what: str) -> HTTPException:
    """The same 404 for a missing resource and one of another workspace."""
    return HTTPException(404, f"no {what} with that id in this workspace")
