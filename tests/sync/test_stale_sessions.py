"""Sessions left `running` by a run that is no longer in progress: closed as interrupted, and
resumed from their cursor by the next sync. On every backend, against a Stripe sandbox whose
list requests are counted, and once with a real worker process killed mid-sync."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa

from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.providers.stripe.client import PAGE_SIZE
from paysync_dagster.providers.stripe.mapping import MAPPERS
from paysync_dagster.providers.stripe.provider import STRIPE
from paysync_dagster.sandbox.stripe import StripeSandboxSettings, build_app
from paysync_dagster.serving import server_in_thread, uvicorn_server
from paysync_dagster.store import sessions
from paysync_dagster.store.tables import CANONICAL_TABLES, payment_sync_sessions
from paysync_dagster.store.workspaces import load_credentials
from paysync_dagster.sync.full_sync import sync_entity
from paysync_dagster.sync.provider_sync import SyncOptions, open_client, sync_provider_entity
from paysync_dagster.sync.workspace_runs import OutcomeStatus, SkipWorkspace
from tests.support import fake_api_key

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("sync_worker.py")
KILLED_RUN = "run-killed"
RERUN = "run-rerun"
DEADLINE_SECONDS = 60.0


@dataclass
class ListingLog:
    """The `starting_after` of every customers list request the sandbox answered."""

    requests: list[str | None] = field(default_factory=list)

    def since(self, mark: int) -> list[str | None]:
        """The requests after the first `mark` ones."""
        return self.requests[mark:]


class _Counting:
    """ASGI wrapper around the sandbox app that records customers list requests."""

    def __init__(self, app: Any, log: ListingLog) -> None:
        self._app = app
        self._log = log

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/customers":
            query = parse_qs(scope["query_string"].decode())
            self._log.requests.append(query.get("starting_after", [None])[0])
        await self._app(scope, receive, send)


@pytest.fixture
def counted_workspace(engine, vault) -> Iterator[Any]:
    """`counted_workspace("acme", customers=450)` configures a workspace against a fresh
    sandbox and returns the log of its customers list requests."""
    with ExitStack() as stack:

        def configure(workspace_id: str, **options: Any) -> ListingLog:
            settings = StripeSandboxSettings(api_key=fake_api_key(), **options)
            log = ListingLog()
            server = uvicorn_server(_Counting(build_app(settings), log), lifespan="off")
            url = stack.enter_context(server_in_thread(server, "counted stripe sandbox"))
            add_workspace(
                engine, vault, workspace_id=workspace_id, provider="stripe",
                api_key=settings.api_key, api_base=url, rate_limit_per_second=1000,
            )  # fmt: skip
            return log

        yield configure


def _session(engine, session_id: str) -> sa.Row:
    with engine.connect() as connection:
        row = sessions.get_session(connection, session_id)
    assert row is not None
    return row


def _customer_count(engine, workspace_id: str) -> int:
    table = CANONICAL_TABLES["customers"]
    with engine.connect() as connection:
        return connection.scalar(
            sa.select(sa.func.count())
            .select_from(table)
            .where(table.c.workspace_id == workspace_id)
        )


def _sync(engine, vault, *, run_id: str, run_is_active=None, batch_size: int = 100):
    return sync_provider_entity(
        STRIPE,
        engine, vault, workspace_id="acme", entity_type="customers",
        options=SyncOptions(batch_size=batch_size), dagster_run_id=run_id,
        run_is_active=run_is_active,
    )  # fmt: skip


class _Killed(BaseException):
    """Raised by the listing to stop a sync after some batches committed."""


def _leave_running(engine, vault, *, pages: int) -> sa.Row:
    """What a worker killed after `pages` committed batches leaves: their rows, and its session
    still `running` with the cursor of the last one. The crash is injected into the listing;
    the except clause a killed process never reaches is then undone."""
    credentials = load_credentials(engine, vault, workspace_id="acme", provider="stripe")
    api = open_client(STRIPE, credentials, SyncOptions())

    class Dying:
        def list_pages(self, entity: str, *, starting_after: str | None = None):
            for number, page in enumerate(api.list_pages(entity, starting_after=starting_after)):
                if number == pages:
                    raise _Killed
                yield page

    with pytest.raises(_Killed):
        sync_entity(
            engine, Dying(), workspace_id="acme", provider="stripe", entity_type="customers",
            table=CANONICAL_TABLES["customers"], mapper=MAPPERS["customers"],
            dagster_run_id=KILLED_RUN, batch_size=PAGE_SIZE,
        )  # fmt: skip
    api.close()
    with engine.begin() as connection:
        session_id = connection.scalar(sa.select(payment_sync_sessions.c.id))
        connection.execute(
            sa.update(payment_sync_sessions).values(
                status=sessions.RUNNING, error_message=None, finished_at=None
            )
        )
    return _session(engine, session_id)


def test_a_session_of_a_finished_run_is_closed_and_the_next_sync_resumes(
    engine, vault, counted_workspace
):
    log = counted_workspace("acme", customers=450, seed=4)
    stale = _leave_running(engine, vault, pages=3)
    assert (stale.status, stale.listed) == (sessions.RUNNING, 300)
    assert _customer_count(engine, "acme") == 300

    asked: list[str] = []
    mark = len(log.requests)
    result = _sync(
        engine, vault, run_id=RERUN, run_is_active=lambda run: asked.append(run) or False
    )

    assert asked == [KILLED_RUN]
    closed = _session(engine, stale.id)
    assert (closed.status, closed.error_message) == (sessions.FAILED, sessions.INTERRUPTED)
    assert closed.resume_cursor == stale.resume_cursor
    assert closed.finished_at is not None
    assert result.resumed
    assert result.status == sessions.COMPLETED
    assert _session(engine, result.session_id).resumed_from_session_id == stale.id
    # Only the remaining 150 customers, in two pages, starting after the stale cursor.
    assert result.listed == 150
    assert log.since(mark) == [stale.resume_cursor, log.requests[-1]]
    assert log.requests[-1] not in (None, stale.resume_cursor)
    assert result.deleted == 0
    assert _customer_count(engine, "acme") == 450


def test_an_entity_another_active_run_is_syncing_is_left_to_it(engine, vault, counted_workspace):
    log = counted_workspace("acme", customers=250, seed=5)
    held = _leave_running(engine, vault, pages=1)
    mark = len(log.requests)

    with pytest.raises(SkipWorkspace) as skipped:
        _sync(engine, vault, run_id=RERUN, run_is_active=lambda run: run == KILLED_RUN)

    assert skipped.value.status is OutcomeStatus.SYNCING_ELSEWHERE
    assert KILLED_RUN in skipped.value.reason
    assert _session(engine, held.id).status == sessions.RUNNING
    assert log.since(mark) == []  # nothing was asked of the provider
    with engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(payment_sync_sessions)) == 1


def test_without_run_is_active_a_running_session_is_left_as_before(
    engine, vault, counted_workspace
):
    counted_workspace("acme", customers=250, seed=5)
    stale = _leave_running(engine, vault, pages=1)

    result = _sync(engine, vault, run_id=RERUN)

    assert _session(engine, stale.id).status == sessions.RUNNING
    assert (result.resumed, result.listed) == (False, 250)


def test_only_running_sessions_of_other_finished_runs_for_that_entity_are_closed(engine):
    now = datetime.now(UTC)

    def add(session_id: str, *, run: str | None, status: str = sessions.RUNNING, **key: str):
        values = {"workspace_id": "acme", "provider": "stripe", "entity_type": "customers", **key}
        with engine.begin() as connection:
            connection.execute(
                sa.insert(payment_sync_sessions).values(
                    id=session_id,
                    status=status,
                    dagster_run_id=run,
                    resume_cursor="cus_x",
                    watermark=now,
                    started_at=now,
                    **values,
                )
            )

    add("stale", run="gone")
    add("current", run="me")
    add("active", run="live")
    add("no-run", run=None)
    add("done", run="gone", status=sessions.COMPLETED)
    add("other-entity", run="gone", entity_type="invoices")
    add("other-workspace", run="gone", workspace_id="globex")

    with engine.begin() as connection:
        closed = sessions.close_interrupted_sessions(
            connection, workspace_id="acme", provider="stripe", entity_type="customers",
            current_run_id="me", run_is_active=lambda run: run == "live",
        )  # fmt: skip

    assert closed == ["stale"]
    with engine.connect() as connection:
        statuses = dict(
            connection.execute(
                sa.select(payment_sync_sessions.c.id, payment_sync_sessions.c.status)
            ).all()
        )
    assert statuses == {
        "stale": sessions.FAILED,
        "current": sessions.RUNNING,
        "active": sessions.RUNNING,
        "no-run": sessions.RUNNING,
        "done": sessions.COMPLETED,
        "other-entity": sessions.RUNNING,
        "other-workspace": sessions.RUNNING,
    }


def _poll(probe, what: str, child: subprocess.Popen[bytes] | None = None):
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if child is not None and child.poll() is not None:
            pytest.fail(f"the worker exited ({child.returncode}) before {what}")
        found = probe()
        if found is not None:
            return found
        time.sleep(0.02)
    pytest.fail(f"{what} not within {DEADLINE_SECONDS:.0f} s")


def test_a_worker_killed_mid_sync_is_resumed_by_the_next_run(
    engine, vault, database_url, counted_workspace
):
    customers = 3000
    # 60 ms a page: 30 pages take about 2 s, long enough to kill the worker part-way.
    log = counted_workspace("acme", customers=customers, seed=6, latency_ms=60)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), database_url, "acme", "customers", KILLED_RUN, "100"],
        env=env,
        cwd=REPO_ROOT,
    )
    try:

        def some_batches_committed() -> sa.Row | None:
            with engine.connect() as connection:
                row = connection.execute(sa.select(payment_sync_sessions)).first()
            return row if row is not None and row.listed >= 500 else None

        _poll(some_batches_committed, "five batches committed", worker)
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(timeout=DEADLINE_SECONDS) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    with engine.connect() as connection:
        killed = connection.execute(sa.select(payment_sync_sessions)).one()
    assert killed.status == sessions.RUNNING
    assert 500 <= killed.listed < customers
    assert _customer_count(engine, "acme") == killed.listed
    remaining = customers - killed.listed
    mark = len(log.requests)

    result = _sync(engine, vault, run_id=RERUN, run_is_active=lambda run: False)

    closed = _session(engine, killed.id)
    assert (closed.status, closed.error_message) == (sessions.FAILED, sessions.INTERRUPTED)
    assert result.resumed
    assert result.status == sessions.COMPLETED
    assert _session(engine, result.session_id).resumed_from_session_id == killed.id
    assert result.listed == remaining
    requested = log.since(mark)
    assert requested[0] == killed.resume_cursor
    assert len(requested) == -(-remaining // PAGE_SIZE)
    assert result.deleted == 0
    assert _customer_count(engine, "acme") == customers
