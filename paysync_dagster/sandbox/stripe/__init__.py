"""A local Stripe-compatible API server with deterministic synthetic data.

The official `stripe` SDK works against it with
`StripeClient(api_key, base_addresses={"api": base_url})`.
"""

from .app import build_app
from .dataset import StripeDataset
from .process import running_sandbox, serve
from .settings import StripeSandboxSettings

__all__ = ["StripeDataset", "StripeSandboxSettings", "build_app", "running_sandbox", "serve"]
