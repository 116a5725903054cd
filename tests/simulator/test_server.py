"""Through `paysync serve`: the freshness probe end to end (sandbox payment -> signed webhook
-> inbox -> row), and the simulator's HTTP routes."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.providers.stripe.provider import STRIPE
from paysync_dagster.simulator.evaluation import evaluate
from paysync_dagster.simulator.settings import Thresholds
from paysync_dagster.simulator.targets import Target, save_target
from paysync_dagster.store.tables import charges, payment_intents
from paysync_dagster.store.tokens import create_token
from paysync_dagster.sync.checks import dangling_references
from paysync_dagster.webhooks.processor import Processor
from paysync_dagster.webhooks.worker import worker_pool
from tests.simulator.helpers import run_cards, stored_attempts
from tests.support import fake_api_key
from tests.webhooks.helpers import fake_webhook_secret

CARDS = [
    {"payment_method": "pm_card_visa", "expect": "succeeded"},
    {"payment_method": "pm_card_chargeDeclined", "expect": "declined"},
    {"payment_method": "pm_card_mastercard", "expect": "succeeded"},
    {"payment_method": "pm_card_threeDSecure2Required", "expect": "requires_action"},
]


def _mirrored_workspace(engine, vault, paysync_server, stripe_sandbox, workspace_id: str):
    secret = fake_webhook_secret()
    server_url = paysync_server(services=worker_pool(Processor(engine), 1))
    url, settings = stripe_sandbox(
        customers=2,
        api_key=fake_api_key(),
        webhook_urls=(f"{server_url}/webhooks/stripe/{workspace_id}",),
        webhook_secret=secret,
    )
    add_workspace(
        engine,
        vault,
        workspace_id=workspace_id,
        provider="stripe",
        api_key=settings.api_key,
        webhook_secret=secret,
        api_base=url,
    )
    return url, settings


def test_succeeded_payments_reach_the_mirror_and_their_latency_is_recorded(
    engine, vault, paysync_server, stripe_sandbox
):
    url, settings = _mirrored_workspace(engine, vault, paysync_server, stripe_sandbox, "acme")
    save_target(
        engine,
        vault,
        Target(name="st", kind="stripe", api_key=settings.api_key, api_base=url,
               workspace_id="acme"),
    )  # fmt: skip
    summary = run_cards(engine, vault, "st", CARDS)
    assert summary.all_passed
    rows = {row.card_scenario: row for row in stored_attempts(engine)}
    for succeeded in ("pm_card_visa", "pm_card_mastercard"):
        assert rows[succeeded].freshness_status == "arrived"
        assert 0 <= rows[succeeded].freshness_ms < 60_000
    for other in ("pm_card_chargeDeclined", "pm_card_threeDSecure2Required"):
        assert rows[other].freshness_status is None
    checks = {c.name: c for c in evaluate(summary.attempts, Thresholds(), measures_freshness=True)}
    assert checks["freshness"].passed
    with engine.connect() as connection:
        mirrored = dict(
            connection.execute(
                sa.select(payment_intents.c.external_id, payment_intents.c.status).where(
                    payment_intents.c.workspace_id == "acme"
                )
            ).all()
        )
        assert mirrored[rows["pm_card_visa"].provider_payment_id] == "succeeded"
        charge_statuses = sorted(connection.scalars(sa.select(charges.c.status)))
        # Every charge's payment intent is mirrored: the reference check holds.
        dangling = dangling_references(connection, STRIPE, STRIPE.entity("charges"), ["acme"])
    assert charge_statuses[0] in ("failed", "succeeded")
    assert len(charge_statuses) >= 2
    assert all(reference.count == 0 for reference in dangling)


def test_a_payment_that_never_arrives_fails_the_freshness_check(engine, vault, stripe_sandbox):
    url, settings = stripe_sandbox(customers=2, api_key=fake_api_key())  # delivers nowhere
    add_workspace(
        engine, vault, workspace_id="quiet", provider="stripe", api_key=settings.api_key,
        api_base=url,
    )  # fmt: skip
    save_target(
        engine,
        vault,
        Target(name="st", kind="stripe", api_key=settings.api_key, api_base=url,
               workspace_id="quiet"),
    )  # fmt: skip
    thresholds = Thresholds(freshness_seconds=0.3)
    summary = run_cards(engine, vault, "st", CARDS[:1], thresholds=thresholds)
    (attempt,) = summary.attempts
    assert (attempt.freshness_status, attempt.freshness_ms) == ("missing", None)
    checks = {c.name: c for c in evaluate(summary.attempts, thresholds, measures_freshness=True)}
    assert not checks["freshness"].passed
    assert "0 of 1" in checks["freshness"].description


def test_the_http_routes_run_and_list_with_a_token(engine, vault, paysync_server, gateway_target):
    gateway_target("gw")
    base = paysync_server()
    token = create_token(engine, "simulator-test", admin=True)
    auth = {"Authorization": f"Bearer {token}"}
    scoped = create_token(engine, "workspace-only", workspace_ids=["acme"])
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.get("/health").json() == {"ok": True}
        assert client.post("/simulator/run").status_code == 401
        assert (
            client.get("/simulator/runs", headers={"Authorization": "Bearer x"}).status_code == 401
        )
        workspace_token = {"X-API-Key": scoped}
        assert client.post("/simulator/run", headers=workspace_token).status_code == 403
        assert client.post("/simulator/run?iterations=0", headers=auth).status_code == 422
        assert client.post("/simulator/run?target=ghost", headers=auth).status_code == 404
        # A name no target can have (a NUL byte, which PostgreSQL refuses in text) is a 422
        # naming the parameter, on both routes, not a 500 from the database.
        for method, path in (("POST", "/simulator/run"), ("GET", "/simulator/runs")):
            refused = client.request(method, path, params={"target": "gw\x00"}, headers=auth)
            assert refused.status_code == 422, (path, refused.text)
            assert "target" in refused.text
        ran = client.post("/simulator/run?iterations=3&target=gw", headers=auth)
        assert ran.status_code == 200
        body = ran.json()
        assert (body["status"], body["iterations"]) == ("ok", 3)
        (run,) = body["runs"]
        assert run["target"] == "gw"
        assert run["passed"] + run["degraded"] + run["failed"] + run["error"] == 3
        listed = client.get("/simulator/runs?target=gw", headers=auth).json()["runs"]
        assert [r["id"] for r in listed] == [run["run_id"]]
        assert listed[0]["trigger"] == "api"
