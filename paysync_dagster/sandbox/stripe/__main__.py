"""`python -m paysync_dagster.sandbox.stripe`: serve a Stripe sandbox on a port (0 = any free)."""

import argparse
import contextlib

from .process import serve
from .settings import StripeSandboxSettings


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    defaults = StripeSandboxSettings()
    parser = argparse.ArgumentParser(
        prog="python -m paysync_dagster.sandbox.stripe",
        description="Serve a local Stripe-compatible API with deterministic synthetic data.",
    )
    parser.add_argument("--port", type=int, default=12111, help="port on 127.0.0.1; 0 = free")
    parser.add_argument(
        "--customers", type=int, default=defaults.customers, help="generated customers"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="data generation seed")
    parser.add_argument("--api-key", default=defaults.api_key, help="the accepted secret key")
    parser.add_argument(
        "--rate-limit", type=float, default=None, help="requests per second per key"
    )
    parser.add_argument(
        "--fail-rate", type=float, default=0.0, help="fraction of requests answered 500"
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="delay added to each request")
    parser.add_argument(
        "--webhook-url",
        action="append",
        default=[],
        help="deliver signed events here (repeatable)",
    )
    parser.add_argument("--webhook-secret", default=None, help="signing secret (whsec_...)")
    parser.add_argument(
        "--webhook-duplicate-rate", type=float, default=0.0, help="fraction delivered twice"
    )
    parser.add_argument(
        "--webhook-reorder-window", type=int, default=1, help="shuffle deliveries in groups"
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    try:
        settings = StripeSandboxSettings(
            customers=args.customers,
            seed=args.seed,
            api_key=args.api_key,
            rate_limit=args.rate_limit,
            fail_rate=args.fail_rate,
            latency_ms=args.latency_ms,
            webhook_urls=tuple(args.webhook_url),
            webhook_secret=args.webhook_secret,
            webhook_duplicate_rate=args.webhook_duplicate_rate,
            webhook_reorder_window=args.webhook_reorder_window,
        )
    except ValueError as exc:
        parser.error(str(exc))
    # uvicorn shuts down gracefully on Ctrl-C and then re-raises it; exit quietly instead.
    with contextlib.suppress(KeyboardInterrupt):
        serve(settings, port=args.port)


if __name__ == "__main__":
    main()
