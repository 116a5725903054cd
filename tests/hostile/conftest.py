"""Hostile-input tests share the real-server fixture of the server tests."""

from tests.server.conftest import paysync_server

__all__ = ["paysync_server"]
