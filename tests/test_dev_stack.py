"""`paysync dev` as a user runs it: a real child process bringing up the sandbox of a local
workspace on its recorded port, `paysync serve` and `dagster dev`, all stopped by Ctrl-C or by a
SIGTERM to the process group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
import stripe

from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.sandbox.local import SandboxRecord, record_sandbox
from paysync_dagster.store.database import create_engine, upgrade
from paysync_dagster.store.vault import KeyRing, Vault
from tests.support import fake_api_key, wait_until

pytestmark = pytest.mark.slow  # starts paysync dev: sandbox, paysync serve and dagster dev

# Generous: on a loaded 2-core machine `dagster dev` has taken over two minutes to load.
DEADLINE_SECONDS = 300


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).is_success
    except httpx.TransportError:
        return False


def _descendants(pid: int) -> set[int]:
    """Every live process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


# How the stack is stopped: Ctrl-C in its terminal; or, started in the background of a
# script (which ignores SIGINT for it, here through `trap "" INT`), SIGTERM to its whole
# process group, as `kill -- -PGID` or a supervisor sends it.
STOPS = {
    "ctrl-c": ([], lambda child: child.send_signal(signal.SIGINT)),
    "sigterm-to-a-background-group": (
        ["sh", "-c", 'trap "" INT; exec "$0" "$@"'],
        lambda child: os.killpg(child.pid, signal.SIGTERM),
    ),
}


@pytest.mark.parametrize("stop", STOPS)
def test_dev_brings_the_stack_up_and_stopping_it_stops_all_of_it(tmp_path, stop):
    launcher, send_stop = STOPS[stop]
    home = tmp_path / "home"
    keyring = KeyRing.generate("dev1")
    env = {
        **os.environ,
        "PAYSYNC_HOME": str(home),
        "PAYSYNC_ENCRYPTION_KEYS": keyring.to_spec(),
        "DAGSTER_HOME": str(tmp_path / "dagster"),
    }
    env.pop("PAYSYNC_DATABASE_URL", None)
    home.mkdir()
    engine = create_engine(f"sqlite:///{home / 'paysync.db'}")
    upgrade(engine)
    api_key, sandbox_port = fake_api_key(), _free_port()
    add_workspace(
        engine, Vault(keyring), workspace_id="local", provider="stripe", api_key=api_key,
        api_base=f"http://127.0.0.1:{sandbox_port}",
    )  # fmt: skip
    engine.dispose()
    record_sandbox(home, "local", SandboxRecord("stripe", size=7, seed=3))
    serve_port, dagster_port = _free_port(), _free_port()

    child = subprocess.Popen(
        [*launcher, sys.executable, "-m", "paysync_dagster.cli", "dev",
         "--serve-port", str(serve_port), "--dagster-port", str(dagster_port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    output: list[str] = []
    # Read as the user would, line by line: Ctrl-C before the stack says it is up is not the
    # flow under test (the URLs can answer a moment before paysync dev prints it).
    reader = threading.Thread(target=_read_lines, args=(child, output), daemon=True)
    reader.start()

    def stack_is_up() -> bool:
        assert child.poll() is None, f"paysync dev exited:\n{''.join(output)[-3000:]}"
        return any("the local stack is up" in line for line in output)

    try:
        wait_until(stack_is_up, "paysync dev says the local stack is up", DEADLINE_SECONDS)
        assert _answers(f"http://127.0.0.1:{dagster_port}/server_info")
        wait_until(
            lambda: _answers(f"http://127.0.0.1:{serve_port}/readyz"),
            "paysync serve",
            DEADLINE_SECONDS,
        )
        client = stripe.StripeClient(
            api_key, base_addresses={"api": f"http://127.0.0.1:{sandbox_port}"}
        )
        assert len(client.v1.customers.list(params={"limit": 100}).data) == 7
        assert child.poll() is None
        started = _descendants(child.pid)
        assert len(started) >= 2  # paysync serve and dagster dev, at least

        send_stop(child)
        child.wait(DEADLINE_SECONDS)
        wait_until(
            lambda: not (_descendants(child.pid) | started) & _live_pids(), "children exit", 30
        )
        assert not _answers(f"http://127.0.0.1:{serve_port}/healthz")
    finally:
        if child.poll() is None:
            child.kill()
        reader.join(DEADLINE_SECONDS)
    printed = "".join(output)
    assert "stripe sandbox local" in printed
    if stop == "ctrl-c":
        assert "Traceback" not in printed
    else:
        # Every process of the group gets the signal at once, so Dagster's daemon may log a
        # traceback for a gRPC call to a code server that has just stopped; paysync's own
        # processes raise nothing.
        assert f"{os.sep}paysync_dagster{os.sep}" not in printed


def _read_lines(child: subprocess.Popen[str], lines: list[str]) -> None:
    for line in child.stdout or ():
        lines.append(line)


def _live_pids() -> set[int]:
    return {int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()}
