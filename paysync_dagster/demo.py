"""`paysync demo`: Stripe and PayFit workspaces synced from local sandboxes by the named jobs.

Three Stripe workspaces of different sizes, one PayFit workspace on the PayFit sandbox, and
one PayFit workspace in mock mode (placeholder credentials, never called). Everything lands
where `paysync dev` looks afterwards: the SQLite file and the Dagster instance under the
paysync home, and the sandboxes' datasets, so `paysync dev` serves them again on the same
ports. Running it again re-syncs the same workspaces (nothing is duplicated).
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from paysync_dagster import demo_simulator
from paysync_dagster.dagster_instance import add_partitions, instance
from paysync_dagster.dagster_names import WORKSPACE_PARTITIONS_NAME
from paysync_dagster.definitions import defs
from paysync_dagster.defs.syncing.keys import sync_job_name
from paysync_dagster.defs.workspaces.partitions import partition_range_tags
from paysync_dagster.providers.base import Provider
from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.providers.payfit.provider import COMPANY_ID, OAUTH_BASE, PAYFIT
from paysync_dagster.providers.stripe.provider import STRIPE
from paysync_dagster.sandbox import payfit as payfit_sandbox
from paysync_dagster.sandbox.local import SandboxRecord, record_sandbox
from paysync_dagster.sandbox.stripe import StripeDataset, StripeSandboxSettings, running_sandbox
from paysync_dagster.settings import Settings
from paysync_dagster.store.database import create_engine, upgrade
from paysync_dagster.store.key_guard import open_vault
from paysync_dagster.store.tables import payment_sync_sessions, simulator_attempts, simulator_runs
from paysync_dagster.store.vault import Vault

console = Console(width=None if sys.stdout.isatty() else 120)
_POLL_SECONDS = 0.25
PAYROLL_WORKSPACE = "demo-payroll"
MOCK_WORKSPACE = "demo-payroll-mock"
# The seed's own placeholder values: the workspace is stored, and syncs skip it in mock mode.
MOCK_API_KEY = "placeholder-payfit-key"
MOCK_COMPANY_ID = "placeholder-company-id"


@dataclass
class _Run:
    """One named job's batched run over some demo workspaces, and what to expect of it."""

    provider: Provider
    workspace_ids: list[str]
    expected: dict[str, int]
    result: dg.ExecuteInProcessResult | None = None


def _listed_by_workspace(engine: sa.Engine, since: datetime) -> dict[str, int]:
    sessions = payment_sync_sessions
    query = (
        sa.select(sessions.c.workspace_id, sa.func.sum(sessions.c.listed))
        .where(sessions.c.started_at >= since)
        .group_by(sessions.c.workspace_id)
    )
    with engine.connect() as connection:
        return {row[0]: int(row[1] or 0) for row in connection.execute(query)}


def _summary_table(engine: sa.Engine, runs: Sequence[_Run]) -> Table:
    """A row per workspace: each entity's rows and seconds, or why nothing was synced."""
    sessions = payment_sync_sessions
    run_ids = [run.result.run_id for run in runs if run.result is not None]
    query = (
        sa.select(sessions)
        .where(sessions.c.dagster_run_id.in_(run_ids))
        .order_by(sessions.c.workspace_id, sessions.c.started_at)
    )
    table = Table("workspace", "provider", "rows synced (seconds)", title="paysync demo")
    cells: dict[tuple[str, str], list[str]] = {}
    with engine.connect() as connection:
        for row in connection.execute(query):
            key = (row.workspace_id, row.provider)
            if row.status == "skipped_mock_mode":
                cells[key] = [row.error_message or "mock mode"]
                continue
            seconds = (row.finished_at - row.started_at).total_seconds() if row.finished_at else 0
            flag = "" if row.status == "completed" else f" ({row.status})"
            cells.setdefault(key, []).append(
                f"{row.entity_type} {row.listed} ({seconds:.1f}s){flag}"
            )
    for (workspace_id, provider), texts in cells.items():
        table.add_row(workspace_id, provider, ", ".join(dict.fromkeys(texts)))
    return table


def _stripe_workspaces(
    stack: ExitStack,
    engine: sa.Engine,
    vault: Vault,
    home: Path,
    sizes: Mapping[str, int],
    server_url: str,
) -> tuple[_Run, dict[str, tuple[str, str]]]:
    """The Stripe workspaces and their sandboxes (id -> (API key, URL)); the sandboxes
    deliver their webhooks to `server_url`."""
    run = _Run(STRIPE, list(sizes), {})
    sandboxes: dict[str, tuple[str, str]] = {}
    for seed, (workspace_id, customers) in enumerate(sizes.items()):
        api_key = f"sk_test_{secrets.token_hex(12)}"
        webhook_secret = f"whsec_{secrets.token_hex(16)}"
        settings = StripeSandboxSettings(
            customers=customers,
            seed=seed,
            api_key=api_key,
            webhook_urls=(f"{server_url}/webhooks/stripe/{workspace_id}",),
            webhook_secret=webhook_secret,
        )
        url = stack.enter_context(running_sandbox(settings))
        sandboxes[workspace_id] = (api_key, url)
        add_workspace(
            engine,
            vault,
            workspace_id=workspace_id,
            provider=STRIPE.name,
            api_key=api_key,
            api_base=url,
            # `paysync dev` then has the sandbox deliver signed webhooks to paysync serve.
            webhook_secret=webhook_secret,
            replace=True,
        )
        dataset = StripeDataset(customers=customers, seed=seed)
        run.expected[workspace_id] = sum(dataset.count(e) for e in STRIPE.entity_names)
        record_sandbox(home, workspace_id, SandboxRecord(STRIPE.name, customers, seed))
        console.print(f"  Stripe sandbox for {workspace_id}: {customers} customers at {url}")
    return run, sandboxes


def _payfit_workspaces(
    stack: ExitStack, engine: sa.Engine, vault: Vault, home: Path, collaborators: int
) -> _Run:
    api_key, company_id, seed = f"payfit-demo-{secrets.token_hex(12)}", "demo-company", 7
    settings = payfit_sandbox.PayfitSandboxSettings(
        collaborators=collaborators, seed=seed, api_key=api_key, company_id=company_id
    )
    url = stack.enter_context(payfit_sandbox.running_sandbox(settings))
    add_workspace(
        engine,
        vault,
        workspace_id=PAYROLL_WORKSPACE,
        provider=PAYFIT.name,
        api_key=api_key,
        api_base=url,
        options={COMPANY_ID: company_id, OAUTH_BASE: url},
        replace=True,
    )
    record_sandbox(home, PAYROLL_WORKSPACE, SandboxRecord(PAYFIT.name, collaborators, seed))
    dataset = payfit_sandbox.PayfitDataset(collaborators, seed, company_id)
    contracts = sum(dataset.contract_count(index) for index in range(collaborators))
    console.print(
        f"  PayFit sandbox for {PAYROLL_WORKSPACE}: {collaborators} collaborators at {url}"
    )
    add_workspace(
        engine,
        vault,
        workspace_id=MOCK_WORKSPACE,
        provider=PAYFIT.name,
        api_key=MOCK_API_KEY,
        options={COMPANY_ID: MOCK_COMPANY_ID},
        replace=True,
    )
    console.print(f"  {MOCK_WORKSPACE}: PayFit placeholders, so mock mode (never called)")
    return _Run(
        PAYFIT,
        [PAYROLL_WORKSPACE, MOCK_WORKSPACE],
        {PAYROLL_WORKSPACE: collaborators + contracts, MOCK_WORKSPACE: 0},
    )


def run_demo(settings: Settings, sizes: Mapping[str, int], collaborators: int) -> bool:
    """Run the demo: Stripe workspaces named in `sizes` (id -> customers), the PayFit one
    with `collaborators`, and the mock-mode one; True when every run and check passed."""
    engine = create_engine(settings.database_url)
    upgrade(engine)
    vault = open_vault(engine, os.environ, home=settings.home)
    console.print(f"[bold]paysync demo[/] database: {settings.database_url}")

    with ExitStack() as stack:
        server_url = stack.enter_context(demo_simulator.webhook_server(settings, engine, vault))
        stripe_run, sandboxes = _stripe_workspaces(
            stack, engine, vault, settings.home, sizes, server_url
        )
        runs = [
            stripe_run,
            _payfit_workspaces(stack, engine, vault, settings.home, collaborators),
        ]
        # Added in this order, each run's workspaces are one contiguous partition range.
        add_partitions(
            WORKSPACE_PARTITIONS_NAME,
            [ws for run in runs for ws in run.workspace_ids],
            home=settings.home,
        )
        _materialize_with_progress(engine, settings.home, runs)
        simulated = _simulate(engine, vault, settings.home, sandboxes)

    console.print(_summary_table(engine, runs))
    evaluations = [
        e for run in runs if run.result for e in run.result.get_asset_check_evaluations()
    ]
    if simulated is not None:
        evaluations += simulated.get_asset_check_evaluations()
    failed = [e for e in evaluations if not e.passed]
    console.print(
        f"checks: {len(evaluations) - len(failed)} of {len(evaluations)} passed"
        + "".join(
            f"\n  {'WARN' if e.severity == dg.AssetCheckSeverity.WARN else 'FAILED'}"
            f" {e.asset_key.to_user_string()}:{e.check_name} ({e.partition})"
            f" {e.description or ''}"
            for e in failed
        )
    )
    console.print(
        "\nThe demo's sandboxes stop with it. To bring them back with `paysync serve` and the"
        " Dagster UI (webserver and daemon) on these runs:\n"
        "  make dev        (or: .venv/bin/paysync dev)\n"
        "then browse Assets > stripe, payfit and simulator (partitions, runs, metadata, checks)."
    )
    errors = [e for e in failed if e.severity == dg.AssetCheckSeverity.ERROR]
    succeeded = all(run.result is not None and run.result.success for run in runs)
    return succeeded and (simulated is None or simulated.success) and not errors


def _simulate(
    engine: sa.Engine, vault: Vault, home: Path, sandboxes: Mapping[str, tuple[str, str]]
) -> dg.ExecuteInProcessResult | None:
    """One simulator run on the demo-small sandbox, its attempts printed; None without it."""
    if demo_simulator.DEMO_TARGET_WORKSPACE not in sandboxes:
        return None
    api_key, url = sandboxes[demo_simulator.DEMO_TARGET_WORKSPACE]
    console.print(
        f"  simulator target {demo_simulator.DEMO_TARGET}: Stripe checkouts on"
        f" {demo_simulator.DEMO_TARGET_WORKSPACE}'s sandbox, freshness through paysync serve"
    )
    result = demo_simulator.run_simulator(engine, vault, home, api_key=api_key, api_base=url)
    table = Table("card", "expected", "got", "status", "ms", "payment->mirror ms",
                  title="paysync simulator")  # fmt: skip
    runs = sa.select(simulator_runs.c.id).where(simulator_runs.c.dagster_run_id == result.run_id)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(simulator_attempts)
            .where(simulator_attempts.c.run_id.in_(runs))
            .order_by(simulator_attempts.c.iteration)
        ).all()
    for row in rows:
        fresh = "-" if row.freshness_ms is None else f"{row.freshness_ms:.0f}"
        table.add_row(row.card_scenario, row.expected_outcome, row.actual_outcome or "-",
                      row.status, f"{row.total_ms:.0f}", fresh)  # fmt: skip
    console.print(table)
    return result


def _materialize_with_progress(engine: sa.Engine, home: Path, runs: Sequence[_Run]) -> None:
    """Each provider's named job over its demo workspaces in one batched run, one after the
    other, with a progress bar per workspace."""
    started = datetime.now(UTC)
    failure: list[BaseException] = []

    def materialize() -> None:
        try:
            with instance(home) as dagster:
                code_location = defs()
                for run in runs:
                    # The named job, as the UI and the schedule launch it, so the run can be
                    # re-executed from the UI.
                    job = code_location.resolve_job_def(sync_job_name(run.provider))
                    run.result = job.execute_in_process(
                        instance=dagster,
                        tags=partition_range_tags(run.workspace_ids[0], run.workspace_ids[-1]),
                        # The progress bars speak on the console; the instance keeps every
                        # event.
                        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
                        raise_on_error=False,
                    )
        except BaseException as error:
            failure.append(error)

    worker = threading.Thread(target=materialize, name="paysync-demo-run")
    worker.start()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
        tasks = {
            ws: progress.add_task(ws, total=run.expected[ws] or None)
            for run in runs
            for ws in run.workspace_ids
        }
        while worker.is_alive():
            worker.join(timeout=_POLL_SECONDS)
            for workspace_id, listed in _listed_by_workspace(engine, started).items():
                if workspace_id in tasks:
                    progress.update(tasks[workspace_id], completed=listed)
    if failure:
        raise failure[0]
