"""`paysync bars`: the tenants that take M-Pesa payments."""

from __future__ import annotations

import click

from paysync_dagster.cli.context import (
    CliContext,
    clear_errors,
    new_table,
    rich_console,
    say,
    yes_no,
)


@click.group()
def bars() -> None:
    """Bars: the tenants that take M-Pesa payments."""


@bars.command("add")
@click.argument("name")
@click.pass_obj
@clear_errors
def bars_add(obj: CliContext, name: str) -> None:
    """Create a bar (M-Pesa disabled until its settings are saved) and print its id."""
    from paysync_dagster.mpesa.bars import add_bar

    say(f"bar {add_bar(obj.engine(), name)} created: {name!r}")


@bars.command("list")
@click.pass_obj
def bars_list(obj: CliContext) -> None:
    """List bars with their two M-Pesa flags; secrets are never shown."""
    from paysync_dagster.mpesa.bars import list_bars

    table = new_table("bar", "name", "mpesa_enabled", "credentials", "is_active")
    for bar in list_bars(obj.engine()):
        table.add_row(
            str(bar.bar_id),
            bar.name,
            yes_no(bar.mpesa_enabled),
            "stored" if bar.has_credentials else "-",
            yes_no(bar.credentials_active) if bar.has_credentials else "-",
        )
    rich_console().print(table)
