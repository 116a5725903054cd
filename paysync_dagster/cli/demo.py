"""`paysync demo`: the main job end to end on the embedded default."""

from __future__ import annotations

import sys

import click

from paysync_dagster.cli.context import CliContext


@click.command()
@click.option("--small", type=click.IntRange(1, 100_000), default=200, show_default=True)
@click.option("--medium", type=click.IntRange(1, 100_000), default=1500, show_default=True)
@click.option("--large", type=click.IntRange(1, 100_000), default=5000, show_default=True)
@click.pass_obj
def demo(obj: CliContext, small: int, medium: int, large: int) -> None:
    """Sync three demo workspaces from a local Stripe sandbox through real Dagster runs."""
    from paysync_dagster.demo import run_demo

    ok = run_demo(obj.settings, {"demo-small": small, "demo-medium": medium, "demo-large": large})
    sys.exit(0 if ok else 1)
