"""The local Dagster instance: where CLI commands register partitions and the demo runs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from paysync_dagster.dagster_names import (
    SIMULATOR_TARGET_PARTITIONS_NAME,
    WORKSPACE_PARTITIONS_NAME,
)


def dagster_home(home: Path) -> Path:
    """`DAGSTER_HOME` if set, else `<paysync home>/dagster`, created on first use.

    Keeping runs beside the SQLite file means `dagster dev` pointed at the same folder shows
    what the CLI and the demo did.
    """
    path = Path(os.environ.get("DAGSTER_HOME") or home / "dagster").resolve()
    path.mkdir(parents=True, exist_ok=True)
    # Default local storage here, without Dagster's missing-file warning or telemetry banner;
    # a dagster.yaml the user wrote is left alone.
    config = path / "dagster.yaml"
    if not config.exists() or not config.read_text().strip():
        config.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(path)
    return path


def instance(home: Path) -> dg.DagsterInstance:
    """The persistent instance at `dagster_home(home)`."""
    dagster_home(home)
    return dg.DagsterInstance.get()


def add_workspace_partitions(workspace_ids: Sequence[str], *, home: Path) -> None:
    """Make workspaces' partitions exist now, not at the sensor's next tick."""
    with instance(home) as dagster:
        existing = set(dagster.get_dynamic_partitions(WORKSPACE_PARTITIONS_NAME))
        missing = [ws for ws in workspace_ids if ws not in existing]
        if missing:
            dagster.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, missing)


def remove_workspace_partition(workspace_id: str, *, home: Path) -> None:
    """Drop a removed workspace's partition (its run history stays)."""
    with instance(home) as dagster:
        if dagster.has_dynamic_partition(WORKSPACE_PARTITIONS_NAME, workspace_id):
            dagster.delete_dynamic_partition(WORKSPACE_PARTITIONS_NAME, workspace_id)


def add_simulator_target_partition(target: str, *, home: Path) -> None:
    """Make a simulator target's partition exist now, not at the sensor's next tick."""
    with instance(home) as dagster:
        if not dagster.has_dynamic_partition(SIMULATOR_TARGET_PARTITIONS_NAME, target):
            dagster.add_dynamic_partitions(SIMULATOR_TARGET_PARTITIONS_NAME, [target])


def remove_simulator_target_partition(target: str, *, home: Path) -> None:
    """Drop a removed target's partition (its run history stays)."""
    with instance(home) as dagster:
        if dagster.has_dynamic_partition(SIMULATOR_TARGET_PARTITIONS_NAME, target):
            dagster.delete_dynamic_partition(SIMULATOR_TARGET_PARTITIONS_NAME, target)
