"""The `paysync` command: one module per command group, assembled here.

A command group's module is imported only when that group is invoked (or listed, for
`paysync --help`): `paysync workspace add` then pays for `cli/workspace.py` alone, not for
the sandboxes' Starlette apps or the M-Pesa and simulator modules the other groups bring.
"""

from __future__ import annotations

import importlib

import click

from paysync_dagster.cli.context import CliContext
from paysync_dagster.cli.errors import PaysyncGroup

# Each command group `name` is the object `name` in the module `paysync_dagster.cli.<name>`.
COMMAND_GROUPS = (
    "bars",
    "db",
    "demo",
    "dev",
    "keys",
    "mpesa",
    "sandbox",
    "serve",
    "simulator",
    "token",
    "webhooks",
    "workspace",
)


class LazyPaysyncGroup(PaysyncGroup):
    """A `PaysyncGroup` whose command groups are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMAND_GROUPS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in COMMAND_GROUPS:
            command = getattr(importlib.import_module(f"{__name__}.{cmd_name}"), cmd_name)
            self.add_command(command)
        return command


@click.group(cls=LazyPaysyncGroup)
@click.pass_context
def main(ctx: click.Context) -> None:
    """paysync: keep payment provider data in sync, per workspace, inside Dagster.

    Data goes to PAYSYNC_DATABASE_URL (default: SQLite under ./.paysync/); credentials are
    encrypted with PAYSYNC_ENCRYPTION_KEYS (default: a generated local key file).
    """
    ctx.obj = CliContext()


__all__ = ["main"]
