"""Full sync of one entity for one workspace: list everything, upsert in batches, then mark
what the provider no longer lists as deleted.

Every batch is one transaction that writes the rows, the events for records that failed to
map, and the session's progress and resume cursor together. A sync that dies keeps its
committed batches; the next sync of the same entity resumes after the cursor and, once the
listing completes, deletes only what neither listing returned. A sync whose process was
killed cannot close its session: given `run_is_active`, the next sync closes it as
interrupted first, and resumes from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from paysync_dagster.providers.base import CursorGoneError, MappingError, Page, PageSource, Row
from paysync_dagster.redaction import describe_error
from paysync_dagster.store import sessions
from paysync_dagster.store.sessions import ResumePoint, RunIsActive, SessionProgress
from paysync_dagster.store.upsert import (
    mark_unlisted_as_deleted,
    touch_rows,
    upsert_rows,
)
from paysync_dagster.sync.garbage_collection import relaxed_garbage_collection
from paysync_dagster.sync.prefetch import prefetch

DEFAULT_BATCH_SIZE = 500


class SyncInProgressError(RuntimeError):
    """Another Dagster run, still in progress, is syncing this workspace's entity: this run
    leaves it alone rather than write the same rows and cursor at the same time."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"being synced by run {run_id}, still in progress")
        self.run_id = run_id


@dataclass
class EntitySyncResult:
    """The outcome of one entity's full sync for one workspace, also kept in its session."""

    workspace_id: str
    entity_type: str
    session_id: str
    status: str
    resumed: bool
    listed: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    pages: int = 0
    api_calls: int = 0
    retries: int = 0
    seconds: float = 0.0

    @property
    def objects_per_second(self) -> float:
        """Listed objects per wall-clock second."""
        return self.listed / self.seconds if self.seconds > 0 else 0.0


ProgressCallback = Callable[[EntitySyncResult], None]


def _batches(pages: Iterable[Page], batch_size: int) -> Iterator[list[Page]]:
    batch: list[Page] = []
    size = 0
    for page in pages:
        batch.append(page)
        size += len(page.objects)
        if size >= batch_size:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


@dataclass
class _MappedBatch:
    """A batch of pages as rows, plus what failed to map and where the listing stands."""

    rows: list[Row]
    failed_ids: list[str]
    events: list[dict[str, Any]]
    anonymous_failure: bool
    progress: SessionProgress
    cursor: str | None


def _map_batch(
    batch: list[Page], mapper: Callable[[Mapping[str, Any], datetime], Row], entity_type: str
) -> _MappedBatch:
    """Rows that mapped; ids and events of objects that did not; the batch's progress."""
    rows: list[Row] = []
    failed_ids: list[str] = []
    events: list[dict[str, Any]] = []
    anonymous_failure = False
    for page in batch:
        for obj in page.objects:
            try:
                rows.append(mapper(obj, page.fetched_at))
            except MappingError as error:
                if error.external_id is None:
                    anonymous_failure = True
                else:
                    failed_ids.append(error.external_id)
                events.append(
                    {
                        "event_type": "record_failed",
                        "entity_type": entity_type,
                        "external_id": error.external_id,
                        "message": str(error),
                    }
                )
    progress = SessionProgress(
        listed=sum(len(page.objects) for page in batch),
        failed=len(events),
        pages=len(batch),
        api_calls=sum(page.api_calls for page in batch),
        retries=sum(page.retries for page in batch),
    )
    return _MappedBatch(
        rows, failed_ids, events, anonymous_failure, progress, _resume_cursor(batch)
    )


def _write_batch(
    engine: sa.Engine,
    table: sa.Table,
    mapped: _MappedBatch,
    *,
    workspace_id: str,
    provider: str,
    session_id: str,
) -> SessionProgress:
    """Commit one batch: its rows, its failures and the session's progress and cursor."""
    progress = mapped.progress
    now = datetime.now(UTC)
    with engine.begin() as connection:
        counts = upsert_rows(
            connection, table, mapped.rows, workspace_id=workspace_id, provider=provider,
            synced_at=now,
        )  # fmt: skip
        touch_rows(
            connection, table, mapped.failed_ids, workspace_id=workspace_id, provider=provider,
            synced_at=now,
        )  # fmt: skip
        sessions.record_events(
            connection, mapped.events, workspace_id=workspace_id, provider=provider,
            session_id=session_id,
        )  # fmt: skip
        progress.inserted = counts.inserted
        progress.updated = counts.updated
        progress.unchanged = counts.unchanged
        sessions.add_progress(connection, session_id, progress, cursor=mapped.cursor)
    return progress


@relaxed_garbage_collection()
def sync_entity(
    engine: sa.Engine,
    source: PageSource,
    *,
    workspace_id: str,
    provider: str,
    entity_type: str,
    table: sa.Table,
    mapper: Callable[[Mapping[str, Any], datetime], Row],
    dagster_run_id: str | None = None,
    run_is_active: RunIsActive | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
) -> EntitySyncResult:
    """Fully sync `entity_type` of one workspace into `table` and return what happened.

    Credentials are proven by the first page before anything is written, so a refused key
    fails fast and leaves no trace. Records that fail to map are recorded and skipped; the
    session then ends `completed_with_errors`.

    `run_is_active` (a Dagster run id -> still in progress?) lets the sync close the session
    a killed run left `running`, then resume from its cursor, and raises `SyncInProgressError`
    when another run in progress is syncing the same entity (overlapping batched ranges, or a
    single-workspace run beside a batched one). Without it (callers that know
    no Dagster runs, like the CLI) a `running` session is left as it is, since nothing can tell
    whether its process still lives, and the sync starts from the beginning as before.
    """
    started = time.perf_counter()
    with engine.begin() as connection:
        if run_is_active is not None:
            scope = {
                "workspace_id": workspace_id,
                "provider": provider,
                "entity_type": entity_type,
                "current_run_id": dagster_run_id,
                "run_is_active": run_is_active,
            }
            sessions.close_interrupted_sessions(connection, **scope)
            other_run = sessions.running_in_another_run(connection, **scope)
            if other_run is not None:
                raise SyncInProgressError(other_run)
        resume = sessions.find_resume_point(
            connection, workspace_id=workspace_id, provider=provider, entity_type=entity_type
        )
    # Closing the listing stops its prefetch thread at once when a batch fails.
    with closing(prefetch(_listing(source, entity_type, resume))) as pages:
        first_batch_pages = [next(pages)]  # raises before any write if the key is refused

        watermark = resume.watermark if resume else first_batch_pages[0].fetched_at
        with engine.begin() as connection:
            session_id = sessions.start_session(
                connection,
                workspace_id=workspace_id,
                provider=provider,
                entity_type=entity_type,
                watermark=watermark,
                dagster_run_id=dagster_run_id,
                resumed_from=resume,
            )
        result = EntitySyncResult(
            workspace_id, entity_type, session_id, sessions.RUNNING, resumed=resume is not None
        )
        complete_listing = True
        try:
            # One batch is written on the writer thread while the next is mapped: SQLite and
            # psycopg2 release the GIL while the database works, so the two overlap.
            def absorb(written: Future[SessionProgress] | None) -> None:
                if written is not None:
                    _accumulate(result, written.result(), started)
                    if on_progress is not None:
                        on_progress(result)

            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="paysync-writer") as writer:
                in_flight: Future[SessionProgress] | None = None
                for batch in _batches(_chain(first_batch_pages, pages), batch_size):
                    mapped = _map_batch(batch, mapper, entity_type)
                    complete_listing &= not mapped.anonymous_failure
                    absorb(in_flight)
                    in_flight = writer.submit(
                        _write_batch,
                        engine,
                        table,
                        mapped,
                        workspace_id=workspace_id,
                        provider=provider,
                        session_id=session_id,
                    )
                absorb(in_flight)

            status = sessions.COMPLETED if result.failed == 0 else sessions.COMPLETED_WITH_ERRORS
            with engine.begin() as connection:
                if complete_listing:
                    result.deleted = mark_unlisted_as_deleted(
                        connection,
                        table,
                        workspace_id=workspace_id,
                        provider=provider,
                        listed_since=watermark,
                        deleted_at=datetime.now(UTC),
                    )
                sessions.finish_session(
                    connection, session_id, status=status, deleted=result.deleted
                )
            result.status = status
        except BaseException as error:
            with engine.begin() as connection:
                sessions.finish_session(
                    connection,
                    session_id,
                    status=sessions.FAILED,
                    error_message=describe_error(error),
                )
            result.status = sessions.FAILED
            raise
        finally:
            result.seconds = time.perf_counter() - started
    return result


def _listing(source: PageSource, entity_type: str, resume: ResumePoint | None) -> Iterator[Page]:
    """The listing to sync: after the resume cursor, or from the start if it is gone."""
    if resume is None:
        yield from source.list_pages(entity_type)
        return
    try:
        yield from source.list_pages(entity_type, starting_after=resume.cursor)
    except CursorGoneError:
        # The object the failed sync stopped at was deleted since; the whole listing is
        # redone under the same watermark, which still marks deletions correctly.
        yield from source.list_pages(entity_type)


def _chain(head: list[Page], rest: Iterator[Page]) -> Iterator[Page]:
    yield from head
    yield from rest


def _resume_cursor(batch: list[Page]) -> str | None:
    """Where the next sync resumes if this one dies after committing `batch`."""
    return batch[-1].resume_cursor() if batch else None


def _accumulate(result: EntitySyncResult, progress: SessionProgress, started: float) -> None:
    for name in ("listed", "inserted", "updated", "unchanged", "failed", "pages"):
        setattr(result, name, getattr(result, name) + getattr(progress, name))
    result.api_calls += progress.api_calls
    result.retries += progress.retries
    result.seconds = time.perf_counter() - started
