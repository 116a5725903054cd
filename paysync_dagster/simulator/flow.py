"""What one checkout attempt returns, whichever kind of target ran it, and its step timer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from paysync_dagster.simulator.cards import Card, mask_card_numbers
from paysync_dagster.simulator.customers import Customer

STEPS = ("tokenize", "checkout", "pay")
_MAX_ERROR_MESSAGE = 500


@dataclass
class FlowResult:
    """The outcome of an attempt's steps.

    `outcome` is None when the flow got no answer that says what the card did (timeout,
    5xx, network failure): the attempt is then an error, never a decline. `step_ms` holds
    the steps that made a call; `paid_at` is when the pay step answered a success.
    """

    outcome: str | None = None
    provider_payment_id: str | None = None
    step_ms: dict[str, float] = field(default_factory=dict)
    retries: int = 0
    error_code: str | None = None
    error_message: str | None = None
    paid_at: float | None = None

    def fail(self, code: str, message: str) -> FlowResult:
        """Record why the attempt has no outcome (or why the card declined), masked."""
        self.error_code = code[:64]
        self.error_message = mask_card_numbers(message)[:_MAX_ERROR_MESSAGE]
        return self

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        """Time `step` into `step_ms`, whether it returns or raises."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.step_ms[step] = (time.perf_counter() - started) * 1000


class CheckoutFlow(Protocol):
    """A target's tokenize -> checkout -> pay flow."""

    def attempt(
        self, card: Card, customer: Customer, key: str, metadata: dict[str, str]
    ) -> FlowResult:
        """Run one attempt whose requests carry idempotency keys derived from `key`."""
        ...

    def close(self) -> None:
        """Release the flow's connections."""
        ...
