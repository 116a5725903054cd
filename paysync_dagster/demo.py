"""`paysync demo`: three workspaces synced from local Stripe sandboxes through real Dagster runs.

Everything lands where `dagster dev` looks afterwards: the SQLite file and the Dagster instance
under the paysync home. Running it again re-syncs the same workspaces (nothing is duplicated).
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

from paysync_dagster.dagster_instance import add_workspace_partitions, dagster_home, instance
from paysync_dagster.defs.resources import DatabaseResource, StripeSyncResource, VaultResource
from paysync_dagster.defs.stripe.assets import STRIPE_LINEAGE, stripe_assets
from paysync_dagster.defs.workspaces.partitions import partition_range_tags
from paysync_dagster.sandbox.stripe import StripeDataset, StripeSandboxSettings, running_sandbox
from paysync_dagster.settings import Settings
from paysync_dagster.store.database import create_engine, upgrade
from paysync_dagster.store.tables import payment_sync_sessions
from paysync_dagster.store.vault import Vault
from paysync_dagster.store.workspaces import add_workspace

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
    table = Table("workspace", *STRIPE_LINEAGE, title="rows synced (seconds)")
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
        table.add_row(workspace_id, *(by_entity.get(entity, "-") for entity in STRIPE_LINEAGE))
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
                replace=True,
            )
            dataset = StripeDataset(customers=customers, seed=seed)
            expected[workspace_id] = sum(dataset.count(entity) for entity in STRIPE_LINEAGE)
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
    home = dagster_home(settings.home)
    console.print(
        "\nOpen the Dagster UI on these runs:\n"
        f"  DAGSTER_HOME={home} .venv/bin/dagster dev -m paysync_dagster.definitions\n"
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
                outcome["result"] = dg.materialize(
                    stripe_assets,
                    instance=dagster,
                    tags=partition_range_tags(workspace_ids[0], workspace_ids[-1]),
                    # The progress bars speak on the console; the instance keeps every event.
                    run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                    resources={
                        "database": DatabaseResource(
                            url=engine.url.render_as_string(hide_password=False)
                        ),
                        "vault": VaultResource(home=str(home)),
                        "stripe_sync": StripeSyncResource(),
                    },
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
