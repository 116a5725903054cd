"""Group commit into the inbox: many concurrent requests, one transaction per batch.

Each request hands its verified event to the writer thread and waits on a future. The thread
takes everything queued, inserts it in one transaction and resolves each future only after
the commit, so an acknowledgement still means "durably stored" while the cost of a commit is
shared by every request that arrived during the previous one.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from paysync_dagster.redaction import describe_error
from paysync_dagster.store.database import write_transaction
from paysync_dagster.webhooks.inbox import InboxItem, insert_events

logger = logging.getLogger(__name__)


class InboxUnavailableError(RuntimeError):
    """The event could not be stored; the sender should retry."""


class EventRefusedError(ValueError):
    """The database refuses this event's data (e.g. text it cannot hold): a retry would be
    refused the same way, so the sender must not be told to retry."""


@dataclass
class _Pending:
    item: InboxItem
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[bool]


class InboxWriter:
    """Stores events in batches on its own thread; `submit` resolves after the commit."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        max_batch: int = 1000,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._accepting = False

    def start(self) -> None:
        """Start the writer thread."""
        self._accepting = True
        self._thread = threading.Thread(target=self._run, name="webhook inbox writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Store what is queued, then stop."""
        self._accepting = False
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(10.0)

    def is_running(self) -> bool:
        """Whether the writer thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    async def submit(self, item: InboxItem) -> bool:
        """Store `item`; True when it is new, False for a redelivery of a stored event.

        Raises `EventRefusedError` when the database refuses its data, and
        `InboxUnavailableError` when it could not be stored for another reason.
        """
        if not self._accepting or not self.is_running():
            raise InboxUnavailableError("the inbox writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._queue.put(_Pending(item, loop, future))
        return await future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            batch: list[_Pending] = []
            if first is None:
                stopping = True
            else:
                batch.append(first)
            while len(batch) < self._max_batch:
                try:
                    pending = self._queue.get_nowait()
                except queue.Empty:
                    break
                if pending is None:
                    stopping = True
                else:
                    batch.append(pending)
            if batch:
                self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
        try:
            inserted = self._insert(batch)
        except Exception as error:
            logger.warning(
                "inbox batch of %s failed, storing one by one: %s",
                len(batch),
                describe_error(error),
            )
            for pending in batch:
                try:
                    self._resolve(pending, self._insert([pending]))
                except Exception as single_error:
                    self._reject(pending, single_error)
            return
        for pending in batch:
            self._resolve(pending, inserted)
        if self._on_commit is not None:
            self._on_commit()

    def _insert(self, batch: list[_Pending]) -> set[tuple[str, str]]:
        with write_transaction(self._engine) as connection:
            return insert_events(
                connection, [pending.item for pending in batch], received_at=datetime.now(UTC)
            )

    @staticmethod
    def _resolve(pending: _Pending, inserted: set[tuple[str, str]]) -> None:
        key = (pending.item.workspace_id, pending.item.event.id)
        # Within one batch, only the first of several deliveries of an event is "new".
        is_new = key in inserted
        inserted.discard(key)
        pending.loop.call_soon_threadsafe(_set_result, pending.future, is_new)

    @staticmethod
    def _reject(pending: _Pending, error: BaseException) -> None:
        failure: Exception
        if isinstance(error, sa.exc.DataError):
            failure = EventRefusedError(f"event refused: {type(error.orig).__name__}")
        else:
            failure = InboxUnavailableError(f"event not stored: {describe_error(error, limit=200)}")
        pending.loop.call_soon_threadsafe(_set_exception, pending.future, failure)


def _set_result(future: asyncio.Future[bool], value: bool) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future[bool], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
