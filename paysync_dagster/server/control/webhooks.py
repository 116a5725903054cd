"""Webhook recovery over HTTP: replay, failed events, dead-letter statistics.

The same operations as `paysync webhooks list|replay` and the `replay_webhooks` job, always
limited to the request's workspace.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from paysync_dagster.server.auth import WorkspaceId
from paysync_dagster.server.context import Context
from paysync_dagster.server.control.deps import ControlRoute
from paysync_dagster.server.control.models import (
    DlqStatsResponse,
    InboxEventResponse,
    ReplayRequest,
    ReplayResponse,
)
from paysync_dagster.webhooks import inbox

router = APIRouter(route_class=ControlRoute)


@router.post("/webhooks/replay", response_model=ReplayResponse)
async def replay(
    body: ReplayRequest, workspace_id: WorkspaceId, context: Context, request: Request
) -> ReplayResponse:
    """Make the selected events of the workspace due again with fresh attempts; the
    server's webhook workers apply them next."""
    try:
        selection = inbox.Selection(
            event_ids=tuple(body.event_ids),
            status=body.status,
            workspace_id=workspace_id,
            received_after=body.received_after,
            received_before=body.received_before,
            limit=body.limit,
        )
    except inbox.SelectionError as error:
        raise HTTPException(422, str(error)) from None
    replayed = await run_in_threadpool(inbox.replay, context.engine, selection)
    if replayed:
        request.app.state.webhook_receiver.wake_workers()
    return ReplayResponse(replayed=len(replayed), inbox_ids=replayed)


@router.get("/webhooks/failed", response_model=list[InboxEventResponse])
async def failed(
    workspace_id: WorkspaceId,
    context: Context,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[InboxEventResponse]:
    """The workspace's dead-lettered events, newest first, without payloads."""
    selection = inbox.Selection(status=inbox.DEAD, workspace_id=workspace_id, limit=limit)
    events = await run_in_threadpool(inbox.list_events, context.engine, selection)
    return [InboxEventResponse(**asdict(event)) for event in events]


@router.get("/dlq/stats", response_model=DlqStatsResponse)
async def dlq_stats(workspace_id: WorkspaceId, context: Context) -> DlqStatsResponse:
    """The workspace's inbox by status, and how old its oldest dead letter is."""
    stats = await run_in_threadpool(inbox.workspace_stats, context.engine, workspace_id)
    return DlqStatsResponse(
        workspace_id=workspace_id,
        by_status=stats.by_status,
        dead=stats.by_status[inbox.DEAD],
        oldest_dead_received_at=stats.oldest_dead_received_at,
    )
