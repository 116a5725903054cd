"""`paysync demo`: three workspaces synced from local Stripe sandboxes by the `stripe_sync` job.

Everything lands where `paysync dev` looks afterwards: the SQLite file and the Dagster instance
under the paysync home, and the sandboxes' datasets, so `paysync dev` can serve them again on
the same ports. Running it again re-syncs the same workspaces (nothing is duplicated).
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
from collections.abc import Mapping
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from paysync_dagster.dagster_instance import add_workspace_partitions, instance
from paysync_dagster.definitions import defs
from paysync_dagster.defs.stripe.jobs import stripe_sync_job
from paysync_dagster.defs.workspaces.partitions import partition_range_tags
from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.providers.stripe.entities import ENTITIES as STRIPE_ENTITIES
from paysync_dagster.sandbox.local import SandboxRecord, record_sandbox
from paysync_dagster.sandbox.stripe import StripeDataset, StripeSandboxSettings, running_sandbox
from paysync_dagster.settings import Settings
from paysync_dagster.store.database import create_engine, upgrade
from paysync_dagster.store.tables import payment_sync_sessions
from paysync_dagster.store.vault import Vault

console = Console(width=None if sys.stdout.isatty() else 120)
_POLL_SECONDS = 0.25


def _listed_by_workspace(engine: sa.Engine, since: datetime) -> dict[str, int]:
    sessions = payment_sync_sessions
    query = (
        sa.select(sessions.c.workspace_id, sa.func.sum(sessions.c.listed))
        .where(sessions.c.started_at >= since)
        .group_by(sessions.c.workspace_id)
    )
    with engine.connect() as connection:
        return {row[0]: int(row[1] or 0) for row in connection.execute(query)}


def _summary_table(engine: sa.Engine, run_id: str) -> Table:
    sessions = payment_sync_sessions
    query = (
        sa.select(sessions)
        .where(sessions.c.dagster_run_id == run_id)
        .order_by(sessions.c.workspace_id, sessions.c.started_at)
    )
    table = Table("workspace", *STRIPE_ENTITIES, title="rows synced (seconds)")
    for column in table.columns:
        column.no_wrap = True
    cells: dict[str, dict[str, str]] = {}
    with engine.connect() as connection:
        for row in connection.execute(query):
            seconds = (row.finished_at - row.started_at).total_seconds() if row.finished_at else 0
            cells.setdefault(row.workspace_id, {})[row.entity_type] = (
                f"{row.listed} ({seconds:.1f}s)" + ("" if row.status == "completed" else " !")
            )
    for workspace_id, by_entity in cells.items():
        table.add_row(workspace_id, *(by_entity.get(entity, "-") for entity in STRIPE_ENTITIES))
    return table


def run_demo(settings: Settings, sizes: Mapping[str, int]) -> bool:
    """Run the demo for workspaces named in `sizes` (id -> customers); True when all passed."""
    engine = create_engine(settings.database_url)
    upgrade(engine)
    vault = Vault.from_environment(os.environ, home=settings.home)
    console.print(f"[bold]paysync demo[/] database: {settings.database_url}")

    with ExitStack() as stack:
        expected: dict[str, int] = {}
        for seed, (workspace_id, customers) in enumerate(sizes.items()):
            api_key = f"sk_test_{secrets.token_hex(12)}"
            url = stack.enter_context(
                running_sandbox(
                    StripeSandboxSettings(customers=customers, seed=seed, api_key=api_key)
                )
            )
            add_workspace(
                engine,
                vault,
                workspace_id=workspace_id,
                provider="stripe",
                api_key=api_key,
                api_base=url,
                # `paysync dev` then has the sandbox deliver signed webhooks to paysync serve.
                webhook_secret=f"whsec_{secrets.token_hex(16)}",
                replace=True,
            )
            dataset = StripeDataset(customers=customers, seed=seed)
            expected[workspace_id] = sum(dataset.count(entity) for entity in STRIPE_ENTITIES)
            record_sandbox(settings.home, workspace_id, SandboxRecord(customers, seed))
            console.print(f"  sandbox for {workspace_id}: {customers} customers at {url}")

        workspace_ids = list(sizes)
        add_workspace_partitions(workspace_ids, home=settings.home)
        result = _materialize_with_progress(engine, settings.home, workspace_ids, expected)

    console.print(_summary_table(engine, result.run_id))
    evaluations = result.get_asset_check_evaluations()
    failed_checks = [e for e in evaluations if not e.passed]
    console.print(
        f"checks: {len(evaluations) - len(failed_checks)} of {len(evaluations)} passed"
        + "".join(
            f"\n  FAILED {e.asset_key.to_user_string()}:{e.check_name}" for e in failed_checks
        )
    )
    console.print(
        "\nThe demo's sandboxes stop with it. To bring them back with `paysync serve` and the"
        " Dagster UI (webserver and daemon) on these runs:\n"
        "  make dev        (or: .venv/bin/paysync dev)\n"
        "then browse Assets > stripe (partitions, runs, metadata and checks)."
    )
    return result.success and not failed_checks


def _materialize_with_progress(
    engine: sa.Engine, home: Path, workspace_ids: list[str], expected: Mapping[str, int]
) -> dg.ExecuteInProcessResult:
    """One batched Dagster run over all demo workspaces, with a progress bar per workspace."""
    started = datetime.now(UTC)
    outcome: dict[str, dg.ExecuteInProcessResult | BaseException] = {}

    def materialize() -> None:
        try:
            with instance(home) as dagster:
                # The named job, as the UI and the schedule launch it, so the run can be
                # re-executed from the UI.
                job = defs().resolve_job_def(stripe_sync_job.name)
                outcome["result"] = job.execute_in_process(
                    instance=dagster,
                    tags=partition_range_tags(workspace_ids[0], workspace_ids[-1]),
                    # The progress bars speak on the console; the instance keeps every event.
                    run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                    raise_on_error=False,
                )
        except BaseException as error:
            outcome["result"] = error

    worker = threading.Thread(target=materialize, name="paysync-demo-run")
    worker.start()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
        tasks = {ws: progress.add_task(ws, total=expected[ws]) for ws in workspace_ids}
        while worker.is_alive():
            worker.join(timeout=_POLL_SECONDS)
            for workspace_id, listed in _listed_by_workspace(engine, started).items():
                if workspace_id in tasks:
                    progress.update(tasks[workspace_id], completed=listed)
    result = outcome["result"]
    if isinstance(result, BaseException):
        raise result
    return result
