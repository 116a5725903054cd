"""Configuration of one gateway sandbox server."""

from dataclasses import dataclass, field

DEFAULT_FORM_ID = "250729103005965673"
DEFAULT_MERCHANT_ID = "1110020135"


@dataclass(frozen=True)
class GatewaySandboxSettings:
    """What the gateway accepts and how badly it behaves.

    `latency_ms` is added to every step; `fail_rate` is the fraction of requests answered
    with a 503; `api_key`, when set, must come as `Authorization: Bearer`. Only `form_id`
    and `merchant_id` are accepted (the seed's defaults unless given).
    """

    latency_ms: int = 0
    fail_rate: float = 0.0
    seed: int = 0
    form_id: str = DEFAULT_FORM_ID
    merchant_id: str = DEFAULT_MERCHANT_ID
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.latency_ms <= 600_000:
            raise ValueError("latency_ms must be between 0 and 600000")
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError("fail_rate must be between 0 and 1")
        if not self.form_id or not self.merchant_id:
            raise ValueError("form_id and merchant_id must not be empty")
