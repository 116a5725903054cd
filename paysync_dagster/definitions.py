"""The paysync code location: everything under `defs/`, plus the run executor."""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    """Every asset, check, job, schedule, sensor and resource found under `defs/`."""
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        # Workspaces already sync concurrently on threads inside each step, so one process per
        # run is enough and avoids paying interpreter start-up for every step.
        dg.Definitions(executor=dg.in_process_executor),
    )
