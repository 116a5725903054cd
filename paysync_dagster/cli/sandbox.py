"""`paysync sandbox`: local stand-ins for provider APIs."""

from __future__ import annotations

from typing import Any

import click

from paysync_dagster.sandbox.stripe.settings import DEFAULT_API_KEY


@click.group()
def sandbox() -> None:
    """Local stand-ins for provider APIs, for demos, tests and benchmarks."""


@sandbox.command("stripe")
@click.option("--port", type=click.IntRange(0, 65535), default=12111, show_default=True)
@click.option("--customers", type=click.IntRange(0, 10_000_000), default=1000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--api-key", default=DEFAULT_API_KEY, show_default=True)
@click.option("--rate-limit", type=click.FloatRange(min=0, min_open=True), default=None)
@click.option("--fail-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True)
@click.option("--latency-ms", type=click.IntRange(0, 60_000), default=0, show_default=True)
@click.option(
    "--webhook-url", "webhook_urls", multiple=True, help="Deliver signed events here (repeatable)."
)
@click.option(
    "--webhook-secret",
    envvar="PAYSYNC_SANDBOX_WEBHOOK_SECRET",
    default=None,
    help="Signing secret for deliveries (whsec_…, or PAYSYNC_SANDBOX_WEBHOOK_SECRET).",
)
@click.option(
    "--webhook-duplicate-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Fraction of events delivered twice.",
)
@click.option(
    "--webhook-reorder-window",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="Deliver events in shuffled groups of up to this many (1: in order).",
)
def sandbox_stripe(**options: Any) -> None:
    """Serve a deterministic Stripe-compatible API on 127.0.0.1.

    Payment intents and charges follow Stripe's test payment methods (pm_card_visa,
    pm_card_chargeDeclined, ...). With --webhook-url, customer mutations and payments deliver
    signed webhooks, retried like Stripe's.
    """
    from paysync_dagster.sandbox.stripe import StripeSandboxSettings, serve

    port = options.pop("port")
    options["webhook_urls"] = tuple(options["webhook_urls"])
    serve(StripeSandboxSettings(**options), port=port)


@sandbox.command("payfit")
@click.option("--port", type=click.IntRange(0, 65535), default=12112, show_default=True)
@click.option("--collaborators", type=click.IntRange(0, 10_000_000), default=100, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--api-key", default="payfit-sandbox-key", show_default=True)
@click.option("--company-id", default="sandbox-company", show_default=True)
@click.option(
    "--rate-limit", type=click.FloatRange(min=0), default=50.0, show_default=True,
    help="Requests per second per key, as PayFit's read limit (0: unlimited).",
)  # fmt: skip
@click.option("--fail-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True)
@click.option("--latency-ms", type=click.IntRange(0, 60_000), default=0, show_default=True)
@click.option("--record-requests", is_flag=True, help="Log requests at GET /_sandbox/requests.")
@click.option(
    "--no-retry-after", is_flag=True,
    help="429s carry only the X-RateLimit-* headers, as PayFit documents.",
)  # fmt: skip
def sandbox_payfit(**options: Any) -> None:
    """Serve a deterministic PayFit partner API (and /introspect) on 127.0.0.1.

    French payroll data made with Faker's fr_FR locale; a wrong key gets 401, another
    company 403, and requests beyond the rate limit 429.
    """
    from paysync_dagster.sandbox.payfit import PayfitSandboxSettings, serve

    port = options.pop("port")
    options["rate_limit"] = options["rate_limit"] or None
    options["send_retry_after"] = not options.pop("no_retry_after")
    serve(PayfitSandboxSettings(**options), port=port)


@sandbox.command("gateway")
@click.option("--port", type=click.IntRange(0, 65535), default=12113, show_default=True)
@click.option("--latency-ms", type=click.IntRange(0, 600_000), default=0, show_default=True)
@click.option(
    "--fail-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
    help="Fraction of requests answered 503.",
)  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--form-id", default=None, help="Accepted FORM_ID (default: the seed's).")
@click.option("--merchant-id", default=None, help="Accepted MERCHANT_ID (default: the seed's).")
@click.option("--api-key", default=None, help="Require this bearer token (default: none).")
def sandbox_gateway(**options: Any) -> None:
    """Serve a tokenize -> checkout -> pay gateway (Datatrans-like) on 127.0.0.1.

    Steps: POST /v1/tokenize, /v1/checkouts, /v1/payments. The card number decides the
    outcome (4000000000000002 declines, 4000000000009995 lacks funds, 4000000000003220 needs
    3-D Secure, 4000000000000119 fails with a 500; any other valid number succeeds).
    """
    from paysync_dagster.sandbox.gateway import GatewaySandboxSettings, serve

    port = options.pop("port")
    settings = {key: value for key, value in options.items() if value is not None}
    serve(GatewaySandboxSettings(**settings), port=port)
