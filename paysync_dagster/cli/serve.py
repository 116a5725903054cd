"""`paysync serve`: the HTTP service with its webhook workers."""

from __future__ import annotations

import click

from paysync_dagster.cli.context import CliContext, clear_errors, processor_options
from paysync_dagster.cli.errors import CliError


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--webhook-workers",
    type=click.IntRange(0, 32),
    default=1,
    show_default=True,
    help="Webhook processor threads in this process (0: leave it to other processes or"
    " Dagster's backlog job; SQLite allows at most 1).",
)
@click.option(
    "--webhook-rate-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=500.0,
    show_default=True,
    help="Webhook deliveries per second per workspace (bursts of twice that); more get 429.",
)
@click.option(
    "--webhook-max-body",
    type=click.IntRange(1024, 16 * 1024 * 1024),
    default=256 * 1024,
    show_default=True,
    help="Largest webhook body in bytes; larger ones get 413.",
)
@processor_options
@click.pass_obj
@clear_errors
def serve(
    obj: CliContext,
    host: str,
    port: int,
    webhook_workers: int,
    webhook_rate_limit: float,
    webhook_max_body: int,
    webhook_lease_seconds: float,
    webhook_max_attempts: int,
) -> None:
    """Serve paysync's HTTP API (webhooks, M-Pesa settings, health probes) under uvicorn.

    Runs the webhook processor alongside: events are applied as soon as they are stored.
    The database must be migrated first (`paysync db upgrade`).
    """
    from paysync_dagster.server import ServerContext, build_app
    from paysync_dagster.server.context import database_pool_size
    from paysync_dagster.server.webhooks import WebhookReceiverOptions
    from paysync_dagster.serving import serve_forever, uvicorn_server
    from paysync_dagster.store.database import is_current
    from paysync_dagster.webhooks.processing import open_processor
    from paysync_dagster.webhooks.processor import ProcessorOptions
    from paysync_dagster.webhooks.worker import worker_pool

    # The inbox writer and each webhook worker hold a connection besides the request threads.
    engine = obj.engine(pool_size=database_pool_size(webhook_workers + 1))
    if not is_current(engine):
        raise CliError(
            "the database schema is not at the newest revision; run `paysync db upgrade` first"
        )
    if webhook_workers > 1 and engine.dialect.name == "sqlite":
        raise CliError("SQLite supports one webhook worker; use PostgreSQL for more")
    vault = obj.vault()
    context = ServerContext(settings=obj.settings, engine=engine, vault=vault)
    options = ProcessorOptions(
        max_attempts=webhook_max_attempts, lease_seconds=webhook_lease_seconds
    )
    with open_processor(engine, vault, options) as processor:
        app = build_app(
            context,
            worker_pool(processor, webhook_workers),
            webhook_options=WebhookReceiverOptions(
                max_body_bytes=webhook_max_body,
                rate_per_second=webhook_rate_limit,
                burst=2 * webhook_rate_limit,
            ),
        )
        serve_forever(uvicorn_server(app, log_level="info"), host, port)
