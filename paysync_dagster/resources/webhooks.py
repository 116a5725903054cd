"""How the webhook processor batches and retries when Dagster runs it (backlog and replay)."""

import dagster as dg
from pydantic import Field

from paysync_dagster.webhooks.processor import ProcessorOptions


class WebhookProcessingResource(dg.ConfigurableResource):
    """Retry policy and limits of the webhook processor and the inbox checks.

    The same defaults as `paysync serve`, so an event dead-letters after the same number of
    attempts whichever of them processed it.
    """

    batch_size: int = Field(default=200, ge=1, le=5000, description="Events per transaction.")
    max_attempts: int = Field(default=8, ge=1, le=100, description="Attempts before dead letter.")
    backoff_base_seconds: float = Field(default=2.0, ge=0)
    lease_seconds: float = Field(default=30.0, gt=0)
    max_pending_seconds: int = Field(
        default=60, ge=1, description="Pending longer than this fails the inbox check."
    )

    def options(self) -> ProcessorOptions:
        """The engine's view of these settings."""
        return ProcessorOptions(
            batch_size=self.batch_size,
            max_attempts=self.max_attempts,
            backoff_base_seconds=self.backoff_base_seconds,
            lease_seconds=self.lease_seconds,
        )
