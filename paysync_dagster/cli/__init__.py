"""The `paysync` command: one module per command group, assembled here."""

from __future__ import annotations

import click

from paysync_dagster.cli.bars import bars
from paysync_dagster.cli.context import CliContext
from paysync_dagster.cli.db import db
from paysync_dagster.cli.demo import demo
from paysync_dagster.cli.dev import dev
from paysync_dagster.cli.errors import PaysyncGroup
from paysync_dagster.cli.keys import keys
from paysync_dagster.cli.mpesa import mpesa
from paysync_dagster.cli.sandbox import sandbox
from paysync_dagster.cli.serve import serve
from paysync_dagster.cli.simulator import simulator
from paysync_dagster.cli.token import token
from paysync_dagster.cli.webhooks import webhooks
from paysync_dagster.cli.workspace import workspace


@click.group(cls=PaysyncGroup)
@click.pass_context
def main(ctx: click.Context) -> None:
    """paysync: keep payment provider data in sync, per workspace, inside Dagster.

    Data goes to PAYSYNC_DATABASE_URL (default: SQLite under ./.paysync/); credentials are
    encrypted with PAYSYNC_ENCRYPTION_KEYS (default: a generated local key file).
    """
    ctx.obj = CliContext()


for command in (
    db,
    workspace,
    keys,
    serve,
    sandbox,
    demo,
    dev,
    webhooks,
    bars,
    mpesa,
    simulator,
    token,
):
    main.add_command(command)

__all__ = ["main"]
