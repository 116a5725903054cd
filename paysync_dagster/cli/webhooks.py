"""`paysync webhooks`: inspect and replay received webhook events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from paysync_dagster.cli.context import CliContext, new_table, processor_options, rich_console, say
from paysync_dagster.cli.errors import CliError


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
        raise CliError(str(error)) from None


@click.group()
def webhooks() -> None:
    """Inspect and replay received webhook events (the inbox)."""


@webhooks.command("list")
@_selection_options
@click.pass_obj
def webhooks_list(obj: CliContext, **options: Any) -> None:
    """List inbox events, newest first; payloads are never shown."""
    from paysync_dagster.webhooks.inbox import list_events

    table = new_table("id", "workspace", "event", "type", "status", "attempts", "received", "error")
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
    rich_console().print(table)


@webhooks.command("replay")
@_selection_options
@click.option(
    "--process/--no-process",
    default=True,
    show_default=True,
    help="Process the replayed events now, or leave them to the running workers.",
)
@processor_options
@click.pass_obj
def webhooks_replay(
    obj: CliContext,
    process: bool,
    webhook_lease_seconds: float,
    webhook_max_attempts: int,
    **options: Any,
) -> None:
    """Make the selected events due again (fresh attempts) and process them, with the same
    retry options as `paysync serve`.

    The same operation as the Dagster job `replay_webhooks`.
    """
    from paysync_dagster.webhooks.inbox import replay
    from paysync_dagster.webhooks.processing import open_processor
    from paysync_dagster.webhooks.processor import ProcessorOptions

    engine = obj.engine()
    replayed = replay(engine, _selection(options, listing=False))
    say(f"{len(replayed)} event(s) made due again")
    if process and replayed:
        processing = ProcessorOptions(
            max_attempts=webhook_max_attempts, lease_seconds=webhook_lease_seconds
        )
        with open_processor(engine, obj.vault(), processing) as processor:
            result = processor.drain("cli")
        say(
            f"{result.applied} applied, {result.ignored} ignored, {result.retried} to retry,"
            f" {result.dead} dead-lettered"
        )
