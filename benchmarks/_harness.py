"""Parent side of the Stripe full-sync benchmark: sandboxes, databases and worker processes.

Every contender runs in a fresh child process (`_worker.py`) so that its peak RSS is its own,
and the Stripe sandbox runs in yet another process so that serving pages never competes with
the contender for the same interpreter.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.sandbox.stripe import StripeDataset, StripeSandboxSettings, running_sandbox
from paysync_dagster.store.database import create_engine, upgrade
from paysync_dagster.store.vault import KeyRing, Vault

WORKER_SCRIPT = Path(__file__).with_name("_worker.py")
# The highest budget a workspace accepts: throughput is measured, not Stripe's 25 req/s.
RATE_LIMIT_PER_SECOND = 10_000.0


@dataclass(frozen=True)
class Sandbox:
    """A running Stripe sandbox: where it listens, the key it accepts and what it serves."""

    base_url: str
    api_key: str
    customers: int

    def objects(self, entities: Sequence[str]) -> int:
        """How many objects a full listing of `entities` returns."""
        dataset = StripeDataset(customers=self.customers)
        return sum(dataset.count(entity) for entity in entities)


@dataclass(frozen=True)
class Measurement:
    """One contender's timed sync, as reported by its worker process."""

    contender: str
    database: str
    customers: int
    objects: int
    seconds: float
    peak_rss_mb: float

    @property
    def objects_per_second(self) -> float:
        """Objects synced per wall-clock second of the sync itself."""
        return self.objects / self.seconds if self.seconds > 0 else 0.0


@contextmanager
def stripe_sandbox(customers: int) -> Iterator[Sandbox]:
    """An unthrottled, fault-free sandbox with `customers` customers in its own process."""
    settings = StripeSandboxSettings(
        customers=customers, api_key=f"sk_test_{secrets.token_hex(12)}"
    )
    with running_sandbox(settings, subprocess=True) as base_url:
        yield Sandbox(base_url=base_url, api_key=settings.api_key, customers=customers)


@contextmanager
def temporary_postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped afterwards; yields its URL."""
    name = f"paysync_bench_{secrets.token_hex(4)}"
    # paysync's own engine factory, so the benchmark uses the driver paysync chooses.
    admin = create_engine(admin_url)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def postgres_autovacuum(url: str) -> str:
    """The server's `autovacuum` setting: with it off, tables filled by a sync are never
    analyzed during the run, so the planner keeps estimating them as empty."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.scalar(sa.text("SHOW autovacuum")))
    finally:
        engine.dispose()


def prepare_paysync_database(
    url: str, keyring: KeyRing, sandbox: Sandbox, workspace_ids: Sequence[str]
) -> None:
    """Migrate the database and configure every workspace against the sandbox.

    This is deployment work (`paysync db upgrade`, `paysync workspace add`), so it happens
    here, before and outside the timed sync.
    """
    engine = create_engine(url)
    try:
        upgrade(engine)
        vault = Vault(keyring)
        for workspace_id in workspace_ids:
            add_workspace(
                engine,
                vault,
                workspace_id=workspace_id,
                provider="stripe",
                api_key=sandbox.api_key,
                api_base=sandbox.base_url,
                rate_limit_per_second=RATE_LIMIT_PER_SECOND,
            )
    finally:
        engine.dispose()


def worker_environment(workdir: Path, keyring: KeyRing) -> dict[str, str]:
    """The environment of every worker: the key ring, and dlt kept quiet and inside `workdir`."""
    return {
        **os.environ,
        "PAYSYNC_ENCRYPTION_KEYS": keyring.to_spec(),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "RUNTIME__LOG_LEVEL": "ERROR",
        "DLT_DATA_DIR": str(workdir / "dlt-data"),
    }


def run_worker(
    kind: str, spec: Mapping[str, Any], *, workdir: Path, env: Mapping[str, str]
) -> dict[str, Any]:
    """Run one contender in a fresh process and return what it reported.

    The spec and the result travel through files in `workdir`; the worker's own output goes
    to stderr so that stdout carries only the report. A failing worker raises.
    """
    stem = f"{kind}-{secrets.token_hex(4)}"
    spec_path = workdir / f"{stem}.spec.json"
    result_path = workdir / f"{stem}.result.json"
    spec_path.write_text(json.dumps(spec))
    # argv from sys.executable and our own paths, no shell.
    subprocess.run(
        [sys.executable, str(WORKER_SCRIPT), kind, str(spec_path), str(result_path)],
        check=True,
        stdout=sys.stderr,
        env=dict(env),
        cwd=workdir,
    )
    return json.loads(result_path.read_text())


def measure(
    contender: str,
    database: str,
    kind: str,
    spec: Mapping[str, Any],
    *,
    expected_objects: int,
    customers: int,
    workdir: Path,
    env: Mapping[str, str],
) -> Measurement:
    """Run a contender and check it synced exactly the objects the sandbox serves."""
    print(
        f"[bench] {contender}: {customers} customers, {expected_objects} objects", file=sys.stderr
    )
    result = run_worker(kind, spec, workdir=workdir, env=env)
    if result["objects"] != expected_objects:
        raise RuntimeError(
            f"{contender} synced {result['objects']} objects, expected {expected_objects}"
        )
    measurement = Measurement(
        contender=contender,
        database=database,
        customers=customers,
        objects=result["objects"],
        seconds=result["seconds"],
        peak_rss_mb=result["peak_rss_mb"],
    )
    print(
        f"[bench] {contender}: {measurement.seconds:.1f}s,"
        f" {measurement.objects_per_second:,.0f} objects/s,"
        f" peak RSS {measurement.peak_rss_mb:.0f} MB",
        file=sys.stderr,
    )
    return measurement
