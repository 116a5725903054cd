"""Running a sandbox: blocking in the foreground, in a background thread, or in a child process."""

from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from paysync_dagster.serving import (
    serve_forever,
    server_in_child,
    server_in_thread,
    uvicorn_server,
)

from .app import build_app
from .settings import StripeSandboxSettings


def _server(settings: StripeSandboxSettings) -> uvicorn.Server:
    return uvicorn_server(build_app(settings), lifespan="off")


def serve(settings: StripeSandboxSettings, host: str = "127.0.0.1", port: int = 12111) -> None:
    """Serve the sandbox until interrupted; prints `listening on <url>` once bound (port 0 ok)."""
    serve_forever(_server(settings), host, port)


@contextmanager
def _in_thread(settings: StripeSandboxSettings, port: int = 0) -> Iterator[str]:
    with server_in_thread(_server(settings), "stripe sandbox", port=port) as base_url:
        yield base_url


def _child_arguments(settings: StripeSandboxSettings) -> list[str]:
    command = [
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
        arguments = _child_arguments(settings)
        with server_in_child("paysync_dagster.sandbox.stripe", arguments, "stripe sandbox") as url:
            yield url
    else:
        with _in_thread(settings, port) as base_url:
            yield base_url
