"""With `PAYSYNC_DAGSTER_URL`, the CLI registers partitions through a real Dagster webserver.

`paysync workspace add|import|remove` and `simulator target add|remove` run as child
processes against the webserver of the `dagster_webserver` fixture (conftest.py), with
their own DAGSTER_HOME pointing elsewhere: the partitions must appear in (and leave) the
webserver's instance, and no command may import Dagster. A partition it refuses is a clear
error.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

from paysync_dagster.dagster_graphql_api import (
    PARTITIONS_PER_REQUEST,
    DagsterApiError,
    add_partitions,
)
from paysync_dagster.dagster_names import (
    SIMULATOR_TARGET_PARTITIONS_NAME,
    WORKSPACE_PARTITIONS_NAME,
)
from tests.support import fake_api_key, run_paysync

pytestmark = pytest.mark.slow  # starts a Dagster webserver


def _partitions(name: str) -> list[str]:
    """The partitions in the webserver's instance (DAGSTER_HOME in this process)."""
    with dg.DagsterInstance.get() as instance:
        return list(instance.get_dynamic_partitions(name))


def test_cli_registers_partitions_through_the_webserver(
    tmp_path: Path, dagster_webserver: str
) -> None:
    env = {
        **os.environ,
        "PAYSYNC_DAGSTER_URL": dagster_webserver,
        "DAGSTER_HOME": str(tmp_path / "cli-dagster-home"),  # must stay unused
    }

    def paysync(*args: str) -> str:
        result, imported = run_paysync(list(args), env)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        assert not {name for name in imported if name.startswith("dagster")}, args
        return result.stdout

    paysync("workspace", "add", "acme", "--api-key", fake_api_key())
    assert _partitions(WORKSPACE_PARTITIONS_NAME) == ["acme"]
    paysync("workspace", "add", "acme", "--api-key", fake_api_key(), "--replace")
    assert _partitions(WORKSPACE_PARTITIONS_NAME) == ["acme"]

    # More rows than one request carries, one of them already a partition.
    ids = [f"ws-{i:03d}" for i in range(PARTITIONS_PER_REQUEST + 20)]
    rows = ["workspace_id,api_key", *(f"{ws},{fake_api_key()}" for ws in ids)]
    rows.append(f"acme,{fake_api_key()}")
    (tmp_path / "workspaces.csv").write_text("\n".join(rows) + "\n")
    imported = paysync("workspace", "import", str(tmp_path / "workspaces.csv"), "--replace")
    assert f"{len(ids) + 1} workspace configuration(s) imported" in imported
    assert sorted(_partitions(WORKSPACE_PARTITIONS_NAME)) == ["acme", *ids]

    paysync("workspace", "remove", "acme")
    assert sorted(_partitions(WORKSPACE_PARTITIONS_NAME)) == ids

    gateway = "http://127.0.0.1:9"
    paysync(
        "simulator", "target", "add", "gw", "--kind", "gateway",
        "--tokenization-url", f"{gateway}/v1/tokenize", "--checkout-url", f"{gateway}/v1/checkouts",
        "--payment-url", f"{gateway}/v1/payments", "--form-id", "1", "--merchant-id", "2",
    )  # fmt: skip
    assert _partitions(SIMULATOR_TARGET_PARTITIONS_NAME) == ["gw"]
    paysync("simulator", "target", "remove", "gw")
    assert _partitions(SIMULATOR_TARGET_PARTITIONS_NAME) == []
    assert not (tmp_path / "cli-dagster-home").exists()

    # What the webserver refuses is named (one webserver start is enough for both).
    with pytest.raises(DagsterApiError, match="refused partition 'x' of 'no_such_set'"):
        add_partitions(dagster_webserver, "no_such_set", ["x"])
