"""The webhook signature scheme checked against the official `stripe` SDK, not only against
paysync's own signer: what paysync signs, Stripe's verifier accepts (and refuses tampered),
and what paysync verifies is exactly what Stripe's verifier verifies."""

from __future__ import annotations

import secrets
import time

import pytest
import stripe

from paysync_dagster.webhooks.signature import SignatureError, sign_header, verify_signature

BODY = b'{"id": "evt_1", "object": "event", "type": "customer.updated"}'


def _secret() -> str:
    return f"whsec_{secrets.token_hex(16)}"


def test_paysync_signatures_verify_with_stripe_sdk():
    secret = _secret()
    header = sign_header(secret, BODY)
    assert stripe.WebhookSignature.verify_header(BODY.decode(), header, secret, tolerance=300)
    event = stripe.Webhook.construct_event(BODY.decode(), header, secret)
    assert event["id"] == "evt_1"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, header, secret: (body.replace(b"evt_1", b"evt_2"), header, secret),
        lambda body, header, secret: (body, header, _secret()),
        lambda body, header, secret: (body, header.replace("v1=", "v1=0"), secret),
    ],
    ids=["body", "secret", "signature"],
)
def test_both_verifiers_refuse_the_same_tampered_deliveries(tamper):
    secret = _secret()
    body, header, key = tamper(BODY, sign_header(secret, BODY), secret)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body.decode(), header, key, tolerance=300)
    with pytest.raises(SignatureError):
        verify_signature(header, body, [key])


def test_an_old_timestamp_is_refused_by_both():
    secret = _secret()
    header = sign_header(secret, BODY, timestamp=int(time.time()) - 301)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(BODY.decode(), header, secret, tolerance=300)
    with pytest.raises(SignatureError):
        verify_signature(header, BODY, [secret], tolerance_seconds=300)


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(-301, False), (-300, True), (300, True), (301, False)],
    ids=["301s-old", "300s-old", "300s-ahead", "301s-ahead"],
)
def test_the_tolerance_window_includes_its_edges_and_nothing_past_them(offset, accepted):
    secret, now = _secret(), 1_800_000_000
    header = sign_header(secret, BODY, timestamp=now + offset)
    if accepted:
        assert verify_signature(header, BODY, [secret], now=now, tolerance_seconds=300) == (
            now + offset
        )
    else:
        with pytest.raises(SignatureError, match="outside the tolerance window"):
            verify_signature(header, BODY, [secret], now=now, tolerance_seconds=300)
