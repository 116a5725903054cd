"""A simulator run: N checkout attempts against one target, judged and stored.

Each iteration takes the next card and customer (from per-run random starting points, so
scheduled runs of a few iterations cover every card over time), runs the target's flow
with an idempotency key of its own, and judges the outcome against the card's expectation.
A Stripe target linked to a workspace then waits for its succeeded payments to reach the
mirror. The run and its attempts are stored when it ends (one transaction).
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import sqlalchemy as sa

from paysync_dagster.redaction import describe_error
from paysync_dagster.simulator import outcomes, records
from paysync_dagster.simulator.cards import Card
from paysync_dagster.simulator.customers import Customer
from paysync_dagster.simulator.flow import CheckoutFlow
from paysync_dagster.simulator.freshness import await_mirror
from paysync_dagster.simulator.gateway_flow import GatewayFlow
from paysync_dagster.simulator.records import AttemptRecord
from paysync_dagster.simulator.settings import (
    DEFAULT_NETWORK_RETRIES,
    DEFAULT_TIMEOUT_SECONDS,
    MAX_ITERATIONS,
    Thresholds,
)
from paysync_dagster.simulator.stripe_flow import StripeFlow
from paysync_dagster.simulator.targets import Target

logger = logging.getLogger("paysync.simulator")


@dataclass(frozen=True)
class RunOptions:
    """What one run does. `first_card` / `first_customer` None: a random starting point."""

    iterations: int
    trigger: str
    cards: Sequence[Card]
    customers: Sequence[Customer]
    thresholds: Thresholds = field(default_factory=Thresholds)
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    network_retries: int = DEFAULT_NETWORK_RETRIES
    dagster_run_id: str | None = None
    first_card: int | None = None
    first_customer: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.iterations <= MAX_ITERATIONS:
            raise ValueError(f"iterations must be between 1 and {MAX_ITERATIONS}")
        if self.trigger not in outcomes.TRIGGERS:
            raise ValueError(f"trigger must be one of {', '.join(outcomes.TRIGGERS)}")
        if not self.cards or not self.customers:
            raise ValueError("a run needs at least one card and one customer")


@dataclass(frozen=True)
class RunSummary:
    """A finished run: its id and attempts (as stored)."""

    run_id: str
    target: str
    attempts: tuple[AttemptRecord, ...]

    def count(self, status: str) -> int:
        """How many attempts ended with `status`."""
        return sum(1 for attempt in self.attempts if attempt.status == status)

    @property
    def all_passed(self) -> bool:
        """Whether every attempt passed (what `paysync simulator run` exits 0 for)."""
        return all(attempt.status == outcomes.PASSED for attempt in self.attempts)


def open_flow(target: Target, options: RunOptions) -> CheckoutFlow:
    """The checkout flow of `target`'s kind."""
    kind = StripeFlow if target.kind == "stripe" else GatewayFlow
    return kind(
        target, timeout_seconds=options.timeout_seconds, network_retries=options.network_retries
    )


def _attempt(
    flow: CheckoutFlow,
    target: Target,
    options: RunOptions,
    run_id: str,
    iteration: int,
    card: Card,
    customer: Customer,
) -> tuple[AttemptRecord, float | None]:
    key = f"sim-{run_id[:8]}-{iteration}-{uuid.uuid4().hex[:12]}"
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    result = flow.attempt(
        card, customer, key, {"paysync_simulator_run": run_id, "attempt": str(iteration)}
    )
    total_ms = (time.perf_counter() - started) * 1000
    status = outcomes.judge(
        card.expect,
        result.outcome,
        total_ms=total_ms,
        retries=result.retries,
        degraded_ms=options.thresholds.degraded_ms,
    )
    record = AttemptRecord(
        run_id=run_id,
        target=target.name,
        trigger=options.trigger,
        iteration=iteration,
        idempotency_key=key,
        card_scenario=card.scenario,
        card_brand=card.brand,
        card_last4=card.last4,
        customer_ref=customer.reference,
        amount=target.amount,
        currency=target.currency,
        expected_outcome=card.expect,
        actual_outcome=result.outcome,
        status=status,
        provider_payment_id=result.provider_payment_id,
        tokenize_ms=result.step_ms.get("tokenize"),
        checkout_ms=result.step_ms.get("checkout"),
        pay_ms=result.step_ms.get("pay"),
        total_ms=total_ms,
        retries=result.retries,
        error_code=result.error_code,
        error_message=result.error_message,
        started_at=started_at,
    )
    return record, result.paid_at


def _with_freshness(
    engine: sa.Engine,
    target: Target,
    attempts: list[AttemptRecord],
    paid_at: dict[str, float],
    thresholds: Thresholds,
) -> list[AttemptRecord]:
    """The attempts with the mirror freshness of their succeeded payments filled in."""
    if target.workspace_id is None or not paid_at:
        return attempts
    arrivals = await_mirror(
        engine, target.workspace_id, paid_at, threshold_seconds=thresholds.freshness_seconds
    )
    return [
        replace(
            attempt,
            freshness_ms=arrivals[attempt.provider_payment_id].latency_ms,
            freshness_status=arrivals[attempt.provider_payment_id].status,
        )
        if attempt.provider_payment_id in arrivals
        else attempt
        for attempt in attempts
    ]


def run_simulation(
    engine: sa.Engine,
    target: Target,
    options: RunOptions,
    *,
    on_attempt: Callable[[AttemptRecord], None] | None = None,
) -> RunSummary:
    """Run `options.iterations` attempts against `target`, store them, return the summary.

    `on_attempt` sees each attempt as it ends (the CLI prints it). A failure of the run
    itself (not of an attempt) is stored on the run as `crashed` with its reason, and raised.
    """
    run_id = records.start_run(
        engine,
        target=target.name,
        trigger=options.trigger,
        iterations=options.iterations,
        dagster_run_id=options.dagster_run_id,
    )
    rng = random.Random()
    first_card = (
        rng.randrange(len(options.cards)) if options.first_card is None else options.first_card
    )
    first_customer = (
        rng.randrange(len(options.customers))
        if options.first_customer is None
        else options.first_customer
    )
    attempts: list[AttemptRecord] = []
    paid_at: dict[str, float] = {}
    flow = open_flow(target, options)
    try:
        for iteration in range(options.iterations):
            card = options.cards[(first_card + iteration) % len(options.cards)]
            customer = options.customers[(first_customer + iteration) % len(options.customers)]
            record, paid = _attempt(flow, target, options, run_id, iteration, card, customer)
            attempts.append(record)
            if paid is not None and record.provider_payment_id is not None:
                paid_at[record.provider_payment_id] = paid
            logger.info(
                "simulator %s attempt %d: %s (%s, expected %s) %.0f ms",
                target.name,
                iteration,
                record.status,
                record.card_scenario,
                record.expected_outcome,
                record.total_ms,
            )
            if on_attempt is not None:
                on_attempt(record)
        if target.kind == "stripe":
            attempts = _with_freshness(engine, target, attempts, paid_at, options.thresholds)
    except Exception as error:
        records.finish_run(engine, run_id, attempts, error_message=describe_error(error))
        raise
    finally:
        flow.close()
    records.finish_run(engine, run_id, attempts)
    return RunSummary(run_id, target.name, tuple(attempts))
