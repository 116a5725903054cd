"""Running a PayFit sandbox: blocking in the foreground, in a thread, or in a child process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from paysync_dagster.serving import (
    serve_forever,
    server_in_child,
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


def _child_arguments(settings: PayfitSandboxSettings) -> list[str]:
    command = [
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
        arguments = _child_arguments(settings)
        with server_in_child("paysync_dagster.sandbox.payfit", arguments, "payfit sandbox") as url:
            yield url
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
