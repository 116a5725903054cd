"""Configuration of one PayFit sandbox server."""

from dataclasses import dataclass, field

# Every scope the sandbox knows; a key is granted all of them unless `scopes` says otherwise.
ALL_SCOPES: tuple[str, ...] = (
    "collaborators:read",
    "collaborators:write",
    "contracts:read",
)


@dataclass(frozen=True)
class PayfitSandboxSettings:
    """What the sandbox serves and how badly it behaves.

    One company (`company_id`) of `collaborators` generated collaborators, readable with
    `api_key`. `rate_limit` is requests per second per key (None: unlimited; PayFit's read
    limit is 50); `fail_rate` is the fraction of requests answered with a 500; `latency_ms` is
    added to every response. `scopes` are those the key was granted: leaving one out makes
    its endpoints answer 403 naming it. `record_requests` keeps a log of every request (see
    `requests_received`), for tests that must prove what was or was not asked.
    """

    collaborators: int = 100
    seed: int = 0
    api_key: str = field(default="payfit-sandbox-key", repr=False)
    company_id: str = "sandbox-company"
    rate_limit: float | None = 50.0
    fail_rate: float = 0.0
    latency_ms: int = 0
    scopes: tuple[str, ...] = ALL_SCOPES
    record_requests: bool = False
    # PayFit documents only the X-RateLimit-*-Second headers on a 429; False sends just those.
    send_retry_after: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.collaborators <= 10_000_000:
            raise ValueError("collaborators must be between 0 and 10,000,000")
        if not self.api_key or any(char.isspace() for char in self.api_key):
            raise ValueError("api_key must be a non-empty string without whitespace")
        if (
            not self.company_id
            or not all(char.isalnum() or char in "-_" for char in self.company_id)
            or len(self.company_id) > 64
        ):
            raise ValueError("company_id must be 1-64 letters, digits, '-' or '_'")
        if self.rate_limit is not None and not self.rate_limit > 0:
            raise ValueError("rate_limit must be > 0 (or None for unlimited)")
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError("fail_rate must be between 0 and 1")
        if not 0 <= self.latency_ms <= 60_000:
            raise ValueError("latency_ms must be between 0 and 60000")
        unknown = set(self.scopes) - set(ALL_SCOPES)
        if unknown:
            raise ValueError(f"unknown scopes {sorted(unknown)}; known: {list(ALL_SCOPES)}")
