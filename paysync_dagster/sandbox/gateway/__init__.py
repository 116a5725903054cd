"""A local tokenize -> checkout -> pay gateway in Datatrans-like shapes, for the simulator.

`running_sandbox(GatewaySandboxSettings(...))` yields a base URL; the three steps are at
`/v1/tokenize`, `/v1/checkouts` and `/v1/payments` under it.
"""

from .app import CARD_OUTCOMES, build_app
from .process import running_sandbox, serve
from .settings import GatewaySandboxSettings

__all__ = ["CARD_OUTCOMES", "GatewaySandboxSettings", "build_app", "running_sandbox", "serve"]
