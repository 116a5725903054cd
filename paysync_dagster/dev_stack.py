"""`paysync dev`: the whole local stack in one command, stopped together with Ctrl-C.

It starts, in order:
1. the sandboxes of the workspaces whose API base is a local port, on those ports, with the
   datasets `paysync demo` recorded (a default dataset otherwise) and each workspace's own key;
   when the workspace has a webhook secret, the sandbox delivers signed webhooks to (2);
2. `paysync serve` (webhooks, APIs and their workers);
3. `dagster dev` (the webserver and the daemon, so sensors and schedules tick) on the same
   `DAGSTER_HOME` the CLI and the demo use, loading the `paysync_dagster` code location.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import httpx
import sqlalchemy as sa
from rich.console import Console
from rich.markup import escape

from paysync_dagster.dagster_instance import dagster_home
from paysync_dagster.dagster_names import CODE_LOCATION
from paysync_dagster.providers.configure import client_credentials
from paysync_dagster.sandbox.local import (
    SANDBOXES,
    SIZE_NOUNS,
    SandboxRecord,
    local_port,
    recorded_sandboxes,
)
from paysync_dagster.serving import STOP_TIMEOUT_SECONDS
from paysync_dagster.settings import DAGSTER_URL_ENV, Settings
from paysync_dagster.store.database import create_engine, upgrade
from paysync_dagster.store.key_guard import open_vault
from paysync_dagster.store.vault import Vault
from paysync_dagster.store.workspaces import list_workspaces, load_credentials

# How many objects a local workspace's sandbox serves when `paysync demo` recorded nothing.
DEFAULT_SANDBOX_SIZE = 1000
# Loading the code location dominates `dagster dev`'s start: about 10 s on 2 cores.
STARTUP_SECONDS = 120.0
_POLL_SECONDS = 0.2
WORKSPACE_YAML = f"""# Written by `paysync dev`: the paysync code location, by its contracted name.
load_from:
  - python_module:
      module_name: paysync_dagster.definitions
      location_name: {CODE_LOCATION}
"""


class DevStackError(RuntimeError):
    """A part of the local stack could not start; the message says which and why."""


@dataclass(frozen=True)
class DevPorts:
    """Where the stack listens."""

    host: str = "127.0.0.1"
    serve: int = 8000
    dagster: int = 3000


@dataclass(frozen=True)
class SandboxPlan:
    """One sandbox to start: the workspaces it serves, its port, what it serves, and how."""

    workspace_ids: tuple[str, ...]
    port: int
    record: SandboxRecord
    api_key: str = field(repr=False)
    delivers_webhooks: bool
    open: Callable[[], AbstractContextManager[str]] = field(repr=False)


def sandbox_plans(
    engine: sa.Engine, vault: Vault, home: Path, serve_url: str
) -> tuple[list[SandboxPlan], list[str]]:
    """The sandboxes the local workspaces point at, and notes on those that cannot start.

    Workspaces sharing a port share its sandbox, which accepts one key: a second workspace
    with another key on the same port is reported instead of started.
    """
    records = recorded_sandboxes(home)
    by_port: dict[int, SandboxPlan] = {}
    notes: list[str] = []
    for summary in list_workspaces(engine):
        port = local_port(summary.api_base)
        start = SANDBOXES.get(summary.provider)
        if port is None or start is None:
            continue
        stored = load_credentials(
            engine, vault, workspace_id=summary.workspace_id, provider=summary.provider
        )
        existing = by_port.get(port)
        if existing is not None:
            if existing.api_key == stored.api_key:
                by_port[port] = replace(
                    existing, workspace_ids=(*existing.workspace_ids, summary.workspace_id)
                )
            else:
                notes.append(
                    f"{summary.workspace_id}: port {port} is already the sandbox of"
                    f" {', '.join(existing.workspace_ids)} with another key; not started"
                )
            continue
        record = records.get(
            summary.workspace_id, SandboxRecord(summary.provider, DEFAULT_SANDBOX_SIZE, 0)
        )
        webhook_url = f"{serve_url}/webhooks/{summary.provider}/{summary.workspace_id}"
        by_port[port] = SandboxPlan(
            workspace_ids=(summary.workspace_id,),
            port=port,
            record=record,
            api_key=stored.api_key,
            delivers_webhooks=stored.webhook_secret is not None,
            open=partial(
                start,
                record,
                client_credentials(stored),
                port,
                stored.webhook_secret,
                webhook_url,
            ),
        )
    return sorted(by_port.values(), key=lambda plan: plan.port), notes


def _wait_for(url: str, child: subprocess.Popen[bytes], what: str) -> None:
    """Poll `url` until it answers 2xx; fail when `child` exits or time runs out."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise DevStackError(f"{what} exited with code {child.returncode} while starting")
        try:
            if httpx.get(url, timeout=2.0).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(_POLL_SECONDS)
    raise DevStackError(f"{what} did not answer at {url} within {STARTUP_SECONDS:.0f}s")


@contextmanager
def _child(command: list[str], env: dict[str, str], what: str) -> Iterator[subprocess.Popen]:
    """A child process, stopped (terminate, then kill) when the block ends."""
    # An argv list built from sys.executable and validated options; no shell.
    child = subprocess.Popen(command, env=env)  # noqa: S603
    try:
        yield child
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(STOP_TIMEOUT_SECONDS * 2)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _interrupt(_signum: int, _frame: object) -> None:
    # Once: a supervisor that signals the whole process group delivers it twice, and the
    # second must not cut the shutdown short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def run_dev_stack(settings: Settings, ports: DevPorts, console: Console) -> None:
    """Start the stack, print its URLs, and keep it up until Ctrl-C (or until a child exits);
    everything started here is stopped on the way out."""
    # A SIGTERM (a supervisor, `timeout`, `kill`) stops the stack as cleanly as Ctrl-C does,
    # instead of leaving its children running.
    signal.signal(signal.SIGTERM, _interrupt)
    # Started in the background of a script (`paysync dev &`), SIGINT comes ignored and the
    # children would inherit that: Dagster's code servers give SIGTERM SIGINT's handler, so
    # they would ignore both and outlive the stack. A handler is reset by exec; SIG_IGN is not.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    engine = create_engine(settings.database_url)
    upgrade(engine)
    vault = open_vault(engine, os.environ, home=settings.home)
    home = dagster_home(settings.home)
    (home / "workspace.yaml").write_text(WORKSPACE_YAML)
    serve_url = f"http://{ports.host}:{ports.serve}"
    dagster_url = f"http://{ports.host}:{ports.dagster}"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PAYSYNC_HOME": str(settings.home),
        "PAYSYNC_DATABASE_URL": settings.database_url,
        DAGSTER_URL_ENV: dagster_url,
    }
    plans, notes = sandbox_plans(engine, vault, settings.home, serve_url)
    engine.dispose()
    for note in notes:
        console.print(f"[yellow]note[/] {escape(note)}", markup=True)

    with ExitStack() as stack:
        lines = []
        for plan in plans:
            try:
                url = stack.enter_context(plan.open())
            except OSError as error:
                busy = (
                    f"port {plan.port} of {', '.join(plan.workspace_ids)} is busy"
                    f" ({error.strerror}); using whatever listens there"
                )
                console.print(f"[yellow]note[/] {escape(busy)}", markup=True)
                continue
            lines.append(
                f"  {plan.record.provider} sandbox {', '.join(plan.workspace_ids):<22} {url}"
                f" ({plan.record.size} {SIZE_NOUNS[plan.record.provider]}"
                + (", webhooks to paysync serve)" if plan.delivers_webhooks else ")")
            )
        python = sys.executable
        serve = stack.enter_context(
            _child(
                [python, "-m", "paysync_dagster.cli", "serve", "--host", ports.host,
                 "--port", str(ports.serve)],
                env, "paysync serve",
            )
        )  # fmt: skip
        dagster = stack.enter_context(
            _child(
                [python, "-m", "dagster", "dev", "-w", str(home / "workspace.yaml"),
                 "-h", ports.host, "-p", str(ports.dagster)],
                # `dagster dev` warns that `dg dev` supersedes it; `dg dev` needs the source
                # checkout, which an installed paysync does not have.
                {**env, "PYTHONWARNINGS": "ignore::FutureWarning"},
                "dagster dev",
            )
        )  # fmt: skip
        _wait_for(f"{serve_url}/healthz", serve, "paysync serve")
        _wait_for(f"{dagster_url}/server_info", dagster, "dagster dev")
        console.print("[bold]paysync dev[/]: the local stack is up", markup=True)
        console.print(f"  Dagster UI                     {dagster_url}")
        console.print(f"  paysync serve                  {serve_url}  (webhooks, APIs, /readyz)")
        for line in lines:
            console.print(line)
        console.print(f"  DAGSTER_HOME={home}")
        console.print("Press Ctrl-C to stop everything.", highlight=False)
        try:
            while serve.poll() is None and dagster.poll() is None:
                time.sleep(_POLL_SECONDS)
        except KeyboardInterrupt:
            console.print("stopping the local stack…")
            return
        stopped = "paysync serve" if serve.poll() is not None else "dagster dev"
        raise DevStackError(f"{stopped} exited; the rest of the stack was stopped")
