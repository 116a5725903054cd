"""`paysync serve`: the HTTP service (webhooks, M-Pesa settings, health) under uvicorn."""

from .app import build_app
from .context import BackgroundService, ServerContext

__all__ = ["BackgroundService", "ServerContext", "build_app"]
