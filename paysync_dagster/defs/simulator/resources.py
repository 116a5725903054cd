"""How simulator runs time out and when their checks fail, bound as the `simulator` resource."""

import dagster as dg
from pydantic import Field

from paysync_dagster.simulator.settings import DEFAULT_TIMEOUT_SECONDS, Thresholds

_DEFAULTS = Thresholds()


class SimulatorResource(dg.ConfigurableResource):
    """Thresholds of the `simulator/payments` checks and the per-step timeout."""

    min_success_rate: float = Field(default=_DEFAULTS.min_success_rate, ge=0, le=1)
    degraded_ms: float = Field(default=_DEFAULTS.degraded_ms, gt=0)
    max_ms: float = Field(default=_DEFAULTS.max_ms, gt=0)
    freshness_seconds: float = Field(default=_DEFAULTS.freshness_seconds, gt=0)
    timeout_seconds: float = Field(default=DEFAULT_TIMEOUT_SECONDS, gt=0, le=120)

    def thresholds(self) -> Thresholds:
        """The engine's view of these settings."""
        return Thresholds(
            min_success_rate=self.min_success_rate,
            degraded_ms=self.degraded_ms,
            max_ms=self.max_ms,
            freshness_seconds=self.freshness_seconds,
        )


@dg.definitions
def simulator_resources() -> dg.Definitions:
    """The `simulator` resource with its defaults."""
    return dg.Definitions(resources={"simulator": SimulatorResource()})
