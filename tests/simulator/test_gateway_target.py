"""Every gateway card against the gateway sandbox; timeouts and 5xx are errors, not declines;
card numbers never reach the database or the logs."""

from __future__ import annotations

import logging
from dataclasses import replace

import httpx

from paysync_dagster.sandbox.gateway import CARD_OUTCOMES
from paysync_dagster.simulator.targets import load_target, save_target
from tests.simulator.helpers import database_text, run_cards, stored_attempts


def _card(number: str, expect: str = "succeeded") -> dict:
    return {"number": number, "cvv": "123", "month": "12", "year": "2034", "expect": expect}


SCENARIOS = [
    ("4111111111111111", "succeeded", None),
    ("5555555555554444", "succeeded", None),
    ("4000000000000002", "declined", "DECLINED"),
    ("4000000000000341", "declined", "DECLINED"),
    ("4000000000009995", "declined", "INSUFFICIENT_FUNDS"),
    ("4000000000003220", "requires_action", None),
]


def test_every_card_scenario_gets_its_outcome(engine, vault, gateway_target):
    gateway_target("gw")
    summary = run_cards(engine, vault, "gw", [_card(n, expect) for n, expect, _ in SCENARIOS])
    assert summary.all_passed
    rows = stored_attempts(engine)
    assert [(r.card_last4, r.actual_outcome, r.error_code) for r in rows] == [
        (number[-4:], expect, code) for number, expect, code in SCENARIOS
    ]
    assert [r.card_brand for r in rows][:3] == ["visa", "mastercard", "visa"]
    assert all(r.tokenize_ms > 0 and r.checkout_ms > 0 and r.pay_ms > 0 for r in rows)
    assert rows[0].provider_payment_id.startswith("pay_")
    # A decline keeps the checkout it declined.
    assert rows[2].provider_payment_id.startswith("chk_")


def test_a_5xx_is_an_error_never_a_decline(engine, vault, gateway_target):
    gateway_target("gw")
    summary = run_cards(
        engine, vault, "gw", [_card("4000000000000119", "declined"), _card("4111111111111111")]
    )
    failing, ok = summary.attempts
    assert (failing.status, failing.actual_outcome, failing.error_code) == (
        "error",
        None,
        CARD_OUTCOMES["4000000000000119"][1],
    )
    assert ok.status == "passed"


def test_an_unavailable_gateway_is_an_error(engine, vault, gateway_target):
    gateway_target("down", fail_rate=1.0)
    (attempt,) = run_cards(engine, vault, "down", [_card("4000000000000002", "declined")]).attempts
    assert (attempt.status, attempt.actual_outcome, attempt.error_code) == (
        "error",
        None,
        "UNAVAILABLE",
    )
    assert attempt.tokenize_ms is not None
    assert attempt.checkout_ms is None


def test_a_timeout_is_an_error_never_a_decline(engine, vault, gateway_target):
    gateway_target("slow", latency_ms=400)
    (attempt,) = run_cards(
        engine, vault, "slow", [_card("4000000000000002", "declined")], timeout_seconds=0.1
    ).attempts
    assert (attempt.status, attempt.actual_outcome, attempt.error_code) == (
        "error",
        None,
        "timeout",
    )
    assert attempt.retries == 0


def test_network_errors_are_retried_then_recorded(engine, vault, gateway_target):
    gateway_target("gw")
    configured = load_target(engine, vault, "gw")
    unreachable = replace(configured, tokenization_url="http://127.0.0.1:1/v1/tokenize")
    save_target(engine, vault, unreachable, replace=True)
    (attempt,) = run_cards(engine, vault, "gw", [_card("4111111111111111")]).attempts
    assert (attempt.status, attempt.error_code, attempt.retries) == ("error", "network_error", 2)


def test_card_numbers_reach_neither_the_database_nor_the_logs(
    engine, vault, gateway_target, caplog
):
    gateway_target("gw")
    numbers = [number for number, _, _ in SCENARIOS] + ["4000000000000119"]
    with caplog.at_level(logging.DEBUG):
        run_cards(engine, vault, "gw", [_card(number) for number in numbers])
    stored = database_text(engine)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "visa-1111" in stored  # brand and last 4 are kept: the search below can fail
    for number in numbers:
        assert number not in stored
        assert number not in logged
        assert number[:8] not in stored


def test_the_gateway_sandbox_refuses_bad_requests_in_its_error_shape(gateway_sandbox):
    url, settings = gateway_sandbox(api_key="gateway-test-key-1")
    with httpx.Client(base_url=url) as client:
        unauthorized = client.post("/v1/tokenize", json={})
        assert unauthorized.status_code == 401
        assert unauthorized.json()["error"]["code"] == "UNAUTHORIZED"
        headers = {"Authorization": "Bearer gateway-test-key-1"}
        bad_card = client.post(
            "/v1/tokenize",
            json={"formId": settings.form_id, "card": {"number": "4111111111111112", "cvv": "1"}},
            headers=headers,
        )
        assert bad_card.status_code == 400
        assert bad_card.json()["error"]["code"] == "INVALID_CARD"
        assert "4111111111111112" not in bad_card.text
        wrong_form = client.post("/v1/tokenize", json={"formId": "other"}, headers=headers)
        assert wrong_form.status_code == 403
        replay_headers = {**headers, "Idempotency-Key": "same"}
        card = {"number": "4111111111111111", "cvv": "123"}
        body = {"formId": settings.form_id, "card": card}
        first = client.post("/v1/tokenize", json=body, headers=replay_headers)
        second = client.post("/v1/tokenize", json=body, headers=replay_headers)
        assert first.json() == second.json()
        assert second.headers["Idempotent-Replayed"] == "true"
