"""What every `paysync` command shares: settings, engine, vault, output, clear errors."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Sequence
from functools import cache, wraps
from typing import TYPE_CHECKING, Any

import click

from paysync_dagster.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


def say(line: str) -> None:
    """Print one plain line of a command's output.

    Through click, not rich: importing rich takes about 25 ms, which `paysync workspace
    add` (0.35-0.45 s in all) need not spend, and a line that quotes a user's value (an id,
    an error) must print as written, not be read as rich markup.
    """
    click.echo(line)


@cache
def rich_console() -> Console:
    """The console that prints tables and progress bars, made (and rich imported) on first
    use."""
    from rich.console import Console

    # Tables stay readable when output is piped (rich would otherwise assume 80 columns).
    # Cells hold users' values (names, ids, errors): they print as written, never read as
    # markup ("[bold]") or emoji codes (":x:"). A caller that styles a line says markup=True.
    return Console(width=None if sys.stdout.isatty() else 120, markup=False, emoji=False)


class CliContext:
    """Lazily opened settings, engine and vault shared by subcommands."""

    def __init__(self) -> None:
        self.settings = Settings.from_environment()
        self._engine = None

    def engine(self, *, pool_size: int | None = None):
        """The database engine, created on first use (`pool_size` fixes its pool, for
        `paysync serve`)."""
        from paysync_dagster.store.database import create_engine

        if self._engine is None:
            self._engine = create_engine(self.settings.database_url, pool_size=pool_size)
        return self._engine

    def close(self) -> None:
        """Close the engine's connections, when the command is done with them."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def vault(self):
        """The vault, refusing a key ring that lacks a key id the database uses."""
        from paysync_dagster.store.key_guard import open_vault

        return open_vault(self.engine(), os.environ, home=self.settings.home)

    def add_partitions(self, partitions_def_name: str, keys: Sequence[str]) -> None:
        """Make Dagster partitions exist now, not at the sensors' next tick.

        Through the webserver when `PAYSYNC_DAGSTER_URL` names one: a GraphQL request, no
        Dagster import. Else in the local instance at `DAGSTER_HOME`, which means importing
        Dagster and opening its storage: `workspace add` then takes about 4 times as long
        (about 1.5 s against 0.35-0.45 s on 2 quiet cores).
        """
        if self.settings.dagster_url:
            from paysync_dagster import dagster_graphql_api

            dagster_graphql_api.add_partitions(self.settings.dagster_url, partitions_def_name, keys)
        else:
            from paysync_dagster import dagster_instance

            dagster_instance.add_partitions(partitions_def_name, keys, home=self.settings.home)

    def delete_partitions(self, partitions_def_name: str, keys: Sequence[str]) -> None:
        """Drop Dagster partitions (their run history stays), where `add_partitions` adds them."""
        if self.settings.dagster_url:
            from paysync_dagster import dagster_graphql_api

            dagster_graphql_api.delete_partitions(
                self.settings.dagster_url, partitions_def_name, keys
            )
        else:
            from paysync_dagster import dagster_instance

            dagster_instance.delete_partitions(partitions_def_name, keys, home=self.settings.home)


def clear_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn paysync's validation errors into a one-line message and exit code 2.

    `PaysyncGroup` does this for every command; this keeps a command's errors clear when it
    is invoked on its own (tests that call a subcommand directly).
    """

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from paysync_dagster.cli.errors import CliError, describe
        from paysync_dagster.mpesa.errors import MpesaError
        from paysync_dagster.store.tokens import TokenError
        from paysync_dagster.store.vault import VaultError
        from paysync_dagster.store.workspaces import WorkspaceError

        try:
            return fn(*args, **kwargs)
        except (WorkspaceError, VaultError, MpesaError, TokenError) as error:
            raise CliError(describe(error)) from None

    return wrapper


class FiniteFloatRange(click.FloatRange):
    """A `FloatRange` that also refuses nan and infinities (which compare as in range)."""

    name = "finite float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def processor_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The webhook processor's retry options, shared by `serve` and `webhooks replay` so an
    event dead-letters after the same attempts whichever of them processes it."""
    from paysync_dagster.webhooks.options import ProcessorOptions

    defaults = ProcessorOptions()
    fn = click.option(
        "--webhook-max-attempts",
        type=click.IntRange(1, 100),
        default=defaults.max_attempts,
        show_default=True,
        help="Attempts before a failing event is dead-lettered.",
    )(fn)
    return click.option(
        "--webhook-lease-seconds",
        type=click.FloatRange(min=1),
        default=defaults.lease_seconds,
        show_default=True,
        help="How long a worker holds claimed events before another may take them over.",
    )(fn)


def new_table(*columns: str) -> Table:
    """A rich table with these column headers. `rich.table` is imported here, by the commands
    that print one, not by every command (it costs more than the rest of `rich` they use)."""
    from rich.table import Table

    return Table(*columns)


def yes_no(value: bool) -> str:
    """`yes` or `no`, for table cells."""
    return "yes" if value else "no"
