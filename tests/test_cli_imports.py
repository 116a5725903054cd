"""Commands that need no Dagster do not import it, nor other heavy packages they do not use.

Each command runs in a child process, as `paysync …` runs for a user, and the test reads
which packages it imported (`-X importtime`); how long they take is measured in
benchmarks/cli_startup.py, not here. With `PAYSYNC_DAGSTER_URL` set, partitions go to the
webserver's GraphQL API, stood in for here by a small HTTP server that answers like it
(tests/dagster/test_cli_partitions.py runs the same commands against a real webserver).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from paysync_dagster.dagster_names import WORKSPACE_PARTITIONS_NAME
from paysync_dagster.store.vault import KeyRing
from tests.support import fake_api_key, run_paysync

pytestmark = pytest.mark.slow  # runs every light command as a fresh process

# Packages none of these commands need; `dagster` stands for every `dagster*` package.
# `rich` only draws tables and progress bars: a command that prints lines does without it.
HEAVY = {
    "dagster", "alembic", "stripe", "requests", "httpx", "starlette", "fastapi", "uvicorn",
    "pydantic", "yaml", "grpc", "faker", "jinja2", "rich",
}  # fmt: skip


class GraphQLStandIn(BaseHTTPRequestHandler):
    """Answers the CLI's partition mutations as the Dagster webserver does, and records them."""

    requests: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(body)
        variables = body["variables"]
        if "deleteDynamicPartitions" in body["query"]:
            data = {"deleteDynamicPartitions": {"__typename": "DeleteDynamicPartitionsSuccess"}}
        else:
            keys = [name for name in variables if name.startswith("k")]
            data = {f"p{k[1:]}": {"__typename": "AddDynamicPartitionSuccess"} for k in keys}
        answer = json.dumps({"data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def graphql_stand_in() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The stand-in's URL, and the GraphQL requests it received."""
    requests: list[dict[str, Any]] = []
    handler = type("Handler", (GraphQLStandIn,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _heavy(imported: set[str]) -> set[str]:
    return {"dagster" if name.startswith("dagster") else name for name in imported} & HEAVY


def test_commands_that_need_no_dagster_do_not_import_it(tmp_path: Path, graphql_stand_in):
    url, requests = graphql_stand_in
    env = {
        **os.environ,
        "PAYSYNC_HOME": str(tmp_path / "home"),
        "PAYSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'paysync.db'}",
        "PAYSYNC_ENCRYPTION_KEYS": KeyRing.generate("k1").to_spec(),
        "PAYSYNC_DAGSTER_URL": url,
        # An instance the commands must not touch: partitions go through the webserver.
        "DAGSTER_HOME": str(tmp_path / "untouched-dagster-home"),
    }
    rows = ["workspace_id,provider,api_key,company_id", f"ws-1,stripe,{fake_api_key()},"]
    rows += ["payroll,payfit,placeholder-payfit-key,placeholder-company-id"]
    import_file = tmp_path / "workspaces.csv"
    import_file.write_text("\n".join(rows) + "\n")
    # (command, heavy packages it may use)
    commands: list[tuple[str, set[str]]] = [
        ("db upgrade", {"alembic"}),
        (f"workspace add acme --api-key {fake_api_key()}", set()),
        (f"workspace add acme --api-key {fake_api_key()} --replace", set()),
        ("workspace add hr --provider payfit --api-key k --company-id c", set()),
        (f"workspace import {import_file}", set()),
        ("workspace list", {"rich"}),
        ("workspace remove hr", set()),
        ("token create ops --admin", set()),
        ("token list", {"rich"}),
        ("token revoke ops", set()),
        ("keys rotate", set()),
    ]
    offenders = {}
    for command, allowed in commands:
        result, imported = run_paysync(command.split(), env)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        if heavy := _heavy(imported) - allowed:
            offenders[command] = sorted(heavy)
    assert offenders == {}
    assert not (tmp_path / "untouched-dagster-home").exists()

    added = [
        [value for name, value in request["variables"].items() if name.startswith("k")]
        for request in requests
        if "deleteDynamicPartitions" not in request["query"]
    ]
    assert added == [["acme"], ["acme"], ["hr"], ["payroll", "ws-1"]]
    assert requests[-1]["variables"]["keys"] == ["hr"]
    assert {request["variables"]["name"] for request in requests} == {WORKSPACE_PARTITIONS_NAME}


def test_without_a_webserver_workspace_add_registers_in_the_local_instance(tmp_path: Path):
    """The other side of the test above (and proof that it can see a Dagster import): with
    no PAYSYNC_DAGSTER_URL, the partition goes to the instance at DAGSTER_HOME at once."""
    import dagster as dg

    env = {key: value for key, value in os.environ.items() if key != "PAYSYNC_DAGSTER_URL"}
    env |= {
        "PAYSYNC_HOME": str(tmp_path / "home"),
        "PAYSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'paysync.db'}",
        "PAYSYNC_ENCRYPTION_KEYS": KeyRing.generate("k1").to_spec(),
        "DAGSTER_HOME": str(tmp_path / "dagster"),
    }
    assert run_paysync(["db", "upgrade"], env)[0].returncode == 0
    result, imported = run_paysync(["workspace", "add", "acme", "--api-key", fake_api_key()], env)
    assert result.returncode == 0, result.stderr
    assert "dagster" in imported
    instance = dg.DagsterInstance.from_config(str(tmp_path / "dagster"))
    try:
        assert instance.get_dynamic_partitions(WORKSPACE_PARTITIONS_NAME) == ["acme"]
    finally:
        instance.dispose()
