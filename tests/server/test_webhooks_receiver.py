"""The Stripe webhook endpoint through a real uvicorn server: what it accepts, what it refuses,
and that a refusal stores nothing and leaks nothing."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import httpx
import pytest

from paysync_dagster.providers.configure import rotate_webhook_secret
from paysync_dagster.server.webhooks import WebhookReceiverOptions
from paysync_dagster.webhooks.signature import compute_signature, sign_header
from tests.webhooks.helpers import (
    add_webhook_workspace,
    customer_event,
    deliver,
    fake_webhook_secret,
    inbox_rows,
)

# Secrets are read through a cache; tests that rotate them must see the change at once.
NO_CACHE = WebhookReceiverOptions(secret_ttl_seconds=0)


@pytest.fixture
def acme(engine, vault) -> str:
    return add_webhook_workspace(engine, vault, "acme")


def _body(n: int = 1) -> bytes:
    return customer_event(f"evt_{n}", f"cus_{n}", created=int(time.time()), email=f"c{n}@x.test")


def test_valid_signature_is_stored_then_acknowledged(paysync_server, engine, acme) -> None:
    response = deliver(paysync_server(), "acme", _body(), acme)
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    [row] = inbox_rows(engine)
    assert (row.workspace_id, row.provider_event_id, row.status) == ("acme", "evt_1", "pending")
    assert row.event_type == "customer.updated"


def test_any_of_several_v1_signatures_may_match(paysync_server, engine, acme) -> None:
    body, now = _body(), int(time.time())
    header = f"t={now},v1={'0' * 64},v1={compute_signature(acme, now, body)}"
    assert deliver(paysync_server(), "acme", body, acme, signature=header).status_code == 200
    assert len(inbox_rows(engine)) == 1


@pytest.mark.parametrize(
    ("case", "make_header"),
    [
        ("wrong secret", lambda body, _s: sign_header(fake_webhook_secret(), body)),
        ("tampered body", lambda body, s: sign_header(s, body + b" ")),
        ("expired", lambda body, s: sign_header(s, body, timestamp=int(time.time()) - 301)),
        # A minute past the window: `int(time.time()) + 301` fell inside it whenever the
        # server read its clock a second later (the window's edges: test_signature_*).
        ("future", lambda body, s: sign_header(s, body, timestamp=int(time.time()) + 360)),
        ("no v1", lambda _b, _s: f"t={int(time.time())}"),
        ("garbage", lambda _b, _s: "not a signature"),
    ],
)
def test_bad_signatures_are_refused_and_store_nothing(
    paysync_server, engine, acme, case, make_header
) -> None:
    body = _body()
    response = deliver(paysync_server(), "acme", body, acme, signature=make_header(body, acme))
    assert response.status_code == 400, case
    assert response.json() == {"error": "signature verification failed"}
    assert inbox_rows(engine) == []


def test_timestamps_within_tolerance_are_accepted(paysync_server, engine, acme) -> None:
    base_url = paysync_server()
    now = int(time.time())
    assert deliver(base_url, "acme", _body(1), acme, timestamp=now - 250).status_code == 200
    assert deliver(base_url, "acme", _body(2), acme, timestamp=now + 250).status_code == 200
    assert len(inbox_rows(engine)) == 2


def test_previous_secret_stays_valid_for_the_rotation_window(
    paysync_server, engine, vault, acme
) -> None:
    base_url = paysync_server(webhook_options=NO_CACHE)
    new_secret = fake_webhook_secret()
    rotate_webhook_secret(
        engine,
        vault,
        workspace_id="acme",
        provider="stripe",
        new_secret=new_secret,
        previous_valid_for=timedelta(hours=1),
    )
    assert deliver(base_url, "acme", _body(1), acme).status_code == 200
    assert deliver(base_url, "acme", _body(2), new_secret).status_code == 200

    newest = fake_webhook_secret()
    rotate_webhook_secret(
        engine,
        vault,
        workspace_id="acme",
        provider="stripe",
        new_secret=newest,
        previous_valid_for=timedelta(0),
    )
    assert deliver(base_url, "acme", _body(3), new_secret).status_code == 400
    assert deliver(base_url, "acme", _body(4), acme).status_code == 400
    assert deliver(base_url, "acme", _body(5), newest).status_code == 200
    assert [row.provider_event_id for row in inbox_rows(engine)] == ["evt_1", "evt_2", "evt_5"]


def test_unknown_workspace_answers_like_a_bad_signature(paysync_server, engine, acme) -> None:
    base_url = paysync_server()
    unknown = deliver(base_url, "nobody", _body(), acme)
    bad = deliver(base_url, "acme", _body(), fake_webhook_secret())
    assert unknown.status_code == bad.status_code == 400
    assert unknown.content == bad.content
    assert unknown.headers.keys() == bad.headers.keys()
    assert inbox_rows(engine) == []


def test_workspace_without_webhook_secret_accepts_nothing(
    paysync_server, engine, vault, stripe_workspace
) -> None:
    stripe_workspace("plain", customers=1)
    response = deliver(paysync_server(), "plain", _body(), fake_webhook_secret())
    assert response.status_code == 400
    assert inbox_rows(engine) == []


def test_duplicate_delivery_is_acknowledged_and_stored_once(paysync_server, engine, acme) -> None:
    base_url = paysync_server()
    body = _body()
    first = deliver(base_url, "acme", body, acme)
    second = deliver(base_url, "acme", body, acme)
    assert first.json() == {"received": True, "duplicate": False}
    assert second.status_code == 200
    assert second.json() == {"received": True, "duplicate": True}
    assert len(inbox_rows(engine)) == 1


def test_body_too_large_is_413(paysync_server, engine, acme) -> None:
    base_url = paysync_server(webhook_options=WebhookReceiverOptions(max_body_bytes=2048))
    body = customer_event("evt_big", "cus_big", created=int(time.time()), name="x" * 4000)
    response = deliver(base_url, "acme", body, acme)
    assert response.status_code == 413
    assert response.json() == {"error": "body larger than 2048 bytes"}
    assert inbox_rows(engine) == []


def test_non_json_content_type_is_415(paysync_server, engine, acme) -> None:
    response = deliver(paysync_server(), "acme", _body(), acme, content_type="text/plain")
    assert response.status_code == 415
    assert inbox_rows(engine) == []


def test_signed_body_that_is_not_an_event_is_400_naming_the_field(
    paysync_server, engine, acme
) -> None:
    response = deliver(paysync_server(), "acme", b'{"id": "evt_1", "object": "event"}', acme)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid event: field 'type' should be a non-empty string"}
    assert inbox_rows(engine) == []


def test_rate_limit_is_per_workspace(paysync_server, engine, vault, acme) -> None:
    other = add_webhook_workspace(engine, vault, "other")
    options = WebhookReceiverOptions(rate_per_second=0.01, burst=3)
    base_url = paysync_server(webhook_options=options)
    codes = [deliver(base_url, "acme", _body(n), acme).status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]
    assert deliver(base_url, "other", _body(9), other).status_code == 200
    assert len(inbox_rows(engine)) == 4
    stats = httpx.get(f"{base_url}/webhooks/stats").json()
    assert stats["rejected_rate_limited"] == 1
    assert stats["accepted"] == 4


def test_no_secret_reaches_the_logs(paysync_server, engine, vault, caplog) -> None:
    api_key = "sk_test_" + "Ab3" * 8
    secret = add_webhook_workspace(engine, vault, "acme", api_key=api_key)
    base_url = paysync_server()
    with caplog.at_level(logging.DEBUG):
        deliver(base_url, "acme", _body(1), secret)
        deliver(base_url, "acme", _body(2), fake_webhook_secret())
        deliver(base_url, "nobody", _body(3), secret)
        deliver(base_url, "acme", b"{}", secret)
        deliver(base_url, "acme", _body(4), secret, content_type="text/plain")
    assert "webhook rejected (unverified" in caplog.text
    assert "webhook rejected (not_json" in caplog.text
    assert secret not in caplog.text
    assert secret.removeprefix("whsec_") not in caplog.text
    assert api_key not in caplog.text
    assert "c1@x.test" not in caplog.text  # nor a body
