"""`/api/v1/sync/sessions…`: what each entity's sync did and how far a running one has got."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from paysync_dagster.server.auth import WorkspaceId
from paysync_dagster.server.context import Context, ServerContext
from paysync_dagster.server.control.deps import ControlRoute, not_found
from paysync_dagster.server.control.models import (
    ProgressResponse,
    ProviderName,
    SessionId,
    SessionResponse,
    SessionStatusResponse,
)
from paysync_dagster.store import sessions as store
from paysync_dagster.store.upsert import as_utc
from paysync_dagster.sync.progress import progress

router = APIRouter(route_class=ControlRoute)
SessionPath = Annotated[SessionId, Path(description="A session's id.")]


def session_response(row: sa.Row) -> SessionResponse:
    """A session row as the API shows it (its cursor is reduced to `resumable`)."""
    return SessionResponse(
        id=row.id,
        workspace_id=row.workspace_id,
        provider_name=row.provider,
        entity_type=row.entity_type,
        status=row.status,
        dagster_run_id=row.dagster_run_id,
        resumed_from_session_id=row.resumed_from_session_id,
        resumable=row.status == store.FAILED and row.resume_cursor is not None,
        listed=row.listed,
        inserted=row.inserted,
        updated=row.updated,
        unchanged=row.unchanged,
        deleted=row.deleted,
        failed=row.failed,
        pages=row.pages,
        api_calls=row.api_calls,
        retries=row.retries,
        error_message=row.error_message,
        started_at=as_utc(row.started_at),
        finished_at=None if row.finished_at is None else as_utc(row.finished_at),
    )


def owned(row: sa.Row | None, workspace_id: str) -> sa.Row:
    """`row` when it is a session of the workspace; 404 when it is missing or another's."""
    if row is None or row.workspace_id != workspace_id:
        raise not_found("session")
    return row


def own_session(connection: sa.Connection, workspace_id: str, session_id: str) -> sa.Row:
    """The workspace's session `session_id`; 404 when it is missing or another's."""
    return owned(store.get_session(connection, session_id), workspace_id)


@router.get("/sessions", response_model=list[SessionResponse])
async def list_sessions(
    workspace_id: WorkspaceId,
    context: Context,
    provider: Annotated[ProviderName | None, Query()] = None,
    status: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$")] = None,
    run_id: Annotated[str | None, Query(pattern=r"^[0-9a-f-]{1,64}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[SessionResponse]:
    """The workspace's sessions, newest first (`run_id`: those of one Dagster run)."""

    def load() -> list[sa.Row]:
        with context.engine.connect() as connection:
            return store.list_sessions(
                connection,
                workspace_id=workspace_id,
                provider=provider,
                status=status,
                dagster_run_id=run_id,
                limit=limit,
            )

    return [session_response(row) for row in await run_in_threadpool(load)]


@router.get("/sessions/{session_id}", response_model=SessionResponse)
async def get_session(
    session_id: SessionPath, workspace_id: WorkspaceId, context: Context
) -> SessionResponse:
    """One session."""

    def load() -> sa.Row:
        with context.engine.connect() as connection:
            return own_session(connection, workspace_id, session_id)

    return session_response(await run_in_threadpool(load))


def _status(context: ServerContext, workspace_id: str, session_id: str) -> SessionStatusResponse:
    with context.engine.connect() as connection:
        row = owned(store.session_with_expected_total(connection, session_id), workspace_id)
    current = progress(
        listed=row.listed,
        pages=row.pages,
        started_at=as_utc(row.started_at),
        finished_at=None if row.finished_at is None else as_utc(row.finished_at),
        expected_total=row.expected_total,
        now=datetime.now(UTC),
    )
    return SessionStatusResponse(
        session=session_response(row), progress=ProgressResponse(**asdict(current))
    )


@router.get("/sessions/{session_id}/status", response_model=SessionStatusResponse)
async def get_session_status(
    session_id: SessionPath, workspace_id: WorkspaceId, context: Context
) -> SessionStatusResponse:
    """A session with its progress: listed so far, pages, objects/s and estimated finish."""
    return await run_in_threadpool(_status, context, workspace_id, session_id)
