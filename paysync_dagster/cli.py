"""The `paysync` command: database, workspaces, keys, sandboxes and the demo."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from paysync_dagster.settings import Settings

# Tables stay readable when output is piped (rich would otherwise assume 80 columns).
console = Console(width=None if sys.stdout.isatty() else 120)


class _Context:
    """Lazily opened settings, engine and vault shared by subcommands."""

    def __init__(self) -> None:
        self.settings = Settings.from_environment()
        self._engine = None

    def engine(self):
        from paysync_dagster.store.database import create_engine

        if self._engine is None:
            self._engine = create_engine(self.settings.database_url)
        return self._engine

    def vault(self):
        from paysync_dagster.store.vault import Vault

        return Vault.from_environment(os.environ, home=self.settings.home)


def _clear_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn paysync's validation errors into a one-line message and exit code 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from paysync_dagster.mpesa.errors import MpesaError
        from paysync_dagster.store.vault import VaultError
        from paysync_dagster.store.workspaces import WorkspaceError

        try:
            return fn(*args, **kwargs)
        except (WorkspaceError, VaultError, MpesaError) as error:
            raise click.ClickException(str(error)) from None

    return wrapper


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """paysync: keep payment provider data in sync, per workspace, inside Dagster.

    Data goes to PAYSYNC_DATABASE_URL (default: SQLite under ./.paysync/); credentials are
    encrypted with PAYSYNC_ENCRYPTION_KEYS (default: a generated local key file).
    """
    ctx.obj = _Context()


@main.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target Alembic revision.")
@click.pass_obj
def db_upgrade(obj: _Context, revision: str) -> None:
    """Create or migrate paysync's tables to the newest schema."""
    from paysync_dagster.store.database import upgrade

    upgrade(obj.engine(), revision)
    console.print(f"database is at revision {revision}: {_safe_url(obj.settings.database_url)}")


def _safe_url(url: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(url).render_as_string(hide_password=True)


@main.group()
def workspace() -> None:
    """Add, list and remove workspaces (tenants) and their provider credentials."""


@workspace.command("add")
@click.argument("workspace_id")
@click.option("--provider", default="stripe", show_default=True, help="Provider to configure.")
@click.option(
    "--api-key",
    envvar="PAYSYNC_API_KEY",
    prompt=True,
    hide_input=True,
    help="Provider secret key (or PAYSYNC_API_KEY); prompted for, hidden, when omitted.",
)
@click.option("--webhook-secret", default=None, help="Webhook signing secret (whsec_…).")
@click.option("--api-base", default=None, help="Provider API base URL, e.g. a sandbox.")
@click.option("--rate-limit", type=float, default=None, help="Requests per second budget.")
@click.option("--replace", is_flag=True, help="Overwrite an existing configuration.")
@click.pass_obj
@_clear_errors
def workspace_add(
    obj: _Context,
    workspace_id: str,
    provider: str,
    api_key: str,
    webhook_secret: str | None,
    api_base: str | None,
    rate_limit: float | None,
    replace: bool,
) -> None:
    """Store WORKSPACE_ID's credentials encrypted and make its Dagster partition available."""
    from paysync_dagster.dagster_instance import add_workspace_partitions
    from paysync_dagster.store.workspaces import add_workspace

    summary = add_workspace(
        obj.engine(),
        obj.vault(),
        workspace_id=workspace_id,
        provider=provider,
        api_key=api_key,
        webhook_secret=webhook_secret,
        api_base=api_base,
        rate_limit_per_second=rate_limit,
        replace=replace,
    )
    add_workspace_partitions([summary.workspace_id], home=obj.settings.home)
    mode = "test" if summary.is_test_mode else "live"
    console.print(f"workspace {summary.workspace_id!r}: {provider} ({mode} mode) configured")


@workspace.command("list")
@click.pass_obj
def workspace_list(obj: _Context) -> None:
    """List configured workspaces; secrets are never shown."""
    from paysync_dagster.store.workspaces import list_workspaces

    table = Table("workspace", "provider", "mode", "active", "api base", "webhook secret")
    for summary in list_workspaces(obj.engine()):
        table.add_row(
            summary.workspace_id,
            summary.provider,
            "test" if summary.is_test_mode else "live",
            "yes" if summary.is_active else "no",
            summary.api_base or "(provider default)",
            "set" if summary.has_webhook_secret else "-",
        )
    console.print(table)


@workspace.command("remove")
@click.argument("workspace_id")
@click.option("--purge-data", is_flag=True, help="Also delete the workspace's synced rows.")
@click.pass_obj
@_clear_errors
def workspace_remove(obj: _Context, workspace_id: str, purge_data: bool) -> None:
    """Remove WORKSPACE_ID's configuration and its Dagster partition."""
    from paysync_dagster.dagster_instance import remove_workspace_partition
    from paysync_dagster.store.workspaces import remove_workspace

    removed = remove_workspace(obj.engine(), workspace_id, purge_data=purge_data)
    remove_workspace_partition(workspace_id, home=obj.settings.home)
    console.print(f"workspace {workspace_id!r}: {removed} configuration(s) removed")


@workspace.command("rotate-webhook-secret")
@click.argument("workspace_id")
@click.option("--provider", default="stripe", show_default=True)
@click.option(
    "--webhook-secret",
    envvar="PAYSYNC_WEBHOOK_SECRET",
    prompt=True,
    hide_input=True,
    help="The new signing secret (whsec_…, or PAYSYNC_WEBHOOK_SECRET); prompted for, hidden.",
)
@click.option(
    "--previous-valid-hours",
    type=click.FloatRange(0, 720),
    default=24.0,
    show_default=True,
    help="How long the current secret keeps verifying deliveries (0: revoke it now).",
)
@click.pass_obj
@_clear_errors
def workspace_rotate_webhook_secret(
    obj: _Context,
    workspace_id: str,
    provider: str,
    webhook_secret: str,
    previous_valid_hours: float,
) -> None:
    """Replace WORKSPACE_ID's webhook secret; the old one stays valid for a while."""
    from datetime import timedelta

    from paysync_dagster.store.workspaces import rotate_webhook_secret

    expires_at = rotate_webhook_secret(
        obj.engine(),
        obj.vault(),
        workspace_id=workspace_id,
        provider=provider,
        new_secret=webhook_secret,
        previous_valid_for=timedelta(hours=previous_valid_hours),
    )
    until = "" if expires_at is None else f"; the previous one is valid until {expires_at:%c} UTC"
    console.print(f"workspace {workspace_id!r}: webhook secret rotated{until}")


@workspace.command("webhook-refetch")
@click.argument("workspace_id")
@click.argument("state", type=click.Choice(["on", "off"]))
@click.option("--provider", default="stripe", show_default=True)
@click.pass_obj
@_clear_errors
def workspace_webhook_refetch(obj: _Context, workspace_id: str, state: str, provider: str) -> None:
    """Whether webhook processing fetches each object from the provider (STATE on/off)."""
    from paysync_dagster.store.workspaces import set_webhook_refetch

    set_webhook_refetch(
        obj.engine(), workspace_id=workspace_id, provider=provider, on=state == "on"
    )
    console.print(f"workspace {workspace_id!r}: webhook refetch {state}")


@main.group()
def keys() -> None:
    """Encryption key management."""


@keys.command("rotate")
@click.pass_obj
@_clear_errors
def keys_rotate(obj: _Context) -> None:
    """Re-encrypt every stored secret under the primary key of PAYSYNC_ENCRYPTION_KEYS."""
    from paysync_dagster.mpesa import credentials
    from paysync_dagster.store.workspaces import rotate_keys

    vault = obj.vault()
    rotated = rotate_keys(obj.engine(), vault, also=[credentials.rotate])
    console.print(f"{rotated} secret(s) re-encrypted under key {vault.primary_key_id!r}")


@main.command()
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
@click.option(
    "--webhook-lease-seconds",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    help="How long a worker holds claimed events before another may take them over.",
)
@click.option(
    "--webhook-max-attempts",
    type=click.IntRange(1, 100),
    default=8,
    show_default=True,
    help="Attempts before a failing event is dead-lettered.",
)
@click.pass_obj
@_clear_errors
def serve(
    obj: _Context,
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
    from paysync_dagster.server.webhooks import WebhookReceiverOptions
    from paysync_dagster.serving import serve_forever, uvicorn_server
    from paysync_dagster.store.database import is_current
    from paysync_dagster.webhooks.processor import Processor, ProcessorOptions
    from paysync_dagster.webhooks.refetch import StripeObjectFetcher
    from paysync_dagster.webhooks.worker import worker_pool

    engine = obj.engine()
    if not is_current(engine):
        raise click.ClickException(
            "the database schema is not at the newest revision; run `paysync db upgrade` first"
        )
    if webhook_workers > 1 and engine.dialect.name == "sqlite":
        raise click.ClickException("SQLite supports one webhook worker; use PostgreSQL for more")
    vault = obj.vault()
    context = ServerContext(settings=obj.settings, engine=engine, vault=vault)
    processor = Processor(
        engine,
        ProcessorOptions(max_attempts=webhook_max_attempts, lease_seconds=webhook_lease_seconds),
        fetcher=StripeObjectFetcher(engine, vault),
    )
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


@main.group()
def sandbox() -> None:
    """Local stand-ins for provider APIs, for demos, tests and benchmarks."""


@sandbox.command("stripe")
@click.option("--port", type=click.IntRange(0, 65535), default=12111, show_default=True)
@click.option("--customers", type=click.IntRange(0, 10_000_000), default=1000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--api-key", default="sk_test_sandbox", show_default=True)
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

    With --webhook-url, customer mutations deliver signed webhooks, retried like Stripe's.
    """
    from paysync_dagster.sandbox.stripe import StripeSandboxSettings, serve

    port = options.pop("port")
    options["webhook_urls"] = tuple(options["webhook_urls"])
    serve(StripeSandboxSettings(**options), port=port)


@main.command()
@click.option("--small", type=click.IntRange(1, 100_000), default=200, show_default=True)
@click.option("--medium", type=click.IntRange(1, 100_000), default=1500, show_default=True)
@click.option("--large", type=click.IntRange(1, 100_000), default=5000, show_default=True)
@click.pass_obj
def demo(obj: _Context, small: int, medium: int, large: int) -> None:
    """Sync three demo workspaces from a local Stripe sandbox through real Dagster runs."""
    from paysync_dagster.demo import run_demo

    ok = run_demo(obj.settings, {"demo-small": small, "demo-medium": medium, "demo-large": large})
    sys.exit(0 if ok else 1)


# -- Webhooks (issue 3) -----------------------------------------------------------------------


def _selection_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The event selection shared by `webhooks list` and `webhooks replay`."""
    options = [
        click.option("--id", "event_ids", multiple=True, help="Provider event id (repeatable)."),
        click.option(
            "--status",
            type=click.Choice(["pending", "processing", "applied", "ignored", "dead"]),
            default=None,
        ),
        click.option("--workspace", "workspace_id", default=None, help="Workspace id."),
        click.option("--since", default=None, help="Received at or after (ISO time, UTC)."),
        click.option("--until", default=None, help="Received before (ISO time, UTC)."),
        click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _selection(options: dict[str, Any], *, listing: bool):
    from paysync_dagster.webhooks.inbox import Selection, SelectionError, parse_time

    try:
        criteria = {
            "event_ids": tuple(options["event_ids"]),
            "status": options["status"],
            "workspace_id": options["workspace_id"],
            "received_after": options["since"] and parse_time(options["since"], "--since"),
            "received_before": options["until"] and parse_time(options["until"], "--until"),
            "limit": options["limit"],
        }
        if listing and not any(value for key, value in criteria.items() if key != "limit"):
            return Selection.everything(limit=options["limit"])
        return Selection(**criteria)
    except SelectionError as error:
        raise click.ClickException(str(error)) from None


@main.group()
def webhooks() -> None:
    """Inspect and replay received webhook events (the inbox)."""


@webhooks.command("list")
@_selection_options
@click.pass_obj
def webhooks_list(obj: _Context, **options: Any) -> None:
    """List inbox events, newest first; payloads are never shown."""
    from paysync_dagster.webhooks.inbox import list_events

    table = Table("id", "workspace", "event", "type", "status", "attempts", "received", "error")
    for event in list_events(obj.engine(), _selection(options, listing=True)):
        table.add_row(
            str(event.id),
            event.workspace_id,
            event.provider_event_id,
            event.event_type,
            event.status,
            str(event.attempts),
            f"{event.received_at:%Y-%m-%d %H:%M:%S}",
            (event.last_error or "")[:80],
        )
    console.print(table)


@webhooks.command("replay")
@_selection_options
@click.option(
    "--process/--no-process",
    default=True,
    show_default=True,
    help="Process the replayed events now, or leave them to the running workers.",
)
@click.pass_obj
def webhooks_replay(obj: _Context, process: bool, **options: Any) -> None:
    """Make the selected events due again (fresh attempts) and process them.

    The same operation as the Dagster job `replay_webhooks`.
    """
    from paysync_dagster.webhooks.inbox import replay
    from paysync_dagster.webhooks.processor import Processor
    from paysync_dagster.webhooks.refetch import StripeObjectFetcher

    engine = obj.engine()
    replayed = replay(engine, _selection(options, listing=False))
    console.print(f"{len(replayed)} event(s) made due again")
    if process and replayed:
        fetcher = StripeObjectFetcher(engine, obj.vault())
        try:
            result = Processor(engine, fetcher=fetcher).drain("cli")
        finally:
            fetcher.close()
        console.print(
            f"{result.applied} applied, {result.ignored} ignored, {result.retried} to retry,"
            f" {result.dead} dead-lettered"
        )


# --- M-Pesa status consistency -------------------------------------------------------------


@main.group()
def bars() -> None:
    """Bars: the tenants that take M-Pesa payments."""


@bars.command("add")
@click.argument("name")
@click.pass_obj
@_clear_errors
def bars_add(obj: _Context, name: str) -> None:
    """Create a bar (M-Pesa disabled until its settings are saved) and print its id."""
    from paysync_dagster.mpesa.bars import add_bar

    console.print(f"bar {add_bar(obj.engine(), name)} created: {name!r}")


@bars.command("list")
@click.pass_obj
def bars_list(obj: _Context) -> None:
    """List bars with their two M-Pesa flags; secrets are never shown."""
    from paysync_dagster.mpesa.bars import list_bars

    table = Table("bar", "name", "mpesa_enabled", "credentials", "is_active")
    for bar in list_bars(obj.engine()):
        table.add_row(
            str(bar.bar_id),
            bar.name,
            _yes_no(bar.mpesa_enabled),
            "stored" if bar.has_credentials else "-",
            _yes_no(bar.credentials_active) if bar.has_credentials else "-",
        )
    console.print(table)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


@main.group()
def mpesa() -> None:
    """M-Pesa status consistency: audit and repair drift, settings API tokens."""


@mpesa.command("audit")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.pass_obj
def mpesa_audit(obj: _Context, limit: int) -> None:
    """Report bars whose mpesa_enabled differs from their credentials' is_active.

    Exits 1 when any bar is inconsistent or waits for manual repair.
    """
    from paysync_dagster.mpesa.audit import audit

    report = audit(obj.engine(), limit=limit)
    console.print(
        f"{report.bars} bar(s), {report.bars_with_credentials} with credentials,"
        f" {report.drift.count} inconsistent, {report.unresolved.bars} waiting for manual repair"
    )
    if report.inconsistent:
        table = Table("bar", "mpesa_enabled", "must be", "problem")
        for bar in report.inconsistent:
            table.add_row(
                str(bar.bar_id),
                _yes_no(bar.mpesa_enabled),
                _yes_no(bar.expected_enabled),
                bar.kind,
            )
        console.print(table)
        if report.drift.count > len(report.inconsistent):
            console.print(f"(first {len(report.inconsistent)} shown; use --limit for more)")
    if report.unresolved.records:
        table = Table("bar", "attempts", "error")
        for failure in report.unresolved.records:
            table.add_row(str(failure.bar_id), str(failure.attempts), failure.error)
        console.print(table)
    sys.exit(1 if report.drift.count or report.unresolved.bars else 0)


@mpesa.command("repair")
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@click.option("--chunk-size", type=click.IntRange(1, 50_000), default=1000, show_default=True)
@click.pass_obj
def mpesa_repair(obj: _Context, dry_run: bool, chunk_size: int) -> None:
    """Set each inconsistent bar's mpesa_enabled from its credentials' is_active.

    Bars without credentials get mpesa_enabled = false. Bars that still fail after three
    retries are recorded for manual intervention (see `paysync mpesa audit`); exits 1 then.
    """
    from rich.progress import Progress

    from paysync_dagster.mpesa.audit import audit
    from paysync_dagster.mpesa.repair import repair_drift

    engine = obj.engine()
    if dry_run:
        report = audit(engine, limit=50)
        console.print(f"dry run: {report.drift.count} bar(s) would be repaired")
        for bar in report.inconsistent:
            console.print(
                f"  bar {bar.bar_id}: mpesa_enabled {_yes_no(bar.mpesa_enabled)} ->"
                f" {_yes_no(bar.expected_enabled)} ({bar.kind})"
            )
        return
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("repairing", total=None)
        result = repair_drift(
            engine,
            chunk_size=chunk_size,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    console.print(
        f"{result.repaired} of {result.drifted} inconsistent bar(s) repaired,"
        f" {len(result.failed)} failed, in {result.seconds:.2f}s"
    )
    for failure in result.failed:
        console.print(f"  bar {failure.bar_id}: {failure.error}")
    sys.exit(1 if result.failed else 0)


@mpesa.group("token")
def mpesa_token() -> None:
    """Bearer tokens for POST /api/mpesa-settings (stored only as SHA-256 hashes)."""


@mpesa_token.command("create")
@click.argument("name")
@click.pass_obj
@_clear_errors
def mpesa_token_create(obj: _Context, name: str) -> None:
    """Create a token called NAME and print it once; it cannot be shown again."""
    from paysync_dagster.mpesa.tokens import create_token

    token = create_token(obj.engine(), name)
    click.echo(token)
    click.echo(f"token {name!r} created; store it now, it is not shown again", err=True)


@mpesa_token.command("revoke")
@click.argument("name")
@click.pass_obj
@_clear_errors
def mpesa_token_revoke(obj: _Context, name: str) -> None:
    """Revoke the token called NAME: requests using it get 401 from now on."""
    from paysync_dagster.mpesa.tokens import revoke_token

    revoke_token(obj.engine(), name)
    console.print(f"token {name!r} revoked")


@mpesa_token.command("list")
@click.pass_obj
def mpesa_token_list(obj: _Context) -> None:
    """List token names and dates; tokens themselves are never stored."""
    from paysync_dagster.mpesa.tokens import list_tokens

    table = Table("name", "created", "revoked")
    for token in list_tokens(obj.engine()):
        revoked = "-" if token.revoked_at is None else f"{token.revoked_at:%Y-%m-%d %H:%M}"
        table.add_row(token.name, f"{token.created_at:%Y-%m-%d %H:%M}", revoked)
    console.print(table)
