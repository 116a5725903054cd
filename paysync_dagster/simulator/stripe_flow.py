"""The checkout flow against a Stripe-compatible API, through the official SDK.

tokenize = the test payment method (no call); checkout = `PaymentIntent` create with only
`amount`, `currency`, `payment_method`, `payment_method_types` and `metadata`; pay = confirm.
Nothing else is sent, so the flow works against any Stripe-compatible API. A decline is a
`CardError` on confirm; it is recorded with the payment intent id from the create step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import stripe

from paysync_dagster.simulator import outcomes
from paysync_dagster.simulator.cards import Card
from paysync_dagster.simulator.customers import Customer
from paysync_dagster.simulator.flow import FlowResult
from paysync_dagster.simulator.settings import DEFAULT_NETWORK_RETRIES, DEFAULT_TIMEOUT_SECONDS
from paysync_dagster.simulator.targets import Target

_OUTCOME_OF_STATUS = {
    "succeeded": outcomes.SUCCEEDED,
    "requires_action": outcomes.REQUIRES_ACTION,
    # A confirm that leaves the intent without a payment method has declined it.
    "requires_payment_method": outcomes.DECLINED,
}


class _NoOutcome(Exception):
    """A call that got no answer saying what the card did; the attempt is an error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class StripeFlow:
    """One Stripe account's checkout flow; one SDK client for the run's attempts."""

    def __init__(
        self,
        target: Target,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        network_retries: int = DEFAULT_NETWORK_RETRIES,
    ) -> None:
        if target.api_key is None:
            raise ValueError(f"target {target.name!r} has no API key")
        self._target = target
        self._http = stripe.HTTPXClient(timeout=timeout_seconds, allow_sync_methods=True)
        # The SDK's own retries are off: only network errors are retried, here, and counted.
        self._client = stripe.StripeClient(
            target.api_key,
            base_addresses={"api": target.api_base} if target.api_base else None,
            max_network_retries=0,
            http_client=self._http,
        )
        self._network_retries = network_retries

    def _call(self, result: FlowResult, call: Callable[[], Any]) -> Any:
        """`call()`, retried on network errors only (same idempotency key each time)."""
        for attempt in range(self._network_retries + 1):
            try:
                return call()
            except stripe.APIConnectionError as error:
                if attempt == self._network_retries:
                    raise _NoOutcome("network_error", error.user_message or str(error)) from None
                result.retries += 1
            except (stripe.APIError, stripe.RateLimitError) as error:
                raise _NoOutcome(f"http_{error.http_status}", error.user_message or "") from None
            except (
                stripe.InvalidRequestError,
                stripe.AuthenticationError,
                stripe.PermissionError,
            ) as error:
                code = error.code or f"http_{error.http_status}"
                raise _NoOutcome(code, error.user_message or "") from None
        raise AssertionError("unreachable: the loop returns or raises")

    def attempt(
        self, card: Card, customer: Customer, key: str, metadata: dict[str, str]
    ) -> FlowResult:
        """Create and confirm one payment intent with `card`'s test payment method."""
        result = FlowResult()
        intents = self._client.v1.payment_intents
        try:
            with result.timed("checkout"):
                intent = self._call(
                    result,
                    lambda: intents.create(
                        params={
                            "amount": self._target.amount,
                            "currency": self._target.currency,
                            "payment_method": card.payment_method,
                            "payment_method_types": ["card"],
                            "metadata": {**metadata, "customer_ref": customer.reference},
                        },
                        options={"idempotency_key": f"{key}-checkout"},
                    ),
                )
            result.provider_payment_id = intent.id
            with result.timed("pay"):
                confirmed = self._call(
                    result,
                    lambda: intents.confirm(intent.id, options={"idempotency_key": f"{key}-pay"}),
                )
        except stripe.CardError as error:
            result.outcome = outcomes.DECLINED
            code = error.error.decline_code or error.code or "card_declined"
            return result.fail(code, error.user_message or "")
        except _NoOutcome as error:
            return result.fail(error.code, str(error))
        result.outcome = _OUTCOME_OF_STATUS.get(confirmed.status, confirmed.status)
        if result.outcome == outcomes.SUCCEEDED:
            result.paid_at = time.time()
        return result

    def close(self) -> None:
        """Release the HTTP connections."""
        self._http.close()
