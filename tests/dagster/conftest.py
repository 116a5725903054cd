"""A real `dagster-webserver` on a temporary instance, for tests that talk to it over GraphQL;
and a sensor context with paysync's resources, for evaluating sensors directly.

The webserver runs on a free port with a temporary DAGSTER_HOME (the default run coordinator: runs
start at once, no daemon needed), loading `paysync_dagster.definitions` as the location
`paysync_dagster`, with paysync's tables in a migrated SQLite file its runs also use.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import httpx
import pytest

from paysync_dagster.dagster_names import CODE_LOCATION
from paysync_dagster.defs.resources import DatabaseResource, VaultResource
from paysync_dagster.store.database import create_engine, upgrade
from tests.support import wait_until

# Loading the code location dominates the webserver's start (about 10 s on 2 idle cores);
# a loaded machine has taken minutes.
DEADLINE_SECONDS = 240


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def webserver_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, webserver_database_url: str, vault
) -> Iterator[str]:
    """The webserver's base URL; DAGSTER_HOME names its instance in this process too."""
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
        up = f"{url}/server_info"
        wait_until(
            lambda: child.poll() is not None or _answers(up), "webserver up", DEADLINE_SECONDS
        )
        assert child.poll() is None, (tmp_path / "webserver.log").read_text()[-3000:]
        yield url
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
        log.close()


@pytest.fixture
def sensor_context(database_url: str, vault) -> Iterator[dg.SensorEvaluationContext]:
    """A sensor context on a fresh Dagster instance (`context.instance`), with paysync's
    database and the test's vault as resources."""
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(
            instance=instance,
            resources={"database": DatabaseResource(url=database_url), "vault": VaultResource()},
        ) as context,
    ):
        yield context
