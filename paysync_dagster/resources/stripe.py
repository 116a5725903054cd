"""Tunables for Stripe syncs, settable per deployment in the Dagster UI or run config."""

import dagster as dg
from pydantic import Field

from paysync_dagster.sync.stripe_sync import StripeSyncOptions


class StripeSyncResource(dg.ConfigurableResource):
    """How Stripe syncs page, retry and share the provider's rate limits.

    A workspace's own configured rate limit wins; otherwise the per-mode rate here; otherwise
    Stripe's documented 25 req/s (test) or 100 req/s (live).
    """

    batch_size: int = Field(default=500, ge=1, le=10_000, description="Objects per transaction.")
    max_retries: int = Field(default=8, ge=0, le=20)
    timeout_seconds: float = Field(default=30.0, gt=0)
    test_mode_requests_per_second: float | None = Field(default=None, gt=0)
    live_mode_requests_per_second: float | None = Field(default=None, gt=0)
    max_concurrent_workspaces: int = Field(default=8, ge=1, le=64)

    def options(self) -> StripeSyncOptions:
        """The engine's view of these settings."""
        return StripeSyncOptions(
            batch_size=self.batch_size,
            max_retries=self.max_retries,
            timeout_seconds=self.timeout_seconds,
            test_mode_requests_per_second=self.test_mode_requests_per_second,
            live_mode_requests_per_second=self.live_mode_requests_per_second,
            max_concurrent_workspaces=self.max_concurrent_workspaces,
        )
