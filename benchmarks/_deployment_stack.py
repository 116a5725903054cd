"""The production topology of the deployment benchmark: code server, webserver and daemon as
separate processes on a PostgreSQL instance with deploy/dagster.yaml, driven over GraphQL.

Also the memory sampler: the peak RSS (VmHWM) of every process of the stack, run workers
included, read from /proc while they live.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
DEPLOY = REPO_ROOT / "deploy"
BIN = Path(sys.executable).parent
LOCATION = "paysync_dagster"
REPOSITORY = "__repository__"  # the repository name Dagster gives @dg.definitions
POLL_SECONDS = 0.25
STARTUP_DEADLINE_SECONDS = 120.0
STOP_DEADLINE_SECONDS = 20.0

T = TypeVar("T")

LOCATION_QUERY = """
query { workspaceOrError { ... on Workspace { locationEntries {
  loadStatus locationOrLoadError { __typename } } } } }
"""
RELOAD_MUTATION = """
mutation { reloadRepositoryLocation(repositoryLocationName: "paysync_dagster") { __typename } }
"""
LAUNCH_MUTATION = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on Error { message }
  }
}
"""


def wait_for(probe: Callable[[], T | None], what: str, deadline_seconds: float) -> T:
    """Call `probe` until it returns something; raise TimeoutError after the deadline."""
    deadline = time.monotonic() + deadline_seconds
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {deadline_seconds:.0f} s")
        time.sleep(POLL_SECONDS)


def free_port() -> int:
    """A TCP port free right now on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_dagster_home(home: Path) -> None:
    """A DAGSTER_HOME holding deploy/dagster.yaml exactly as shipped."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")


@dataclass
class Stack:
    """The running processes, their logs, and the webserver's GraphQL endpoint."""

    env: dict[str, str]
    logs: Path
    graphql_url: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _handles: list[IO[Any]] = field(default_factory=list)

    def start(self, kind: str, args: list[str]) -> subprocess.Popen[bytes]:
        """Start one process of the stack in a session of its own, logging to `logs`."""
        handle = (self.logs / f"{kind}.log").open("ab")
        self._handles.append(handle)
        # argv lists built from this venv's executables and our own paths, no shell.
        process = subprocess.Popen(
            args, cwd=REPO_ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.processes[kind] = process
        return process

    def start_daemon(self) -> subprocess.Popen[bytes]:
        """(Re)start the daemon on deploy/workspace.yaml."""
        workspace = str(DEPLOY / "workspace.yaml")
        return self.start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", workspace])

    def kill(self, kind: str) -> None:
        """`kill -9` one process of the stack (not its children) and reap it."""
        process = self.processes[kind]
        process.send_signal(signal.SIGKILL)
        process.wait(STOP_DEADLINE_SECONDS)

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One GraphQL request; raises on transport or GraphQL errors."""
        response = httpx.post(
            self.graphql_url, json={"query": query, "variables": variables or {}}, timeout=60
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def launch_run(
        self, tags: Mapping[str, str], run_config: Mapping[str, Any], job: str = "stripe_sync"
    ) -> str:
        """Submit one run of `job` to the run queue; returns its run id."""
        params = {
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": REPOSITORY,
                "jobName": job,
            },
            "runConfigData": dict(run_config),
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
        }
        result = self.graphql(LAUNCH_MUTATION, {"params": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise RuntimeError(f"launchRun: {result['__typename']}: {result.get('message')}")
        return result["run"]["runId"]

    def _location_loaded(self) -> bool | None:
        for kind, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{kind} exited early; see {self.logs / kind}.log")
        try:
            data = self.graphql(LOCATION_QUERY)
        except httpx.TransportError:
            return None
        (entry,) = data["workspaceOrError"]["locationEntries"]
        if entry["locationOrLoadError"]["__typename"] == "RepositoryLocation":
            return True
        if entry["loadStatus"] == "LOADED":
            self.graphql(RELOAD_MUTATION)  # came up before the code server: load again
        return None

    def stop(self) -> None:
        """SIGTERM every process group still running, then SIGKILL what remains."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(STOP_DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(STOP_DEADLINE_SECONDS)
        for handle in self._handles:
            handle.close()


@contextmanager
def running_stack(env: Mapping[str, str], logs: Path) -> Iterator[Stack]:
    """Code server, webserver and daemon, each its own process, until the block ends."""
    grpc_port, web_port = free_port(), free_port()
    stack_env = {
        **env,
        "PYTHONPATH": str(REPO_ROOT),
        "PAYSYNC_CODE_SERVER_HOST": "127.0.0.1",
        "PAYSYNC_CODE_SERVER_PORT": str(grpc_port),
    }
    stack = Stack(stack_env, logs, f"http://127.0.0.1:{web_port}/graphql")
    try:
        stack.start(
            "code-server",
            [str(BIN / "dagster"), "code-server", "start", "-m", "paysync_dagster.definitions",
             "--location-name", LOCATION, "-h", "127.0.0.1", "-p", str(grpc_port)],
        )  # fmt: skip
        stack.start(
            "webserver",
            [str(BIN / "dagster-webserver"), "-w", str(DEPLOY / "workspace.yaml"),
             "-h", "127.0.0.1", "-p", str(web_port)],
        )  # fmt: skip
        stack.start_daemon()
        wait_for(stack._location_loaded, "code location loaded", STARTUP_DEADLINE_SECONDS)
        yield stack
    finally:
        stack.stop()


def _read_proc(pid: int, name: str) -> str | None:
    try:
        return (Path("/proc") / str(pid) / name).read_text()
    except OSError:
        return None


def _peak_rss_mib(pid: int) -> float | None:
    status = _read_proc(pid, "status")
    if status is None:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def _children(parent: int) -> list[int]:
    """Direct children of `parent`, whichever of its threads started them (Linux /proc: the
    gRPC server starts run workers from its request threads, not its main thread)."""
    try:
        threads = [task.name for task in (Path("/proc") / str(parent) / "task").iterdir()]
    except OSError:
        return []
    children: list[int] = []
    for thread in threads:
        listed = _read_proc(parent, f"task/{thread}/children")
        children.extend(int(pid) for pid in (listed or "").split())
    return children


def _kind(pid: int, roots: Mapping[int, str]) -> str | None:
    """What a process of the stack is: a root's kind, the code server's gRPC child, a run
    worker (a child of the gRPC server), or None for helpers (multiprocessing trackers)."""
    if pid in roots:
        return roots[pid]
    cmdline = (_read_proc(pid, "cmdline") or "").replace("\0", " ")
    if "api grpc" in cmdline:
        return "code server (gRPC child)"
    if "resource_tracker" in cmdline or "semaphore_tracker" in cmdline:
        return None
    return "run worker"


class MemorySampler:
    """Samples every stack process's peak RSS twice a second, on a thread, while it runs."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self.peaks: dict[int, tuple[str, float]] = {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopped.set()
        self._thread.join(STOP_DEADLINE_SECONDS)

    def _run(self) -> None:
        while not self._stopped.wait(0.5):
            roots = {p.pid: kind for kind, p in self._stack.processes.items() if p.poll() is None}
            pending = list(roots)
            while pending:
                pid = pending.pop()
                pending.extend(_children(pid))
                kind = _kind(pid, roots)
                peak = _peak_rss_mib(pid)
                if kind is not None and peak is not None:
                    previous = self.peaks.get(pid, (kind, 0.0))[1]
                    self.peaks[pid] = (kind, max(previous, peak))

    def by_kind(self) -> dict[str, dict[str, float]]:
        """Per process kind: how many processes were seen, and the max and mean of their peaks."""
        kinds: dict[str, list[float]] = {}
        for kind, peak in self.peaks.values():
            kinds.setdefault(kind, []).append(peak)
        return {
            kind: {
                "processes": len(peaks),
                "max_peak_rss_mib": round(max(peaks), 1),
                "mean_peak_rss_mib": round(sum(peaks) / len(peaks), 1),
            }
            for kind, peaks in sorted(kinds.items())
        }


SENSOR_QUERY = """
query Sensor($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { jobOriginId sensorState { selectorId status } }
  }
}
"""
STOP_SENSOR_MUTATION = """
mutation Stop($origin: String!, $selector: String!) {
  stopSensor(jobOriginId: $origin, jobSelectorId: $selector) {
    __typename
    ... on StopSensorMutationResult { instigationState { status } }
  }
}
"""


def stop_sensor(stack: Stack, name: str) -> None:
    """Stop a sensor through the webserver, as the UI's toggle does."""
    selector = {
        "repositoryLocationName": LOCATION,
        "repositoryName": REPOSITORY,
        "sensorName": name,
    }
    sensor = stack.graphql(SENSOR_QUERY, {"selector": selector})["sensorOrError"]
    if sensor["__typename"] != "Sensor":
        raise RuntimeError(f"sensor {name}: {sensor['__typename']}")
    variables = {"origin": sensor["jobOriginId"], "selector": sensor["sensorState"]["selectorId"]}
    result = stack.graphql(STOP_SENSOR_MUTATION, variables)["stopSensor"]
    if result["__typename"] != "StopSensorMutationResult":
        raise RuntimeError(f"stopSensor {name}: {result['__typename']}")
