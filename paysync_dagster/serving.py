"""Running a Starlette app under uvicorn: in the foreground or in a background thread.

Shared by `paysync serve` and the provider sandboxes. Binding the socket before uvicorn starts
lets port 0 resolve to a real port we can report, and early connections wait in the backlog
instead of being refused.
"""

from __future__ import annotations

import errno
import gc
import os
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
_POLL_INTERVAL_SECONDS = 0.01


class ListenError(OSError):
    """The socket could not be bound; the message names the address and why."""


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket; port 0 picks a free port.

    Raises `ListenError` when the address cannot be bound (a busy port, an unknown host).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise ListenError(
                f"port {port} on {host} is already in use; choose another with --port"
            ) from None
        reason = error.strerror or type(error).__name__
        raise ListenError(f"cannot listen on {host}:{port}: {reason}") from None
    return sock


def uvicorn_server(app: Any, *, lifespan: str = "on", log_level: str = "warning") -> uvicorn.Server:
    """A quiet uvicorn server for `app` (no access log, no server header)."""
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan=lifespan,
        server_header=False,
    )
    return uvicorn.Server(config)


def wait_until(ready: Callable[[], bool], failed: Callable[[], str | None], what: str) -> None:
    """Poll `ready` until it holds; raise when `failed` gives a reason or time runs out."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not ready():
        reason = failed()
        if reason is not None:
            raise RuntimeError(f"{what} failed to start: {reason}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not start within {STARTUP_TIMEOUT_SECONDS:.0f}s")
        time.sleep(_POLL_INTERVAL_SECONDS)


def serve_forever(server: uvicorn.Server, host: str, port: int) -> None:
    """Serve until interrupted; prints `listening on <url>` once bound (port 0 ok).

    What start-up built (the app and the modules it imported, Dagster's among them: some
    260,000 objects) lives as long as the process, so it is moved out of the collector's
    sight: a full collection over it paused every request for up to 300 ms, and the webhook
    acknowledgement's p99 with it.
    """
    gc.collect()
    gc.freeze()
    sock = listen(host, port)
    print(f"listening on http://{host}:{sock.getsockname()[1]}", flush=True)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


@contextmanager
def server_in_thread(server: uvicorn.Server, name: str, *, port: int = 0) -> Iterator[str]:
    """Run `server` on 127.0.0.1:`port` (0: a free one) in a daemon thread; yields its URL."""
    sock = listen("127.0.0.1", port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    try:
        wait_until(
            lambda: server.started,
            lambda: None if thread.is_alive() else "server thread exited",
            name,
        )
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT_SECONDS)
        sock.close()


# The directory holding `paysync_dagster`, so a child process imports this same code.
_SOURCE_ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def server_in_child(module: str, arguments: Sequence[str], what: str) -> Iterator[str]:
    """Run `python -m <module> --port 0 <arguments>` (a server printing `listening on
    <url>` once bound, see `serve_forever`) for the block; yields its base URL.

    The socket is bound and listening before the line is printed, so connections made from
    then on wait in its backlog until the server accepts them.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_SOURCE_ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", module, "--port", "0", *arguments]
    # An argv list without a shell, built from sys.executable and validated settings.
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)  # noqa: S603
    try:
        assert child.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(child.stdout, selectors.EVENT_READ)
            if not selector.select(STARTUP_TIMEOUT_SECONDS):
                raise TimeoutError(f"{what} printed nothing within {STARTUP_TIMEOUT_SECONDS:.0f}s")
        line = child.stdout.readline()
        if not line.startswith("listening on http://"):
            raise RuntimeError(f"{what} failed to start (exit code {child.poll()})")
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
