"""`paysync serve`: the HTTP service (webhooks, control API, M-Pesa settings) under uvicorn."""

from .app import BackgroundService, ServerContext, build_app

__all__ = ["BackgroundService", "ServerContext", "build_app"]
