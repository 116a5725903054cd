"""`python -m paysync_dagster.sandbox.payfit`: serve a PayFit sandbox on a port (0 = any free)."""

from __future__ import annotations

import argparse
import contextlib

from .process import DEFAULT_PORT, serve
from .settings import PayfitSandboxSettings


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    defaults = PayfitSandboxSettings()
    parser = argparse.ArgumentParser(
        prog="python -m paysync_dagster.sandbox.payfit",
        description="Serve a local PayFit partner API with deterministic French payroll data.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port; 0 = any free")
    parser.add_argument(
        "--collaborators", type=int, default=defaults.collaborators, help="generated collaborators"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="data generation seed")
    parser.add_argument("--api-key", default=defaults.api_key, help="the accepted API key")
    parser.add_argument("--company-id", default=defaults.company_id, help="the company served")
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=defaults.rate_limit,
        help="requests per second per key (0 = unlimited)",
    )
    parser.add_argument("--fail-rate", type=float, default=0.0, help="fraction answered 500")
    parser.add_argument("--latency-ms", type=int, default=0, help="delay added to each request")
    parser.add_argument(
        "--scopes",
        default=",".join(defaults.scopes),
        help="comma-separated scopes granted to the key",
    )
    parser.add_argument(
        "--record-requests", action="store_true", help="log requests at GET /_sandbox/requests"
    )
    parser.add_argument(
        "--no-retry-after",
        action="store_true",
        help="answer 429s with X-RateLimit-* headers only, as PayFit documents",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    try:
        settings = PayfitSandboxSettings(
            collaborators=args.collaborators,
            seed=args.seed,
            api_key=args.api_key,
            company_id=args.company_id,
            rate_limit=args.rate_limit or None,
            fail_rate=args.fail_rate,
            latency_ms=args.latency_ms,
            scopes=tuple(scope for scope in args.scopes.split(",") if scope),
            record_requests=args.record_requests,
            send_retry_after=not args.no_retry_after,
        )
    except ValueError as exc:
        parser.error(str(exc))
    # uvicorn shuts down gracefully on Ctrl-C and then re-raises it; exit quietly instead.
    with contextlib.suppress(KeyboardInterrupt):
        serve(settings, port=args.port)


if __name__ == "__main__":
    main()
