"""Running a sandbox: blocking in the foreground, in a background thread, or in a child process."""

import os
import selectors
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from paysync_dagster.serving import (
    STARTUP_TIMEOUT_SECONDS,
    STOP_TIMEOUT_SECONDS,
    serve_forever,
    server_in_thread,
    uvicorn_server,
    wait_until,
)

from .app import build_app
from .settings import StripeSandboxSettings

# The directory holding `paysync_dagster`, so a child process imports this same code.
_SOURCE_ROOT = Path(__file__).resolve().parents[3]


def _server(settings: StripeSandboxSettings) -> uvicorn.Server:
    return uvicorn_server(build_app(settings), lifespan="off")


def serve(settings: StripeSandboxSettings, host: str = "127.0.0.1", port: int = 12111) -> None:
    """Serve the sandbox until interrupted; prints `listening on <url>` once bound (port 0 ok)."""
    serve_forever(_server(settings), host, port)


@contextmanager
def _in_thread(settings: StripeSandboxSettings, port: int = 0) -> Iterator[str]:
    with server_in_thread(_server(settings), "stripe sandbox", port=port) as base_url:
        yield base_url


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
    for url in settings.webhook_urls:
        command += ["--webhook-url", url]
    if settings.webhook_secret is not None:
        command += [
            "--webhook-secret",
            settings.webhook_secret,
            "--webhook-duplicate-rate",
            repr(settings.webhook_duplicate_rate),
            "--webhook-reorder-window",
            str(settings.webhook_reorder_window),
        ]
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
        wait_until(
            lambda: _answers(base_url, timeout=5.0 + settings.latency_ms / 1000),
            lambda: None if child.poll() is None else f"exit code {child.returncode}",
            "stripe sandbox process",
        )
        yield base_url
    finally:
        child.terminate()
        try:
            child.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


@contextmanager
def running_sandbox(
    settings: StripeSandboxSettings, *, subprocess: bool = False, port: int = 0
) -> Iterator[str]:
    """Run a sandbox for the duration of the block; yields its base URL.

    By default the server runs in a thread of this process (cheap, for tests, the demo and
    `paysync dev`), on `port` (0: a free one); `subprocess=True` runs it on a free port in a
    child process with its own interpreter and core, which is what benchmarks want.
    """
    if subprocess:
        with _in_child(settings) as base_url:
            yield base_url
    else:
        with _in_thread(settings, port) as base_url:
            yield base_url
