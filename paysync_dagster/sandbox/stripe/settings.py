"""Configuration of one Stripe sandbox server."""

from dataclasses import dataclass, field

from paysync_dagster.urls import validate_http_url

# A test-mode key of the shape `paysync workspace add` accepts (at least 8 characters after
# `sk_test_`), so the README's commands work with the sandbox's default.
DEFAULT_API_KEY = "sk_test_paysyncsandbox"


@dataclass(frozen=True)
class StripeSandboxSettings:
    """What the sandbox serves and how badly it behaves.

    `rate_limit` is requests per second per API key (None: unlimited); `fail_rate` is the
    fraction of requests answered with a 500 `api_error`; `latency_ms` is added to every
    response, so clients can be exercised against a slow, flaky, throttling Stripe.
    """

    customers: int = 1000
    seed: int = 0
    api_key: str = DEFAULT_API_KEY
    rate_limit: float | None = None
    fail_rate: float = 0.0
    latency_ms: int = 0
    # Webhook delivery (see `webhooks.py`): signed events POSTed to these URLs.
    webhook_urls: tuple[str, ...] = ()
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_duplicate_rate: float = 0.0
    webhook_reorder_window: int = 1

    def __post_init__(self) -> None:
        if self.customers < 0:
            raise ValueError("customers must be >= 0")
        if not self.api_key or any(char.isspace() for char in self.api_key):
            raise ValueError("api_key must be a non-empty string without whitespace")
        if self.rate_limit is not None and not self.rate_limit > 0:
            raise ValueError("rate_limit must be > 0 (or None for unlimited)")
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError("fail_rate must be between 0 and 1")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        if self.webhook_urls and not self.webhook_secret:
            raise ValueError("webhook URLs need a webhook secret (--webhook-secret)")
        for url in self.webhook_urls:
            validate_http_url(url, "webhook URL")
