"""Sync sessions and their events: what each sync did, how far it got, what it skipped."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from paysync_dagster.store.tables import payment_sync_events, payment_sync_sessions

RUNNING = "running"
COMPLETED = "completed"
COMPLETED_WITH_ERRORS = "completed_with_errors"
FAILED = "failed"
# The workspace's credentials are missing or placeholders: nothing was requested.
SKIPPED_MOCK_MODE = "skipped_mock_mode"

# The error of a session closed because the run that owned it is no longer in progress (its
# worker was killed or lost): the session keeps its cursor, so the next sync resumes from it.
INTERRUPTED = "interrupted"

RunIsActive = Callable[[str], bool]
"""Whether the Dagster run with this id is still in progress (an unknown id is not)."""

_sessions = payment_sync_sessions


@dataclass
class SessionProgress:
    """Counters a sync adds to its session after each committed batch."""

    listed: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    pages: int = 0
    api_calls: int = 0
    retries: int = 0


@dataclass(frozen=True)
class ResumePoint:
    """Where a failed full sync stopped: the next sync continues from its cursor."""

    session_id: str
    cursor: str
    watermark: datetime


def close_interrupted_sessions(
    connection: sa.Connection,
    *,
    workspace_id: str,
    provider: str,
    entity_type: str,
    current_run_id: str | None,
    run_is_active: RunIsActive,
) -> list[str]:
    """Close as failed (`interrupted`) the running sessions of this workspace and entity whose
    Dagster run is no longer in progress; return their ids.

    A worker killed mid-sync (`kill -9`, a lost pod) cannot close its own session, which would
    otherwise stay `running` and never become a resume point. The cursor is kept, so
    `find_resume_point` then resumes from the last committed batch. Sessions of the current
    run and sessions without a run id (started outside Dagster, e.g. by the CLI: nobody can
    say whether their process still lives) are left alone. The update re-checks `running`, so
    a session that finished meanwhile is never overwritten.
    """
    stale = [
        row.id
        for row in _running_in_runs(connection, workspace_id, provider, entity_type)
        if row.dagster_run_id != current_run_id and not run_is_active(row.dagster_run_id)
    ]
    if stale:
        connection.execute(
            sa.update(_sessions)
            .where(_sessions.c.id.in_(stale))
            .where(_sessions.c.status == RUNNING)
            .values(status=FAILED, error_message=INTERRUPTED, finished_at=datetime.now(UTC))
        )
    return stale


def running_in_another_run(
    connection: sa.Connection,
    *,
    workspace_id: str,
    provider: str,
    entity_type: str,
    current_run_id: str | None,
    run_is_active: RunIsActive,
) -> str | None:
    """The id of another Dagster run, still in progress, that is syncing this workspace's
    entity right now (a running session of its own), if there is one."""
    for row in _running_in_runs(connection, workspace_id, provider, entity_type):
        if row.dagster_run_id != current_run_id and run_is_active(row.dagster_run_id):
            return row.dagster_run_id
    return None


def _running_in_runs(
    connection: sa.Connection, workspace_id: str, provider: str, entity_type: str
) -> list[sa.Row]:
    """Running sessions of this workspace's entity that belong to a Dagster run."""
    return connection.execute(
        sa.select(_sessions.c.id, _sessions.c.dagster_run_id)
        .where(_sessions.c.workspace_id == workspace_id)
        .where(_sessions.c.provider == provider)
        .where(_sessions.c.entity_type == entity_type)
        .where(_sessions.c.status == RUNNING)
        .where(_sessions.c.dagster_run_id.is_not(None))
    ).all()


def find_resume_point(
    connection: sa.Connection, *, workspace_id: str, provider: str, entity_type: str
) -> ResumePoint | None:
    """The resume point of the latest session, if that session failed part-way (including
    one closed by `close_interrupted_sessions`)."""
    latest = connection.execute(
        sa.select(
            _sessions.c.id, _sessions.c.status, _sessions.c.resume_cursor, _sessions.c.watermark
        )
        .where(_sessions.c.workspace_id == workspace_id)
        .where(_sessions.c.provider == provider)
        .where(_sessions.c.entity_type == entity_type)
        .order_by(_sessions.c.started_at.desc())
        .limit(1)
    ).first()
    if latest is None or latest.status != FAILED or latest.resume_cursor is None:
        return None
    return ResumePoint(latest.id, latest.resume_cursor, latest.watermark)


def start_session(
    connection: sa.Connection,
    *,
    workspace_id: str,
    provider: str,
    entity_type: str,
    watermark: datetime,
    dagster_run_id: str | None,
    resumed_from: ResumePoint | None,
) -> str:
    """Open a running session and return its id."""
    session_id = str(uuid.uuid4())
    connection.execute(
        sa.insert(_sessions).values(
            id=session_id,
            workspace_id=workspace_id,
            provider=provider,
            entity_type=entity_type,
            status=RUNNING,
            dagster_run_id=dagster_run_id,
            resumed_from_session_id=resumed_from.session_id if resumed_from else None,
            resume_cursor=resumed_from.cursor if resumed_from else None,
            watermark=watermark,
            started_at=datetime.now(UTC),
        )
    )
    return session_id


def add_progress(
    connection: sa.Connection, session_id: str, progress: SessionProgress, *, cursor: str | None
) -> None:
    """Add a committed batch's counters to the session and move its resume cursor."""
    increments = {name: _sessions.c[name] + value for name, value in asdict(progress).items()}
    connection.execute(
        sa.update(_sessions)
        .where(_sessions.c.id == session_id)
        .values(**increments, resume_cursor=cursor)
    )


def finish_session(
    connection: sa.Connection,
    session_id: str,
    *,
    status: str,
    deleted: int = 0,
    error_message: str | None = None,
) -> None:
    """Close a session; a completed one drops its resume cursor, a failed one keeps it."""
    values: dict[str, Any] = {
        "status": status,
        "deleted": deleted,
        "error_message": error_message,
        "finished_at": datetime.now(UTC),
    }
    if status != FAILED:
        values["resume_cursor"] = None
    connection.execute(sa.update(_sessions).where(_sessions.c.id == session_id).values(**values))


def record_events(
    connection: sa.Connection,
    events: Iterable[Mapping[str, Any]],
    *,
    workspace_id: str,
    provider: str,
    session_id: str | None,
) -> None:
    """Append events (`event_type`, `entity_type`, `external_id`, `message`, `details`)."""
    now = datetime.now(UTC)
    rows = [
        {
            "workspace_id": workspace_id,
            "provider": provider,
            "session_id": session_id,
            "entity_type": None,
            "external_id": None,
            "message": None,
            "details": None,
            **event,
            "created_at": now,
        }
        for event in events
    ]
    if rows:
        connection.execute(sa.insert(payment_sync_events), rows)


def get_session(connection: sa.Connection, session_id: str) -> sa.Row | None:
    """One session row by id."""
    return connection.execute(sa.select(_sessions).where(_sessions.c.id == session_id)).first()


def record_skipped_session(
    connection: sa.Connection,
    *,
    workspace_id: str,
    provider: str,
    entity_type: str,
    status: str,
    reason: str,
    dagster_run_id: str | None,
) -> str:
    """A finished session that synced nothing on purpose (e.g. mock mode), with why."""
    session_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    connection.execute(
        sa.insert(_sessions).values(
            id=session_id,
            workspace_id=workspace_id,
            provider=provider,
            entity_type=entity_type,
            status=status,
            dagster_run_id=dagster_run_id,
            watermark=now,
            started_at=now,
            finished_at=now,
            error_message=reason,
        )
    )
    return session_id


def list_sessions(
    connection: sa.Connection,
    *,
    workspace_id: str,
    provider: str | None = None,
    status: str | None = None,
    dagster_run_id: str | None = None,
    limit: int = 50,
) -> list[sa.Row]:
    """A workspace's sessions, newest first, optionally by provider, status and run."""
    query = sa.select(_sessions).where(_sessions.c.workspace_id == workspace_id)
    if provider is not None:
        query = query.where(_sessions.c.provider == provider)
    if status is not None:
        query = query.where(_sessions.c.status == status)
    if dagster_run_id is not None:
        query = query.where(_sessions.c.dagster_run_id == dagster_run_id)
    return list(connection.execute(query.order_by(_sessions.c.started_at.desc()).limit(limit)))


def _session_with_expected_total() -> sa.Select:
    earlier = _sessions.alias("earlier")
    expected_total = (
        sa.select(earlier.c.listed)
        .where(earlier.c.workspace_id == _sessions.c.workspace_id)
        .where(earlier.c.provider == _sessions.c.provider)
        .where(earlier.c.entity_type == _sessions.c.entity_type)
        .where(earlier.c.status.in_((COMPLETED, COMPLETED_WITH_ERRORS)))
        .where(earlier.c.started_at < _sessions.c.started_at)
        .order_by(earlier.c.started_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    return sa.select(_sessions, expected_total.label("expected_total")).where(
        _sessions.c.id == sa.bindparam("session_id")
    )


# Built once: a session's status is polled often, and building the statement cost more than
# running it.
_SESSION_WITH_EXPECTED_TOTAL = _session_with_expected_total()


def session_with_expected_total(connection: sa.Connection, session_id: str) -> sa.Row | None:
    """One session row by id, with `expected_total`: how many objects the latest completed
    session of the same entity listed before it started, the best guess of how many this one
    will list."""
    return connection.execute(_SESSION_WITH_EXPECTED_TOTAL, {"session_id": session_id}).first()


def recoverable_sessions(connection: sa.Connection, *, workspace_id: str) -> list[sa.Row]:
    """The failed sessions a recovery can act on: for each (provider, entity) of the
    workspace, its latest session, when that one failed."""
    latest = (
        sa.select(
            _sessions.c.provider,
            _sessions.c.entity_type,
            sa.func.max(_sessions.c.started_at).label("started_at"),
        )
        .where(_sessions.c.workspace_id == workspace_id)
        .group_by(_sessions.c.provider, _sessions.c.entity_type)
        .subquery()
    )
    query = (
        sa.select(_sessions)
        .join(
            latest,
            (_sessions.c.provider == latest.c.provider)
            & (_sessions.c.entity_type == latest.c.entity_type)
            & (_sessions.c.started_at == latest.c.started_at),
        )
        .where(_sessions.c.workspace_id == workspace_id, _sessions.c.status == FAILED)
        .order_by(_sessions.c.provider, _sessions.c.entity_type)
    )
    return list(connection.execute(query))


def forget_resume_point(connection: sa.Connection, session_id: str) -> None:
    """Drop a failed session's cursor: the next sync of its entity starts from the beginning
    instead of resuming (`find_resume_point` finds nothing)."""
    connection.execute(
        sa.update(_sessions).where(_sessions.c.id == session_id).values(resume_cursor=None)
    )
