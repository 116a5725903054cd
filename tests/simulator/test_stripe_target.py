"""Every Stripe test card against the Stripe sandbox, through the official SDK, stored."""

from __future__ import annotations

import pytest
import stripe

from paysync_dagster.sandbox.stripe import StripeSandboxSettings
from paysync_dagster.sandbox.stripe.process import running_sandbox
from tests.simulator.helpers import run_cards, stored_attempts, stored_runs
from tests.support import fake_api_key

# (payment method, expected outcome, error code the attempt records)
SCENARIOS = [
    ("pm_card_visa", "succeeded", None),
    ("pm_card_mastercard", "succeeded", None),
    ("pm_card_chargeDeclined", "declined", "generic_decline"),
    ("pm_card_visa_chargeDeclined", "declined", "generic_decline"),
    ("pm_card_chargeDeclinedInsufficientFunds", "declined", "insufficient_funds"),
    ("pm_card_chargeCustomerFail", "declined", "generic_decline"),
    ("pm_card_chargeDeclinedExpiredCard", "declined", "expired_card"),
    ("pm_card_threeDSecure2Required", "requires_action", None),
    ("pm_card_authenticationRequired", "requires_action", None),
]


def test_every_card_scenario_gets_its_outcome_and_is_stored(engine, vault, stripe_target):
    stripe_target("st")
    cards = [{"payment_method": pm, "expect": expect} for pm, expect, _ in SCENARIOS]
    summary = run_cards(engine, vault, "st", cards)
    assert summary.all_passed
    rows = stored_attempts(engine)
    assert [(r.card_scenario, r.actual_outcome, r.error_code) for r in rows] == SCENARIOS
    assert {r.status for r in rows} == {"passed"}
    assert all(r.provider_payment_id.startswith("pi_") for r in rows)
    assert all(r.tokenize_ms is None and r.checkout_ms > 0 and r.pay_ms > 0 for r in rows)
    assert len({r.idempotency_key for r in rows}) == len(rows)
    (run,) = stored_runs(engine)
    assert (run.status, run.passed, run.failed, run.errors) == ("completed", len(SCENARIOS), 0, 0)


def test_a_card_that_does_other_than_expected_fails_the_attempt(engine, vault, stripe_target):
    stripe_target("st")
    summary = run_cards(
        engine,
        vault,
        "st",
        [
            {"payment_method": "pm_card_chargeDeclined", "expect": "succeeded"},
            {"payment_method": "pm_card_visa", "expect": "declined"},
        ],
    )
    assert [a.status for a in summary.attempts] == ["failed", "failed"]
    assert not summary.all_passed


def test_sandbox_payments_emit_events_and_list_like_stripe():
    settings = StripeSandboxSettings(customers=0, api_key=fake_api_key())
    with running_sandbox(settings) as url:
        client = stripe.StripeClient(
            settings.api_key, base_addresses={"api": url}, max_network_retries=0
        )
        ok = client.v1.payment_intents.create(
            params={"amount": 500, "currency": "gbp", "payment_method": "pm_card_visa",
                    "payment_method_types": ["card"], "metadata": {"attempt": "1"}}
        )  # fmt: skip
        assert ok.status == "requires_confirmation"
        confirmed = client.v1.payment_intents.confirm(ok.id)
        assert (confirmed.status, confirmed.amount_received) == ("succeeded", 500)
        charge = client.v1.charges.retrieve(confirmed.latest_charge)
        assert (charge.status, charge.payment_intent, charge.paid) == ("succeeded", ok.id, True)
        assert charge.payment_method_details.card.last4 == "4242"

        declined = client.v1.payment_intents.create(
            params={"amount": 500, "currency": "gbp",
                    "payment_method": "pm_card_chargeDeclinedInsufficientFunds"}
        )  # fmt: skip
        with pytest.raises(stripe.CardError) as raised:
            client.v1.payment_intents.confirm(declined.id)
        assert raised.value.code == "card_declined"
        assert raised.value.error.decline_code == "insufficient_funds"
        assert raised.value.http_status == 402
        after = client.v1.payment_intents.retrieve(declined.id)
        assert after.status == "requires_payment_method"
        assert after.last_payment_error.decline_code == "insufficient_funds"

        with pytest.raises(stripe.InvalidRequestError):
            client.v1.payment_intents.confirm(ok.id)  # already succeeded
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.payment_intents.create(
                params={"amount": 500, "currency": "gbp", "payment_method": "pm_card_unknown"}
            )
        events = [event.type for event in client.v1.events.list({"limit": 20}).data]
        assert list(reversed(events)) == [
            "payment_intent.created",
            "charge.succeeded",
            "payment_intent.succeeded",
            "payment_intent.created",
            "charge.failed",
            "payment_intent.payment_failed",
        ]
        assert [i.id for i in client.v1.payment_intents.list().data] == [declined.id, ok.id]
        assert len(client.v1.charges.list().data) == 2


def test_a_repeated_idempotency_key_replays_the_answer_and_pays_once():
    settings = StripeSandboxSettings(customers=0, api_key=fake_api_key())
    with running_sandbox(settings) as url:
        client = stripe.StripeClient(
            settings.api_key, base_addresses={"api": url}, max_network_retries=0
        )
        params = {"amount": 700, "currency": "eur", "payment_method": "pm_card_visa"}
        first = client.v1.payment_intents.create(params, {"idempotency_key": "k1"})
        again = client.v1.payment_intents.create(params, {"idempotency_key": "k1"})
        assert first.id == again.id
        client.v1.payment_intents.confirm(first.id, options={"idempotency_key": "k2"})
        client.v1.payment_intents.confirm(first.id, options={"idempotency_key": "k2"})
        assert len(client.v1.charges.list().data) == 1
