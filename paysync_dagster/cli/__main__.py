"""`python -m paysync_dagster.cli`: the `paysync` command without its console script."""

from paysync_dagster.cli import run

run()
