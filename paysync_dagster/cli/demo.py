"""`paysync demo`: the main job end to end on the embedded default."""

from __future__ import annotations

import sys

import click

from paysync_dagster.cli.context import CliContext


@click.command()
@click.option("--small", type=click.IntRange(1, 100_000), default=200, show_default=True)
@click.option("--medium", type=click.IntRange(1, 100_000), default=1500, show_default=True)
@click.option("--large", type=click.IntRange(1, 100_000), default=5000, show_default=True)
@click.option(
    "--collaborators", type=click.IntRange(1, 100_000), default=120, show_default=True,
    help="Collaborators of the demo PayFit company.",
)  # fmt: skip
@click.pass_obj
def demo(obj: CliContext, small: int, medium: int, large: int, collaborators: int) -> None:
    """Sync three Stripe workspaces and a PayFit one from local sandboxes, and show a PayFit
    workspace in mock mode, through the named Dagster jobs; exit 1 if anything failed."""
    from paysync_dagster.demo import run_demo

    sizes = {"demo-small": small, "demo-medium": medium, "demo-large": large}
    sys.exit(0 if run_demo(obj.settings, sizes, collaborators) else 1)
