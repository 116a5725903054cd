"""The local stack as a user brings it up, for the browser tests: `paysync demo`, one more
workspace whose sandbox the test controls, then `paysync dev`, all on free ports under a
temporary home; and the Dagster webserver's GraphQL API, to read exact statuses."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from paysync_dagster.demo import MOCK_WORKSPACE, PAYROLL_WORKSPACE
from tests.support import fake_api_key, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCATION = "paysync_dagster"
REPOSITORY = "__repository__"
BROKEN = "demo-broken"
DEMO_SIZES = {"demo-small": 20, "demo-medium": 40, "demo-large": 60}
# The workspaces configured for Stripe; the demo's PayFit workspaces are partitions too, and
# the Stripe assets leave them alone (neither materialized nor failed).
WORKSPACES = (*DEMO_SIZES, BROKEN)
PARTITIONS = (*WORKSPACES, PAYROLL_WORKSPACE, MOCK_WORKSPACE)
BROKEN_CUSTOMERS = 10
# `paysync dev` loads the code location twice (webserver and daemon): ~10 s idle on 2 cores,
# several times that while other suites run.
STARTUP_SECONDS = 150.0
STOP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


@dataclass
class Sandbox:
    """`paysync sandbox stripe` as a subprocess the test starts and stops."""

    port: int
    api_key: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.process is None, "the sandbox is already running"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "paysync_dagster.cli", "sandbox", "stripe",
                 "--port", str(self.port), "--customers", str(BROKEN_CUSTOMERS),
                 "--seed", "7", "--api-key", self.api_key],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until(self._answers, f"sandbox on port {self.port} ({self.log})", 60)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        wait_until(lambda: not self._answers(), f"sandbox on port {self.port} stops", 30)

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"the sandbox exited:\n{_tail(self.log)}")
        try:
            response = httpx.get(
                f"{self.url}/v1/customers",
                headers={"Authorization": f"Bearer {self.api_key}"},
                timeout=2,
            )
        except httpx.TransportError:
            return False
        return response.is_success


@dataclass
class Stack:
    """The running local stack and what the tests learn as they go."""

    home: Path
    dagster_url: str
    serve_url: str
    broken: Sandbox
    dev_log: Path
    artifacts: Path
    notes: dict[str, Any] = field(default_factory=dict)

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.dagster_url}/graphql",
            json={"query": query, "variables": variables},
            timeout=30,
        )
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def partition_statuses(self, entity: str) -> dict[str, list[str]]:
        """The asset's partitions by status, as the webserver computes them."""
        data = self.graphql(PARTITION_STATUSES, path=["stripe", entity])
        statuses = data["assetNodes"][0]["assetPartitionStatuses"]
        return {name: sorted(statuses[name]) for name in STATUS_FIELDS}

    def latest_materialization(self, entity: str, partition: str | None = None) -> dict:
        data = self.graphql(
            LATEST_MATERIALIZATION,
            path=["stripe", entity],
            partitions=[partition] if partition else None,
        )
        events = data["assetOrError"]["assetMaterializations"]
        assert events, f"stripe/{entity} {partition or ''} has no materialization"
        event = events[0]
        event["metadata"] = {
            entry["label"]: entry.get("intValue") for entry in event.pop("metadataEntries")
        }
        return event

    def run(self, run_id: str) -> dict[str, Any]:
        return self.graphql(RUN, runId=run_id)["runOrError"]

    def runs(self, **filter_: Any) -> list[dict[str, Any]]:
        return self.graphql(RUNS, filter=filter_)["runsOrError"]["results"]

    def wait_for_run(self, run_id: str, seconds: float = 120) -> dict[str, Any]:
        """The run once it has finished."""
        return wait_until(
            lambda: (run := self.run(run_id))["status"] in TERMINAL and run,
            f"run {run_id} finishes",
            seconds,
        )


STATUS_FIELDS = (
    "materializedPartitions",
    "failedPartitions",
    "unmaterializedPartitions",
    "materializingPartitions",
)
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
PARTITION_STATUSES = """
query ($path: [String!]!) {
  assetNodes(assetKeys: [{path: $path}]) {
    assetPartitionStatuses {
      ... on DefaultPartitionStatuses {
        materializedPartitions failedPartitions unmaterializedPartitions materializingPartitions
      }
    }
  }
}"""
LATEST_MATERIALIZATION = """
query ($path: [String!]!, $partitions: [String!]) {
  assetOrError(assetKey: {path: $path}) {
    ... on Asset {
      assetMaterializations(partitions: $partitions, limit: 1) {
        runId partition
        metadataEntries { label ... on IntMetadataEntry { intValue } }
      }
    }
  }
}"""
RUN = """
query ($runId: ID!) {
  runOrError(runId: $runId) {
    ... on Run { runId status jobName parentRunId rootRunId tags { key value } }
  }
}"""
RUNS = """
query ($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    ... on Runs { results { runId status jobName tags { key value } } }
  }
}"""
SCHEDULE_STATUS = """
query ($name: String!) {
  scheduleOrError(scheduleSelector: {repositoryLocationName: "paysync_dagster",
                                     repositoryName: "__repository__", scheduleName: $name}) {
    ... on Schedule { scheduleState { status } }
  }
}"""
BACKFILL = """
query ($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { id status numPartitions runs(limit: 10) { runId status } }
  }
}"""


def _run_cli(env: dict[str, str], log: Path, *args: str) -> None:
    with log.open("ab") as out:
        out.write(f"$ paysync {' '.join(args)}\n".encode())
        out.flush()
        completed = subprocess.run(
            [sys.executable, "-m", "paysync_dagster.cli", *args],
            env=env, stdout=out, stderr=subprocess.STDOUT, timeout=STARTUP_SECONDS,
        )  # fmt: skip
    assert completed.returncode == 0, f"paysync {args[0]} failed:\n{_tail(log)}"


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the `paysync dev` process group (it stops its children), SIGKILL if slow."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def _dagster_ready(url: str, dev: subprocess.Popen[bytes], log: Path) -> bool:
    if dev.poll() is not None:
        raise AssertionError(f"paysync dev exited with {dev.returncode}:\n{_tail(log)}")
    try:
        response = httpx.post(
            f"{url}/graphql",
            json={"query": "{ repositoriesOrError { ... on RepositoryConnection"
                  " { nodes { location { name } } } } }"},
            timeout=5,
        )  # fmt: skip
    except httpx.TransportError:
        return False
    if not response.is_success:
        return False
    nodes = (response.json().get("data") or {}).get("repositoriesOrError", {}).get("nodes", [])
    return any(node["location"]["name"] == LOCATION for node in nodes)


@contextmanager
def local_stack(root: Path, artifacts: Path) -> Iterator[Stack]:
    """Bring the stack up under `root`; everything started here is stopped on the way out."""
    home = root / "home"
    logs = root / "logs"
    logs.mkdir(parents=True)
    env = {
        **os.environ,
        "PAYSYNC_HOME": str(home),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    for inherited in ("PAYSYNC_DATABASE_URL", "DAGSTER_HOME", "PAYSYNC_ENV"):
        env.pop(inherited, None)
    setup_log = logs / "setup.log"
    sizes = [f"--{size}" for size in ("small", "medium", "large")]
    _run_cli(
        env, setup_log, "demo",
        *(arg for flag, count in zip(sizes, DEMO_SIZES.values(), strict=True)
          for arg in (flag, str(count))),
    )  # fmt: skip
    broken = Sandbox(free_port(), fake_api_key(), env, logs / "broken-sandbox.log")
    dev: subprocess.Popen[bytes] | None = None
    try:
        # Started before `paysync dev`, so dev finds the port busy and leaves it to the test.
        broken.start()
        _run_cli(
            env, setup_log, "workspace", "add", BROKEN,
            "--api-key", broken.api_key, "--api-base", broken.url,
        )  # fmt: skip
        dagster_port, serve_port = free_port(), free_port()
        dev_log = logs / "dev.log"
        with dev_log.open("ab") as out:
            dev = subprocess.Popen(
                [sys.executable, "-m", "paysync_dagster.cli", "dev",
                 "--dagster-port", str(dagster_port), "--serve-port", str(serve_port)],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        dagster_url = f"http://127.0.0.1:{dagster_port}"
        wait_until(
            lambda: _dagster_ready(dagster_url, dev, dev_log),
            f"the Dagster UI at {dagster_url} ({dev_log})",
            STARTUP_SECONDS,
        )
        wait_until(
            lambda: "the local stack is up" in dev_log.read_text(errors="replace"),
            f"paysync dev reports the stack up ({dev_log})",
            STARTUP_SECONDS,
        )
        stack = Stack(
            home, dagster_url, f"http://127.0.0.1:{serve_port}", broken, dev_log, artifacts
        )
        # Dagster's "join the community" dialog would cover the page on 127.0.0.1.
        assert stack.graphql("mutation { setNuxSeen }")["setNuxSeen"] is True
        # The sensor's first tick launches the initial sync of the workspace added above; it
        # must finish before a test stops that workspace's sandbox.
        initial = wait_until(
            lambda: stack.runs(tags=[{"key": "paysync/trigger", "value": "initial-sync"}]),
            f"workspace_partitions_sensor launches {BROKEN}'s initial sync ({dev_log})",
            STARTUP_SECONDS,
        )
        stack.notes["initial_syncs"] = [stack.wait_for_run(run["runId"]) for run in initial]
        yield stack
    finally:
        if dev is not None:
            _stop_group(dev)
        broken.stop()
