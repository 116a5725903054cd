"""Running a sandbox: blocking in the foreground, in a background thread, or in a child process."""

import os
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from .app import build_app
from .settings import StripeSandboxSettings

STARTUP_TIMEOUT_SECONDS = 30.0
_POLL_INTERVAL_SECONDS = 0.01
_STOP_TIMEOUT_SECONDS = 10.0
# The directory holding `paysync_dagster`, so a child process imports this same code.
_SOURCE_ROOT = Path(__file__).resolve().parents[3]


def _listen(host: str, port: int) -> socket.socket:
    """Bind and listen before uvicorn starts, so port 0 resolves to a real port we can report
    and early connections wait in the backlog instead of being refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


def _server(settings: StripeSandboxSettings) -> uvicorn.Server:
    config = uvicorn.Config(
        build_app(settings),
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
    )
    return uvicorn.Server(config)


def _wait_until(ready: Callable[[], bool], failed: Callable[[], str | None], what: str) -> None:
    """Poll `ready` until it holds; raise when `failed` gives a reason or time runs out."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not ready():
        reason = failed()
        if reason is not None:
            raise RuntimeError(f"{what} failed to start: {reason}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not start within {STARTUP_TIMEOUT_SECONDS:.0f}s")
        time.sleep(_POLL_INTERVAL_SECONDS)


def serve(settings: StripeSandboxSettings, host: str = "127.0.0.1", port: int = 12111) -> None:
    """Serve the sandbox until interrupted; prints `listening on <url>` once bound (port 0 ok)."""
    sock = _listen(host, port)
    print(f"listening on http://{host}:{sock.getsockname()[1]}", flush=True)
    try:
        _server(settings).run(sockets=[sock])
    finally:
        sock.close()


@contextmanager
def _in_thread(settings: StripeSandboxSettings) -> Iterator[str]:
    sock = _listen("127.0.0.1", 0)
    server = _server(settings)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="stripe-sandbox", daemon=True
    )
    thread.start()
    try:
        _wait_until(
            lambda: server.started,
            lambda: None if thread.is_alive() else "server thread exited",
            "stripe sandbox",
        )
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(_STOP_TIMEOUT_SECONDS)
        sock.close()


def _child_command(settings: StripeSandboxSettings) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "paysync_dagster.sandbox.stripe",
        "--port",
        "0",
        "--customers",
        str(settings.customers),
        "--seed",
        str(settings.seed),
        "--api-key",
        settings.api_key,
        "--fail-rate",
        repr(settings.fail_rate),
        "--latency-ms",
        str(settings.latency_ms),
    ]
    if settings.rate_limit is not None:
        command += ["--rate-limit", repr(settings.rate_limit)]
    return command


def _first_line(child: subprocess.Popen[str]) -> str:
    """The child's first stdout line, waiting at most the startup timeout."""
    assert child.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        if not selector.select(STARTUP_TIMEOUT_SECONDS):
            raise TimeoutError(
                f"stripe sandbox printed nothing within {STARTUP_TIMEOUT_SECONDS:.0f}s"
            )
    line = child.stdout.readline()
    if not line.startswith("listening on http://"):
        raise RuntimeError(f"stripe sandbox failed to start (exit code {child.poll()})")
    return line.removeprefix("listening on ").strip()


def _answers(base_url: str, timeout: float) -> bool:
    try:
        httpx.get(f"{base_url}/v1/customers", timeout=timeout)
    except httpx.TransportError:
        return False
    return True


@contextmanager
def _in_child(settings: StripeSandboxSettings) -> Iterator[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_SOURCE_ROOT), env.get("PYTHONPATH")]))
    # An argv list without a shell, built from sys.executable and validated settings.
    child = subprocess.Popen(  # noqa: S603
        _child_command(settings), stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        base_url = _first_line(child)
        _wait_until(
            lambda: _answers(base_url, timeout=5.0 + settings.latency_ms / 1000),
            lambda: None if child.poll() is None else f"exit code {child.returncode}",
            "stripe sandbox process",
        )
        yield base_url
    finally:
        child.terminate()
        try:
            child.wait(_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


@contextmanager
def running_sandbox(settings: StripeSandboxSettings, *, subprocess: bool = False) -> Iterator[str]:
    """Run a sandbox on a free port for the duration of the block; yields its base URL.

    By default the server runs in a thread of this process (cheap, for tests and the demo);
    `subprocess=True` runs it in a child process so it has its own interpreter and core,
    which is what benchmarks want.
    """
    runner = _in_child if subprocess else _in_thread
    with runner(settings) as base_url:
        yield base_url
