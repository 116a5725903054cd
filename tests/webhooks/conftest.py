"""Webhook tests share the real-server fixture of the server tests."""

import socket

import pytest

from tests.server.conftest import paysync_server

__all__ = ["paysync_server"]


@pytest.fixture
def unreachable_base_url() -> str:
    """A base URL on a port nothing listens on (bound, then released): a provider outage."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
