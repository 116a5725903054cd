"""`paysync serve`: the HTTP service (webhooks, control API, M-Pesa settings) under uvicorn."""

from .app import build_app
from .context import BackgroundService, ServerContext

__all__ = ["BackgroundService", "ServerContext", "build_app"]
