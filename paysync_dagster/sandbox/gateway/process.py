"""Running a gateway sandbox: blocking in the foreground or in a background thread."""

from collections.abc import Iterator
from contextlib import contextmanager

from paysync_dagster.serving import serve_forever, server_in_thread, uvicorn_server

from .app import build_app
from .settings import GatewaySandboxSettings


def serve(settings: GatewaySandboxSettings, host: str = "127.0.0.1", port: int = 12113) -> None:
    """Serve the gateway until interrupted; prints `listening on <url>` once bound."""
    serve_forever(uvicorn_server(build_app(settings), lifespan="off"), host, port)


@contextmanager
def running_sandbox(settings: GatewaySandboxSettings, *, port: int = 0) -> Iterator[str]:
    """Run a gateway sandbox in a thread for the duration of the block; yields its base URL."""
    server = uvicorn_server(build_app(settings), lifespan="off")
    with server_in_thread(server, "gateway sandbox", port=port) as base_url:
        yield base_url
