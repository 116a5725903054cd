"""A sync started over the control API runs in a real Dagster webserver and its session shows.

The test starts `dagster-webserver` on a free port with a temporary DAGSTER_HOME (the default
run coordinator: runs start at once, no daemon needed), loading `paysync_dagster.definitions` as the
location `paysync_dagster`, and a real `paysync serve` app pointed at it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from dagster_graphql import DagsterGraphQLClient

from paysync_dagster.dagster_names import CODE_LOCATION
from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.server import ServerContext, build_app
from paysync_dagster.serving import server_in_thread, uvicorn_server
from paysync_dagster.settings import Settings
from paysync_dagster.store.database import create_engine, upgrade
from paysync_dagster.store.tokens import create_token

# Loading the code location dominates the webserver's start (about 10 s on 2 idle cores);
# a loaded machine has taken minutes.
DEADLINE_SECONDS = 240
CUSTOMERS = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(condition, what: str):
    end = time.monotonic() + DEADLINE_SECONDS
    while (value := condition()) is None or value is False:
        if time.monotonic() > end:
            raise AssertionError(f"{what} within {DEADLINE_SECONDS}s")
        time.sleep(0.5)
    return value


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated SQLite database, named in the environment the webserver's runs inherit."""
    url = f"sqlite:///{tmp_path / 'paysync.db'}"
    monkeypatch.setenv("PAYSYNC_DATABASE_URL", url)
    monkeypatch.setenv("PAYSYNC_HOME", str(tmp_path))
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def dagster_webserver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str, vault
) -> Iterator[str]:
    home = tmp_path / "dagster"
    home.mkdir()
    # Runs start at once in a subprocess of the webserver: no run queue, so no daemon.
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nrun_coordinator:\n  module: dagster.core.run_coordinator\n"
        "  class: DefaultRunCoordinator\n"
    )
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: paysync_dagster.definitions\n"
        f"      location_name: {CODE_LOCATION}\n"
    )
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    port = _free_port()
    log = (tmp_path / "webserver.log").open("w")
    child = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-webserver")), "-w", str(workspace),
         "-h", "127.0.0.1", "-p", str(port)],
        env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: child.poll() is not None or _answers(f"{url}/server_info"), "webserver up")
        assert child.poll() is None, (tmp_path / "webserver.log").read_text()[-3000:]
        yield url
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
        log.close()


def test_initial_sync_over_the_api_runs_in_dagster(
    tmp_path, database_url, vault, stripe_sandbox, dagster_webserver
):
    engine = create_engine(database_url)
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
        home=tmp_path, database_url=database_url, production=False, dagster_url=dagster_webserver
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

        finished = _wait(run_status, "the run finished")
        assert finished == "SUCCESS", (tmp_path / "webserver.log").read_text()[-3000:]
        (session,) = client.get(launched["status_url"]).json()
        assert session["status"] == "completed", session
        assert session["entity_type"] == "customers"
        assert session["dagster_run_id"] == launched["run_id"]
        status = client.get(f"/api/v1/sync/sessions/{session['id']}/status").json()
        assert status["progress"]["listed"] == CUSTOMERS
        assert status["progress"]["percent"] == 100.0
    engine.dispose()
