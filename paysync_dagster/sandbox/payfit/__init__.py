"""A local PayFit partner API (and `/introspect`) with deterministic French payroll data.

`running_sandbox(PayfitSandboxSettings(...))` yields a base URL to give a `PayfitApi` as both
`api_base` and `oauth_base`.
"""

from .app import build_app
from .dataset import PayfitDataset
from .process import (
    clear_requests,
    expire_page_tokens,
    requests_received,
    running_sandbox,
    serve,
)
from .settings import ALL_SCOPES, PayfitSandboxSettings

__all__ = [
    "ALL_SCOPES",
    "PayfitDataset",
    "PayfitSandboxSettings",
    "build_app",
    "clear_requests",
    "expire_page_tokens",
    "requests_received",
    "running_sandbox",
    "serve",
]
