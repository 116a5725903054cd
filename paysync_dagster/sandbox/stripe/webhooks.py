"""Webhook delivery from the sandbox: every recorded event, signed, POSTed to registered URLs.

Like Stripe, a delivery that does not get a 2xx is retried with exponential backoff, and
nothing guarantees order or uniqueness; the `duplicate_rate` and `reorder_window` knobs make
that explicit so receivers can be tested against it.
"""

import heapq
import itertools
import logging
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from paysync_dagster.webhooks.signature import sign_header

logger = logging.getLogger(__name__)
_BATCH_WAIT_SECONDS = 0.05


@dataclass(frozen=True)
class WebhookDeliverySettings:
    """Where and how events are delivered.

    `duplicate_rate`: fraction of events delivered twice. `reorder_window`: events are
    delivered in shuffled groups of up to this many (1 = in order). Failed deliveries are
    retried up to `max_attempts` times, `retry_base_seconds` doubling up to a minute.
    """

    urls: Sequence[str]
    secret: str
    duplicate_rate: float = 0.0
    reorder_window: int = 1
    max_attempts: int = 8
    retry_base_seconds: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.urls or not all(u.startswith(("http://", "https://")) for u in self.urls):
            raise ValueError("webhook URLs must be http(s) URLs")
        if not self.secret.startswith("whsec_"):
            raise ValueError("webhook secret must start with whsec_")
        if not 0.0 <= self.duplicate_rate <= 1.0:
            raise ValueError("duplicate rate must be between 0 and 1")
        if self.reorder_window < 1 or self.max_attempts < 1:
            raise ValueError("reorder window and max attempts must be at least 1")


class WebhookDelivery:
    """An event subscriber (see `SandboxState.subscribe`) delivering on its own thread."""

    def __init__(self, settings: WebhookDeliverySettings) -> None:
        self.settings = settings
        self.delivered = 0
        self.failed_attempts = 0
        self._random = random.Random(settings.seed)
        self._due: list[tuple[float, int, str, bytes, int]] = []
        self._order = itertools.count()
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        """Queue `event` for every URL (called with the sandbox state locked: no I/O here)."""
        body = orjson.dumps(event)
        copies = 2 if self._random.random() < self.settings.duplicate_rate else 1
        with self._condition:
            for url in self.settings.urls:
                for _ in range(copies):
                    heapq.heappush(self._due, (time.monotonic(), next(self._order), url, body, 1))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sandbox webhooks", daemon=True
                )
                self._thread.start()
            self._condition.notify()

    def _take_batch(self) -> list[tuple[float, int, str, bytes, int]]:
        """The deliveries due now, up to the reorder window, shuffled when it exceeds one."""
        with self._condition:
            while not self._due or self._due[0][0] > time.monotonic():
                timeout = self._due[0][0] - time.monotonic() if self._due else None
                self._condition.wait(timeout)
            if self.settings.reorder_window > 1 and len(self._due) < self.settings.reorder_window:
                # Give a burst of mutations the chance to fill the window before shuffling.
                self._condition.wait(_BATCH_WAIT_SECONDS)
            batch = []
            now = time.monotonic()
            while (
                self._due and self._due[0][0] <= now and len(batch) < self.settings.reorder_window
            ):
                batch.append(heapq.heappop(self._due))
        self._random.shuffle(batch)
        return batch

    def _run(self) -> None:
        with httpx.Client(timeout=10.0) as client:
            while True:
                for _due, _order, url, body, attempt in self._take_batch():
                    self._send(client, url, body, attempt)

    def _send(self, client: httpx.Client, url: str, body: bytes, attempt: int) -> None:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign_header(self.settings.secret, body),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        try:
            ok = client.post(url, content=body, headers=headers).is_success
        except httpx.HTTPError:
            ok = False
        if ok:
            self.delivered += 1
            return
        self.failed_attempts += 1
        if attempt >= self.settings.max_attempts:
            logger.warning("webhook to %s given up after %s attempts", url, attempt)
            return
        delay = min(60.0, self.settings.retry_base_seconds * 2 ** (attempt - 1))
        with self._condition:
            heapq.heappush(
                self._due, (time.monotonic() + delay, next(self._order), url, body, attempt + 1)
            )
            self._condition.notify()
