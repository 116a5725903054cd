"""Starting and recovering syncs: `POST /api/v1/sync/{provider}/initial`, `/recover` and
`GET /recoverable`.

Every sync is a Dagster run of the provider's job for the workspace partition, submitted to
the webserver (`PAYSYNC_DAGSTER_URL`); without one the answer is 503 saying how to set it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from paysync_dagster.providers.base import Provider
from paysync_dagster.providers.registry import get_provider
from paysync_dagster.server.auth import Caller, WorkspaceId
from paysync_dagster.server.context import Context, ServerContext
from paysync_dagster.server.control.deps import LAUNCH_RESPONSES, ControlRoute, Launcher, not_found
from paysync_dagster.server.control.launcher import (
    DagsterUnreachableError,
    LaunchedRun,
    LaunchError,
    SyncInProgressError,
)
from paysync_dagster.server.control.models import (
    InitialSyncRequest,
    LaunchResponse,
    ProviderName,
    RecoverRequest,
    RecoverResponse,
    SessionResponse,
)
from paysync_dagster.server.control.sessions import own_session, session_response
from paysync_dagster.store import sessions as store
from paysync_dagster.store.workspaces import WorkspaceError, list_workspaces

router = APIRouter(route_class=ControlRoute)
SESSIONS_PATH = "/api/v1/sync/sessions"


def _configured_provider(context: ServerContext, workspace_id: str, name: str) -> Provider:
    try:
        provider = get_provider(name)
    except WorkspaceError:
        raise not_found("provider") from None
    if not any(
        s.workspace_id == workspace_id for s in list_workspaces(context.engine, provider=name)
    ):
        raise HTTPException(
            409, f"the workspace has no {name} configuration; POST /api/v1/sync/config first"
        )
    return provider


def _launch(
    launcher: Launcher, provider: Provider, workspace_id: str, entities: Sequence[str], caller: str
) -> LaunchedRun:
    try:
        return launcher.launch(provider, workspace_id, entities, requested_by=caller)
    except SyncInProgressError as error:
        raise HTTPException(409, str(error)) from None
    except DagsterUnreachableError as error:
        raise HTTPException(503, str(error)) from None
    except LaunchError as error:
        raise HTTPException(502, str(error)) from None


def _launch_response(
    run: LaunchedRun, workspace_id: str, provider: Provider, entities: list[str]
) -> dict:
    return {
        "run_id": run.run_id,
        "workspace_id": workspace_id,
        "provider_name": provider.name,
        "entity_types": entities,
        "status_url": f"{SESSIONS_PATH}?run_id={run.run_id}",
        "dagster_run_url": run.dagster_run_url,
    }


@router.post(
    "/{provider}/initial",
    status_code=202,
    response_model=LaunchResponse,
    responses=LAUNCH_RESPONSES,
)
async def start_initial_sync(
    provider: ProviderName,
    body: InitialSyncRequest,
    workspace_id: WorkspaceId,
    caller: Caller,
    context: Context,
    launcher: Launcher,
) -> LaunchResponse:
    """Launch a full sync of the workspace (all entities, or `entity_types`) as a Dagster
    run; 409 while a run of the workspace is in progress."""

    def launch() -> LaunchResponse:
        spec = _configured_provider(context, workspace_id, provider)
        entities = list(dict.fromkeys(body.entity_types)) or list(spec.entity_names)
        for name in entities:
            try:
                spec.entity(name)
            except ValueError as error:
                raise HTTPException(422, str(error)) from None
        run = _launch(launcher, spec, workspace_id, entities, caller.name)
        return LaunchResponse(**_launch_response(run, workspace_id, spec, entities))

    return await run_in_threadpool(launch)


@router.get("/recoverable", response_model=list[SessionResponse])
async def list_recoverable(workspace_id: WorkspaceId, context: Context) -> list[SessionResponse]:
    """For each entity of the workspace whose latest sync failed, that session."""

    def load() -> list[sa.Row]:
        with context.engine.connect() as connection:
            return store.recoverable_sessions(connection, workspace_id=workspace_id)

    return [session_response(row) for row in await run_in_threadpool(load)]


@router.post(
    "/recover", status_code=202, response_model=RecoverResponse, responses=LAUNCH_RESPONSES
)
async def recover(
    body: RecoverRequest,
    workspace_id: WorkspaceId,
    caller: Caller,
    context: Context,
    launcher: Launcher,
) -> RecoverResponse:
    """Recover a failed session: `resume` launches a run that continues from its cursor;
    `restart` drops the cursor first, so the run lists the entity from the beginning."""

    def run() -> RecoverResponse:
        with context.engine.begin() as connection:
            session = own_session(connection, workspace_id, body.session_id)
            latest = {
                row.id for row in store.recoverable_sessions(connection, workspace_id=workspace_id)
            }
            if session.id not in latest:
                raise HTTPException(
                    409, "only the latest session of an entity, when it failed, can be recovered"
                )
            if body.mode == "resume" and session.resume_cursor is None:
                raise HTTPException(409, "the session kept no cursor to resume from; restart it")
        spec = _configured_provider(context, workspace_id, session.provider)
        try:
            running = launcher.run_in_progress(workspace_id)
        except DagsterUnreachableError as error:
            raise HTTPException(503, str(error)) from None
        if running is not None:
            raise HTTPException(409, str(SyncInProgressError(workspace_id, running)))
        if body.mode == "restart":
            with context.engine.begin() as connection:
                store.forget_resume_point(connection, session.id)
        launched = _launch(launcher, spec, workspace_id, [session.entity_type], caller.name)
        return RecoverResponse(
            **_launch_response(launched, workspace_id, spec, [session.entity_type]),
            session_id=session.id,
            mode=body.mode,
        )

    return await run_in_threadpool(run)
