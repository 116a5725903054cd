"""The control API through a real server: every endpoint, the auth matrix, no secret out."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from paysync_dagster.mpesa.bars import add_bar
from paysync_dagster.server.auth import AuthOptions, PrincipalCache
from paysync_dagster.store import sessions
from paysync_dagster.store.tables import api_tokens, webhook_inbox
from paysync_dagster.store.tokens import TOKEN_PREFIX, Principal, digest, revoke_token
from paysync_dagster.store.workspaces import load_credentials
from tests.control.conftest import running_api
from tests.control.helpers import FakeLauncher, add_dead_event, add_session
from tests.mpesa.helpers import settings_body
from tests.webhooks.helpers import add_webhook_workspace

SESSION = "00000000-0000-0000-0000-000000000000"
# Every operation, with a body that is valid when one is needed.
OPERATIONS = [
    ("GET", "/api/v1/sync/config", None),
    ("POST", "/api/v1/sync/config", {"provider_name": "stripe", "configuration": {"api_key": "k"}}),
    ("GET", "/api/v1/sync/config/stripe", None),
    ("GET", "/api/v1/sync/config/id/1", None),
    ("PUT", "/api/v1/sync/config/id/1", {"rate_limit_per_second": 5}),
    ("DELETE", "/api/v1/sync/config/id/1", None),
    ("POST", "/api/v1/sync/config/1/test", None),
    ("POST", "/api/v1/sync/stripe/initial", {"entity_types": [], "full_sync": True}),
    ("GET", "/api/v1/sync/sessions", None),
    ("GET", f"/api/v1/sync/sessions/{SESSION}", None),
    ("GET", f"/api/v1/sync/sessions/{SESSION}/status", None),
    ("POST", "/api/v1/sync/recover", {"session_id": SESSION, "mode": "resume"}),
    ("GET", "/api/v1/sync/recoverable", None),
    ("POST", "/api/v1/webhooks/replay", {"status": "dead"}),
    ("GET", "/api/v1/webhooks/failed", None),
    ("GET", "/api/v1/dlq/stats", None),
]  # fmt: skip


def _send(client: httpx.Client, method: str, path: str, body: dict | None) -> httpx.Response:
    return client.request(method, path, json=body)


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_auth_matrix(api, engine, method, path, body):
    revoked = api.acme
    with api.client(None) as anonymous:
        response = _send(anonymous, method, path, body)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    with api.client("pst_" + "x" * 43) as wrong:
        assert _send(wrong, method, path, body).status_code == 401
    with api.client(api.globex) as other_workspace:
        response = _send(other_workspace, method, path, body)
        assert response.status_code == 403
        assert response.json()["message"] == "this token may not act on that workspace"
    with api.client(api.globex, "does-not-exist") as unknown_workspace:
        assert _send(unknown_workspace, method, path, body).status_code == 403
    with api.client(api.admin) as admin:
        assert _send(admin, method, path, body).status_code not in (401, 403)
    with httpx.Client(
        base_url=api.url, headers={"Authorization": f"Bearer {api.acme}", "X-Workspace-ID": "acme"}
    ) as bearer:
        assert _send(bearer, method, path, body).status_code not in (401, 403)
    revoke_token(engine, "acme-app")
    with api.client(revoked) as after_revocation:  # the fixture's server caches no token check
        assert _send(after_revocation, method, path, body).status_code == 401


def test_providers_come_from_the_registry(api):
    with api.client(api.acme, None) as client:
        providers = {p["name"]: p for p in client.get("/api/v1/sync/providers").json()}
    assert set(providers) == {"stripe", "payfit"}
    stripe = providers["stripe"]
    assert [e["name"] for e in stripe["entities"]][:3] == ["customers", "products", "prices"]
    assert {f["name"]: f["secret"] for f in stripe["credential_fields"]} == {
        "api_key": True,
        "webhook_secret": True,
    }
    assert providers["payfit"]["has_mock_mode"] is True


def test_config_crud_and_connection_test_never_show_a_secret(api, engine, vault, stripe_sandbox):
    url, sandbox = stripe_sandbox(customers=3)
    secret = "whsec_" + "s3cr3t" * 6
    texts: list[str] = []
    with api.client(api.acme) as client:
        client.event_hooks["response"] = [lambda r: r.read() and texts.append(r.text)]
        body = {
            "provider_name": "stripe",
            "configuration": {"api_key": sandbox.api_key, "webhook_secret": secret},
            "api_base": url,
            "rate_limit_per_second": 500,
        }
        created = client.post("/api/v1/sync/config", json=body)
        assert created.status_code == 201, created.text
        config = created.json()
        assert config["api_key_set"] is True
        assert config["webhook_secret_set"] is True
        assert config["webhook_path"] == "/webhooks/stripe/acme"
        config_id = config["id"]
        assert client.post("/api/v1/sync/config", json=body).status_code == 409

        assert [c["id"] for c in client.get("/api/v1/sync/config").json()] == [config_id]
        assert client.get("/api/v1/sync/config/stripe").json()["id"] == config_id
        assert client.get("/api/v1/sync/config/payfit").status_code == 404
        assert client.get(f"/api/v1/sync/config/id/{config_id}").json() == config

        tested = client.post(f"/api/v1/sync/config/{config_id}/test")
        assert tested.status_code == 200
        assert tested.json()["ok"] is True, tested.json()

        updated = client.put(
            f"/api/v1/sync/config/id/{config_id}", json={"rate_limit_per_second": 7}
        )
        assert updated.json()["rate_limit_per_second"] == 7
        stored = load_credentials(engine, vault, workspace_id="acme", provider="stripe")
        assert (stored.api_key, stored.webhook_secret) == (sandbox.api_key, secret)

        bad = client.put(
            f"/api/v1/sync/config/id/{config_id}", json={"configuration": {"api_key": "nope"}}
        )
        assert bad.status_code == 422
        assert (
            client.post("/api/v1/sync/config", json={**body, "provider_name": "nosuch"}).status_code
            == 422
        )

    # Another workspace's configuration id is indistinguishable from a missing one.
    with api.client(api.globex, "globex") as other:
        for method in ("GET", "PUT", "DELETE"):
            missing = other.request(
                method, f"/api/v1/sync/config/id/{config_id}", json={} if method == "PUT" else None
            )
            assert missing.status_code == 404
            assert missing.json() == other.get("/api/v1/sync/config/id/999999").json()
        assert other.post(f"/api/v1/sync/config/{config_id}/test").status_code == 404

    with api.client(api.acme) as client:
        assert client.delete(f"/api/v1/sync/config/id/{config_id}").status_code == 204
        assert client.get(f"/api/v1/sync/config/id/{config_id}").status_code == 404
    for text in texts:
        assert sandbox.api_key not in text
        assert secret not in text


def test_initial_sync_without_dagster_answers_503_saying_how(api, engine, vault):
    add_webhook_workspace(engine, vault, "acme")
    with api.client(api.acme) as client:
        response = client.post("/api/v1/sync/stripe/initial", json={"entity_types": ["customers"]})
    assert response.status_code == 503
    assert "PAYSYNC_DAGSTER_URL" in response.json()["message"]


def test_initial_sync_launches_validates_and_refuses_while_running(api, engine, vault):
    add_webhook_workspace(engine, vault, "acme")
    launcher = api.app.state.sync_launcher = FakeLauncher()
    with api.client(api.acme) as client:
        started = client.post("/api/v1/sync/stripe/initial", json={"entity_types": ["customers"]})
        assert started.status_code == 202
        assert started.json()["status_url"] == "/api/v1/sync/sessions?run_id=run-1"
        everything = client.post("/api/v1/sync/stripe/initial", json={})
        assert everything.json()["entity_types"][0] == "customers"
        assert launcher.launched[0] == ("stripe", "acme", ["customers"])
        assert (
            client.post("/api/v1/sync/stripe/initial", json={"entity_types": ["nope"]}).status_code
            == 422
        )
        assert client.post("/api/v1/sync/payfit/initial", json={}).status_code == 409
        assert client.post("/api/v1/sync/nosuch/initial", json={}).status_code == 404
        launcher.running = "run-0"
        busy = client.post("/api/v1/sync/stripe/initial", json={})
        assert busy.status_code == 409
        assert "already running" in busy.json()["message"]


def test_sessions_and_progress(api, engine):
    add_session(
        engine, "acme", status=sessions.COMPLETED, listed=400, started_ago=timedelta(hours=1)
    )
    running = add_session(engine, "acme", listed=100, pages=1, started_ago=timedelta(seconds=10))
    theirs = add_session(engine, "globex")
    with api.client(api.acme) as client:
        listed = client.get("/api/v1/sync/sessions").json()
        assert listed[0]["id"] == running
        assert theirs not in {s["id"] for s in listed}
        assert client.get(f"/api/v1/sync/sessions/{running}").json()["listed"] == 100
        status = client.get(f"/api/v1/sync/sessions/{running}/status").json()
        progress = status["progress"]
        assert progress["listed"] == 100
        assert progress["pages"] == 1
        assert progress["expected_total"] == 400
        assert progress["percent"] == 25.0
        assert 5 < progress["objects_per_second"] < 20
        assert 15 < progress["eta_seconds"] < 60
        assert client.get(f"/api/v1/sync/sessions/{theirs}").status_code == 404
        assert client.get(f"/api/v1/sync/sessions/{theirs}/status").status_code == 404
        assert (
            client.get("/api/v1/sync/sessions", params={"status": "completed"}).json()[0]["listed"]
            == 400
        )


def test_recover_resume_and_restart(api, engine, vault):
    add_webhook_workspace(engine, vault, "acme")
    older = add_session(
        engine, "acme", status=sessions.FAILED, cursor="cus_1", started_ago=timedelta(hours=2)
    )
    failed = add_session(engine, "acme", status=sessions.FAILED, cursor="cus_9")
    no_cursor = add_session(engine, "acme", entity_type="products", status=sessions.FAILED)
    launcher = api.app.state.sync_launcher = FakeLauncher()
    with api.client(api.acme) as client:
        recoverable = client.get("/api/v1/sync/recoverable").json()
        assert {(s["id"], s["resumable"]) for s in recoverable} == {
            (failed, True),
            (no_cursor, False),
        }
        stale = client.post("/api/v1/sync/recover", json={"session_id": older, "mode": "resume"})
        assert stale.status_code == 409
        assert (
            client.post(
                "/api/v1/sync/recover", json={"session_id": no_cursor, "mode": "resume"}
            ).status_code
            == 409
        )
        resumed = client.post("/api/v1/sync/recover", json={"session_id": failed, "mode": "resume"})
        assert resumed.status_code == 202, resumed.text
        with engine.connect() as connection:
            assert (
                sessions.find_resume_point(
                    connection, workspace_id="acme", provider="stripe", entity_type="customers"
                ).cursor
                == "cus_9"
            )
        restarted = client.post(
            "/api/v1/sync/recover", json={"session_id": failed, "mode": "restart"}
        )
        assert restarted.status_code == 202
        with engine.connect() as connection:
            assert (
                sessions.find_resume_point(
                    connection, workspace_id="acme", provider="stripe", entity_type="customers"
                )
                is None
            )
        assert launcher.launched == [("stripe", "acme", ["customers"])] * 2
    with api.client(api.globex, "globex") as other:
        assert other.post(
            "/api/v1/sync/recover", json={"session_id": failed, "mode": "resume"}
        ).status_code in (404, 503)


def test_failed_webhooks_stats_and_replay(api, engine):
    add_dead_event(engine, "acme", "evt_1")
    add_dead_event(engine, "acme", "evt_2")
    add_dead_event(engine, "globex", "evt_3")
    with api.client(api.acme) as client:
        failed = client.get("/api/v1/webhooks/failed").json()
        assert sorted(e["provider_event_id"] for e in failed) == ["evt_1", "evt_2"]
        assert "payload" not in failed[0]
        stats = client.get("/api/v1/dlq/stats").json()
        assert stats["dead"] == 2
        assert stats["by_status"]["pending"] == 0
        replayed = client.post("/api/v1/webhooks/replay", json={"event_ids": ["evt_1", "evt_3"]})
        assert replayed.json()["replayed"] == 1
        assert (
            client.post(
                "/api/v1/webhooks/replay",
                json={
                    "received_after": "2030-01-01T00:00:00Z",
                    "received_before": "2029-01-01T00:00:00Z",
                },
            ).status_code
            == 422
        )
    with engine.connect() as connection:
        states = dict(
            connection.execute(
                sa.select(webhook_inbox.c.provider_event_id, webhook_inbox.c.status)
            ).all()
        )
    assert states == {"evt_1": "pending", "evt_2": "dead", "evt_3": "dead"}


def test_invalid_bodies_name_each_field_and_large_ones_are_413(api):
    with api.client(api.acme) as client:
        invalid = client.post(
            "/api/v1/sync/config", json={"provider_name": "Stripe!", "configuration": {}, "x": 1}
        )
        assert invalid.status_code == 422
        assert set(invalid.json()["errors"]) == {"provider_name", "x"}
        deep = client.post(
            "/api/v1/sync/config",
            content=b"[" * 100 + b"]" * 100,
            headers={"content-type": "application/json"},
        )
        assert deep.status_code == 422
        assert "deeper" in deep.json()["errors"]["body"]
        big = client.post(
            "/api/v1/sync/config",
            content=b" " * 70_000,
            headers={"content-type": "application/json"},
        )
        assert big.status_code == 413


def test_a_json_body_sent_as_a_form_is_told_to_send_json_and_stores_nothing(api, engine):
    """`curl -d '{…}'` labels the body as a form: the 422 says which content type to send."""
    body = b'{"provider_name": "stripe", "configuration": {"api_key": "sk_test_x"}}'
    with api.client(api.acme) as client:
        response = client.post(
            "/api/v1/sync/config",
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 422
        assert "Content-Type: application/json" in response.json()["errors"]["body"]
        assert "sk_test_x" not in response.text
        assert client.get("/api/v1/sync/config").json() == []


def test_token_checks_are_cached_for_a_moment(engine, vault, database_url, tmp_path):
    """A valid token's check is reused (no token query per poll), a failed one never is."""
    options = AuthOptions(token_cache_seconds=60)
    with (
        running_api(engine, vault, database_url, tmp_path, options) as api,
        api.client(api.acme) as acme,
        api.client(api.globex, "globex") as globex,
    ):
        assert acme.get("/api/v1/sync/sessions").status_code == 200
        revoke_token(engine, "acme-app")
        revoke_token(engine, "globex-app")
        assert acme.get("/api/v1/sync/sessions").status_code == 200  # checked a moment ago
        assert globex.get("/api/v1/sync/sessions").status_code == 401  # never checked


def test_a_cached_token_check_expires():
    cache = PrincipalCache(AuthOptions(token_cache_seconds=0.05))
    principal = Principal("acme-app", False, frozenset({"acme"}), False)
    cache.put("digest", principal)
    assert cache.get("digest") == principal
    deadline = time.monotonic() + 10
    while cache.get("digest") is not None:
        assert time.monotonic() < deadline, "the cached check never expired"
    assert cache.get("other digest") is None


def test_failed_authentications_are_throttled(api):
    statuses = []
    with api.client("pst_guess") as guesser:
        for _ in range(25):
            statuses.append(guesser.get("/api/v1/sync/config").status_code)
    assert statuses[:20] == [401] * 20
    assert statuses[-1] == 429
    with api.client(api.acme) as valid:
        # The same address is throttled, whatever token it now sends: no guessing at speed.
        assert valid.get("/api/v1/sync/config").status_code == 429


def test_mpesa_settings_need_an_admin_or_carried_over_token(api, engine):
    carried = f"{TOKEN_PREFIX}carried-over-mpesa-token-0123456789abcdef"
    with engine.begin() as connection:
        connection.execute(
            sa.insert(api_tokens).values(
                name="staff-app", token_sha256=digest(carried), is_admin=False,
                mpesa_settings=True, workspace_ids=[], created_at=sa.func.now(),
            )
        )  # fmt: skip
    body = settings_body(add_bar(engine, "Bar"))
    url = f"{api.url}/api/mpesa-settings"
    assert httpx.post(url, json=body, headers={"X-API-Key": api.acme}).status_code == 403
    assert httpx.post(url, json=body, headers={"X-API-Key": carried}).status_code == 200
    assert (
        httpx.post(url, json=body, headers={"Authorization": f"Bearer {api.admin}"}).status_code
        == 200
    )
    with api.client(carried) as client:
        assert client.get("/api/v1/sync/config").status_code == 403


@pytest.mark.parametrize("path", ["/api/bars/%0Ah/payment-methods", "/no/such/route"])
def test_a_path_no_route_matches_gets_a_json_404(api, path):
    with api.client(api.admin) as client:
        response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"success": False, "message": "Not Found"}
