"""`paysync dev`: the sandboxes, `paysync serve` and the Dagster UI with its daemon."""

from __future__ import annotations

import click

from paysync_dagster.cli.context import CliContext, clear_errors


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--dagster-port", type=click.IntRange(1, 65535), default=3000, show_default=True,
    help="Port of the Dagster UI.",
)  # fmt: skip
@click.option(
    "--serve-port", type=click.IntRange(1, 65535), default=8000, show_default=True,
    help="Port of `paysync serve`.",
)  # fmt: skip
@click.pass_obj
@clear_errors
def dev(obj: CliContext, host: str, dagster_port: int, serve_port: int) -> None:
    """Bring the local stack up until Ctrl-C: every local workspace's sandbox (on the port
    in its API base), `paysync serve`, and `dagster dev` on the paysync Dagster instance.

    The demo's workspaces come back with the data `paysync demo` synced from them.
    """
    from paysync_dagster.cli.context import rich_console
    from paysync_dagster.dev_stack import DevPorts, DevStackError, run_dev_stack

    try:
        run_dev_stack(obj.settings, DevPorts(host, serve_port, dagster_port), rich_console())
    except DevStackError as error:
        raise click.ClickException(str(error)) from None
