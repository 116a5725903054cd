"""The processor as a background thread of `paysync serve`: the low-latency path.

The receiver wakes it right after each inbox commit; otherwise it polls, which picks up
retries that come due and events committed by other processes.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid

from paysync_dagster.redaction import describe_error
from paysync_dagster.webhooks.processor import Processor

logger = logging.getLogger(__name__)
_ERROR_PAUSE_SECONDS = 1.0


class WebhookWorker:
    """A `BackgroundService` that runs a `Processor` until stopped."""

    def __init__(
        self, processor: Processor, *, name: str = "webhook_worker", poll_seconds: float = 1.0
    ) -> None:
        self.name = name
        self.worker_id = f"{name}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._processor = processor
        self._poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the processing thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish the current batch and stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10.0)

    def is_running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def wake(self) -> None:
        """New events were committed: process them now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                result = self._processor.run_once(self.worker_id)
            except Exception as error:
                # The database may be briefly unreachable; the events stay in the inbox.
                logger.warning("webhook worker pass failed: %s", describe_error(error))
                self._stop.wait(_ERROR_PAUSE_SECONDS)
                continue
            if result.claimed < self._processor.options.batch_size:
                self._wake.wait(self._poll_seconds)


def worker_pool(processor: Processor, count: int) -> list[WebhookWorker]:
    """`count` workers sharing one processor, named for `/readyz`."""
    if count == 1:
        return [WebhookWorker(processor)]
    return [WebhookWorker(processor, name=f"webhook_worker_{n}") for n in range(1, count + 1)]
