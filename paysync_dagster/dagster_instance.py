"""The local Dagster instance: where the demo runs, and where CLI commands register partitions
when no webserver is configured (`PAYSYNC_DAGSTER_URL`; see `cli/context.py`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import dagster as dg


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


def add_partitions(partitions_def_name: str, keys: Sequence[str], *, home: Path) -> None:
    """Add the missing ones of `keys` to a dynamic partition set, in their order (the sensors
    would add them at their next tick; this makes them exist now)."""
    with instance(home) as dagster:
        existing = set(dagster.get_dynamic_partitions(partitions_def_name))
        missing = list(dict.fromkeys(key for key in keys if key not in existing))
        if missing:
            dagster.add_dynamic_partitions(partitions_def_name, missing)


def delete_partitions(partitions_def_name: str, keys: Sequence[str], *, home: Path) -> None:
    """Drop removed workspaces' or targets' partitions (their run history stays)."""
    with instance(home) as dagster:
        for key in keys:
            if dagster.has_dynamic_partition(partitions_def_name, key):
                dagster.delete_dynamic_partition(partitions_def_name, key)
