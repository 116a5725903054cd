"""`paysync serve`: the HTTP service (webhooks, M-Pesa settings, health) under uvicorn."""

from .app import BackgroundService, ServerContext, build_app

__all__ = ["BackgroundService", "ServerContext", "build_app"]
