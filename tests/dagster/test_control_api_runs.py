"""A sync started over the control API runs in a real Dagster webserver and its session shows.

The test starts `dagster-webserver` (the `dagster_webserver` fixture, conftest.py) and a real
`paysync serve` app pointed at it.
"""

from __future__ import annotations

import httpx
import pytest
from dagster_graphql import DagsterGraphQLClient

from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.server import ServerContext, build_app
from paysync_dagster.serving import server_in_thread, uvicorn_server
from paysync_dagster.settings import Settings
from paysync_dagster.store.database import create_engine
from paysync_dagster.store.tokens import create_token
from tests.support import wait_until

pytestmark = pytest.mark.slow  # starts a Dagster webserver

# A run of a few customers, its worker's start-up included.
DEADLINE_SECONDS = 240
CUSTOMERS = 30


def test_initial_sync_over_the_api_runs_in_dagster(
    tmp_path, webserver_database_url, vault, stripe_sandbox, dagster_webserver
):
    engine = create_engine(webserver_database_url)
    sandbox_url, sandbox = stripe_sandbox(customers=CUSTOMERS)
    add_workspace(
        engine,
        vault,
        workspace_id="acme",
        provider="stripe",
        api_key=sandbox.api_key,
        api_base=sandbox_url,
        rate_limit_per_second=1000,
    )
    token = create_token(engine, "acme-app", workspace_ids=["acme"])
    settings = Settings(
        home=tmp_path,
        database_url=webserver_database_url,
        production=False,
        dagster_url=dagster_webserver,
    )
    app = build_app(ServerContext(settings=settings, engine=engine, vault=vault))
    headers = {"X-API-Key": token, "X-Workspace-ID": "acme"}
    with (
        server_in_thread(uvicorn_server(app), "paysync server") as url,
        httpx.Client(base_url=url, headers=headers, timeout=60) as client,
    ):
        started = client.post("/api/v1/sync/stripe/initial", json={"entity_types": ["customers"]})
        assert started.status_code == 202, started.text
        launched = started.json()
        assert launched["dagster_run_url"] == f"{dagster_webserver}/runs/{launched['run_id']}"
        again = client.post("/api/v1/sync/stripe/initial", json={})
        assert again.status_code == 409, again.text

        graphql = DagsterGraphQLClient(
            "127.0.0.1", port_number=int(dagster_webserver.rsplit(":", 1)[1])
        )

        def run_status() -> str | None:
            status = graphql.get_run_status(launched["run_id"]).value
            return status if status in ("SUCCESS", "FAILURE") else None

        finished = wait_until(run_status, "the run finished", DEADLINE_SECONDS)
        assert finished == "SUCCESS", (tmp_path / "webserver.log").read_text()[-3000:]
        (session,) = client.get(launched["status_url"]).json()
        assert session["status"] == "completed", session
        assert session["entity_type"] == "customers"
        assert session["dagster_run_id"] == launched["run_id"]
        status = client.get(f"/api/v1/sync/sessions/{session['id']}/status").json()
        assert status["progress"]["listed"] == CUSTOMERS
        assert status["progress"]["percent"] == 100.0
    engine.dispose()
