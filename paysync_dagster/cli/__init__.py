"""The `paysync` command: one module per command group, assembled here.

A command group's module is imported only when that group is invoked (or listed, for
`paysync --help`): `paysync workspace add` then pays for `cli/workspace.py` alone, not for
the sandboxes' Starlette apps or the M-Pesa and simulator modules the other groups bring.
"""

from __future__ import annotations

import atexit
import gc
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
    ctx.call_on_close(ctx.obj.close)


def run() -> None:
    """The `paysync` command as its own process runs it: `main`, then a quick exit.

    At exit Python collects every object the command left behind: for the few hundred
    modules a command imports (SQLAlchemy's among them) that took 0.12-0.16 s on 2 quiet
    cores, a quarter of `paysync workspace add`. By then the command has closed what it
    opened (its engine is disposed on close) and threads are joined, so the objects are
    frozen out of that last collection (`gc.freeze`); the process returns their memory. Not
    for `main` called in-process (tests): frozen objects would never be collected there.
    """
    atexit.register(gc.freeze)
    main(prog_name="paysync")


__all__ = ["main", "run"]
