"""The production topology as separate processes: a gRPC code server and a webserver loading
the code location from it through deploy/workspace.yaml, on the PostgreSQL instance of
deploy/dagster.yaml. Checked over the webserver's GraphQL API.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import dagster as dg
import httpx
import pytest

from paysync_dagster.store.vault import KeyRing
from tests.deploy.conftest import DEPLOY, REPO_ROOT
from tests.support import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # a code server, webserver and daemon

STARTUP_DEADLINE_SECONDS = 45.0

T = TypeVar("T")

LOCATION_QUERY = """
query {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { repositories { name jobs { name } } }
          ... on PythonError { message }
        }
      }
    }
  }
}
"""

RELOAD_MUTATION = """
mutation { reloadRepositoryLocation(repositoryLocationName: "paysync_dagster") { __typename } }
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _poll(probe: Callable[[], T | None], what: str, logs: list[Path]) -> T:
    """`wait_until` for the processes' start-up, failing with the tails of their logs."""
    try:
        return wait_until(probe, what, STARTUP_DEADLINE_SECONDS)
    except AssertionError as error:
        tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
        pytest.fail(f"{error}\n{tails}")


@pytest.fixture
def processes() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start subprocesses in their own sessions; every one (and its children) ends with the test."""
    started: list[tuple[subprocess.Popen[bytes], IO[Any]]] = []

    def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        handle = log.open("wb")
        process = subprocess.Popen(
            args,
            cwd=REPO_ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append((process, handle))
        return process

    try:
        yield start
    finally:
        for process, _ in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, handle in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=15)
            handle.close()


def test_webserver_loads_the_location_from_the_code_server(
    dagster_home: Path, tmp_path: Path, processes
) -> None:
    # Create the instance's tables once, so the two processes do not race to migrate them.
    dg.DagsterInstance.get().dispose()

    grpc_port, web_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "PAYSYNC_HOME": str(tmp_path / "paysync"),
        "PAYSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'paysync.db'}",
        # A fresh random key ring for this test only.
        "PAYSYNC_ENCRYPTION_KEYS": KeyRing.generate("deploytest").to_spec(),
        "PAYSYNC_CODE_SERVER_HOST": "127.0.0.1",
        "PAYSYNC_CODE_SERVER_PORT": str(grpc_port),
    }
    code_log, web_log = tmp_path / "code-server.log", tmp_path / "webserver.log"
    logs = [code_log, web_log]

    started = time.monotonic()
    code_server = processes(
        [sys.executable, "-m", "dagster", "code-server", "start",
         "-m", "paysync_dagster.definitions", "--location-name", "paysync_dagster",
         "-h", "127.0.0.1", "-p", str(grpc_port)],
        env, code_log,
    )  # fmt: skip
    webserver = processes(
        [sys.executable, "-m", "dagster_webserver", "-w", str(DEPLOY / "workspace.yaml"),
         "-h", "127.0.0.1", "-p", str(web_port)],
        env, web_log,
    )  # fmt: skip

    graphql = f"http://127.0.0.1:{web_port}/graphql"
    with httpx.Client(timeout=10) as client:

        def location() -> dict[str, Any] | None:
            for process in (code_server, webserver):
                assert process.poll() is None, f"{process.args[3]} exited early"
            try:
                response = client.post(graphql, json={"query": LOCATION_QUERY})
            except httpx.TransportError:
                return None  # the webserver is not listening yet
            entries = response.json()["data"]["workspaceOrError"]["locationEntries"]
            (entry,) = entries
            loaded = entry["locationOrLoadError"]
            if entry["loadStatus"] == "LOADED" and loaded["__typename"] == "RepositoryLocation":
                return entry
            if entry["loadStatus"] == "LOADED":
                # The webserver came up before the code server: ask it to load again.
                client.post(graphql, json={"query": RELOAD_MUTATION})
            return None

        entry = _poll(location, "location paysync_dagster loaded over gRPC", logs)

    assert entry["name"] == "paysync_dagster"
    jobs = {
        job["name"] for repo in entry["locationOrLoadError"]["repositories"] for job in repo["jobs"]
    }
    assert "stripe_sync" in jobs
    assert time.monotonic() - started < STARTUP_DEADLINE_SECONDS
