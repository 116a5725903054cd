"""Running a PayFit sandbox: blocking in the foreground, in a thread, or in a child process."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from paysync_dagster.serving import (
    STARTUP_TIMEOUT_SECONDS,
    STOP_TIMEOUT_SECONDS,
    serve_forever,
    server_in_thread,
    uvicorn_server,
)

from .app import CONTROL_PREFIX, build_app
from .settings import PayfitSandboxSettings

DEFAULT_PORT = 12112


def _server(settings: PayfitSandboxSettings) -> uvicorn.Server:
    return uvicorn_server(build_app(settings), lifespan="off")


def serve(
    settings: PayfitSandboxSettings, host: str = "127.0.0.1", port: int = DEFAULT_PORT
) -> None:
    """Serve the sandbox until interrupted; prints `listening on <url>` once bound (port 0 ok)."""
    serve_forever(_server(settings), host, port)


# The directory holding `paysync_dagster`, so a child process imports this same code.
_SOURCE_ROOT = Path(__file__).resolve().parents[3]


def _child_command(settings: PayfitSandboxSettings) -> list[str]:
    command = [
        sys.executable, "-m", "paysync_dagster.sandbox.payfit", "--port", "0",
        "--collaborators", str(settings.collaborators), "--seed", str(settings.seed),
        "--api-key", settings.api_key, "--company-id", settings.company_id,
        "--rate-limit", repr(settings.rate_limit or 0), "--fail-rate", repr(settings.fail_rate),
        "--latency-ms", str(settings.latency_ms), "--scopes", ",".join(settings.scopes),
    ]  # fmt: skip
    if settings.record_requests:
        command.append("--record-requests")
    if not settings.send_retry_after:
        command.append("--no-retry-after")
    return command


@contextmanager
def _in_child(settings: PayfitSandboxSettings) -> Iterator[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_SOURCE_ROOT), env.get("PYTHONPATH")]))
    # An argv list without a shell, built from sys.executable and validated settings.
    child = subprocess.Popen(  # noqa: S603
        _child_command(settings), stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(child.stdout, selectors.EVENT_READ)
            if not selector.select(STARTUP_TIMEOUT_SECONDS):
                raise TimeoutError(
                    f"payfit sandbox printed nothing within {STARTUP_TIMEOUT_SECONDS:.0f}s"
                )
        line = child.stdout.readline()
        if not line.startswith("listening on http://"):
            raise RuntimeError(f"payfit sandbox failed to start (exit code {child.poll()})")
        # The socket is bound and listening before the line is printed: connections made
        # from now on wait in its backlog until uvicorn accepts them.
        yield line.removeprefix("listening on ").strip()
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
    settings: PayfitSandboxSettings, *, subprocess: bool = False, port: int = 0
) -> Iterator[str]:
    """Run a sandbox on 127.0.0.1 for the block (in a thread on `port`, 0: a free one; or in
    a child process on a free port); yields its base URL.

    The URL serves both PayFit bases: use it as the client's `api_base` and `oauth_base`.
    By default the server runs in a thread of this process (cheap, for tests and the demo);
    `subprocess=True` runs it in a child process with its own interpreter and core, which is
    what benchmarks want.
    """
    if subprocess:
        with _in_child(settings) as base_url:
            yield base_url
        return
    with server_in_thread(_server(settings), "payfit sandbox", port=port) as base_url:
        yield base_url


def requests_received(base_url: str) -> list[dict[str, Any]]:
    """The sandbox's request log (method, path, query, status), oldest first.

    Needs `record_requests=True`; control requests like this one are never logged.
    """
    response = httpx.get(f"{base_url}{CONTROL_PREFIX}requests", timeout=10)
    response.raise_for_status()
    body = response.json()
    if not body["recording"]:
        raise RuntimeError("the sandbox was started without record_requests=True")
    return body["requests"]


def clear_requests(base_url: str) -> None:
    """Empty the sandbox's request log."""
    httpx.delete(f"{base_url}{CONTROL_PREFIX}requests", timeout=10).raise_for_status()


def expire_page_tokens(base_url: str) -> None:
    """Make every `nextPageToken` the sandbox issued so far stale (400 when used)."""
    httpx.post(f"{base_url}{CONTROL_PREFIX}expire-page-tokens", timeout=10).raise_for_status()
