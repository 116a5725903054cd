"""Control API benchmark: `GET /api/v1/sync/sessions/{id}/status` under 100 pollers mid-sync.

`paysync serve` runs as a real subprocess on 127.0.0.1 over SQLite and over PostgreSQL (a
database created and dropped here). While paysync's engine fully syncs a large Stripe sandbox
(its own process) into the same database, in this process, 100 concurrent pollers (asyncio,
one keep-alive connection each) ask for the running session's status back to back. Only
requests sent while the session is still running count. Reported per backend: requests,
requests/s, p50/p99/max latency, and the sync's objects/s meanwhile. Target: p99 < 50 ms.

Run: .venv/bin/python benchmarks/control_api.py [--quick] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import RATE_LIMIT_PER_SECOND, stripe_sandbox, temporary_postgres_database

from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.providers.stripe.provider import STRIPE
from paysync_dagster.store.database import create_engine, upgrade
from paysync_dagster.store.tables import payment_sync_sessions
from paysync_dagster.store.tokens import create_token
from paysync_dagster.store.vault import KeyRing, Vault
from paysync_dagster.sync.provider_sync import SyncOptions, sync_provider_entity

POSTGRES_ADMIN_URL = os.environ.get(
    "PAYSYNC_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
WORKSPACE = "bench"
POLLERS = 100
TARGET_P99_MS = 50.0
PAYSYNC = str(Path(sys.executable).with_name("paysync"))


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class Result:
    backend: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    sync_objects_per_second: float


def _serve(url: str, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen(
        [PAYSYNC, "serve", "--port", str(port), "--webhook-workers", "0"],
        env={**env, "PAYSYNC_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise TimeoutError("paysync serve did not start")


def _running_session(engine: sa.Engine, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            session_id = connection.scalar(
                sa.select(payment_sync_sessions.c.id).where(
                    payment_sync_sessions.c.status == "running"
                )
            )
        if session_id:
            return session_id
        time.sleep(0.05)
    raise TimeoutError("the sync never opened a session")


async def _poll(base: str, path: str, headers: dict[str, str], done: threading.Event):
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=POLLERS, max_keepalive_connections=POLLERS)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=30
    ) as client:

        async def poller() -> None:
            nonlocal errors
            while not done.is_set():
                started = time.perf_counter()
                response = await client.get(path)
                elapsed = time.perf_counter() - started
                if done.is_set():
                    return  # the sync ended during this request: not "while a sync runs"
                if response.status_code != 200 or response.json()["session"]["status"] != "running":
                    errors += 1
                latencies.append(elapsed * 1000)

        await asyncio.gather(*(poller() for _ in range(POLLERS)))
    return latencies, errors


def bench_backend(backend: str, url: str, env: dict[str, str], vault: Vault, sandbox) -> Result:
    engine = create_engine(url)
    upgrade(engine)
    add_workspace(
        engine,
        vault,
        workspace_id=WORKSPACE,
        provider="stripe",
        api_key=sandbox.api_key,
        api_base=sandbox.base_url,
        rate_limit_per_second=RATE_LIMIT_PER_SECOND,
    )
    token = create_token(engine, "bench", workspace_ids=[WORKSPACE])
    server, base = _serve(url, env)
    done = threading.Event()
    outcome: dict[str, float] = {}

    def sync() -> None:
        try:
            result = sync_provider_entity(
                STRIPE, engine, vault, workspace_id=WORKSPACE, entity_type="customers",
                options=SyncOptions(batch_size=500),
            )  # fmt: skip
            outcome["objects_per_second"] = result.listed / max(result.seconds, 1e-9)
        finally:
            done.set()

    try:
        worker = threading.Thread(target=sync, name="sync")
        worker.start()
        session_id = _running_session(engine)
        headers = {"X-API-Key": token, "X-Workspace-ID": WORKSPACE}
        started = time.perf_counter()
        latencies, errors = asyncio.run(
            _poll(base, f"/api/v1/sync/sessions/{session_id}/status", headers, done)
        )
        seconds = time.perf_counter() - started
        worker.join()
    finally:
        server.terminate()
        server.wait(15)
        engine.dispose()
    return Result(
        backend,
        len(latencies),
        seconds,
        _quantile(latencies, 0.5),
        _quantile(latencies, 0.99),
        max(latencies, default=float("nan")),
        errors,
        outcome.get("objects_per_second", float("nan")),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller sandbox (shorter sync)")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    customers = 20_000 if args.quick else 60_000
    keyring = KeyRing.generate("bench")
    vault = Vault(keyring)
    load = Path("/proc/loadavg").read_text().strip()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp, stripe_sandbox(customers) as sandbox:
        env = {**os.environ, "PAYSYNC_ENCRYPTION_KEYS": keyring.to_spec(), "PAYSYNC_HOME": tmp}
        results.append(bench_backend("sqlite", f"sqlite:///{tmp}/paysync.db", env, vault, sandbox))
        if not args.skip_postgres:
            with temporary_postgres_database(POSTGRES_ADMIN_URL) as pg_url:
                results.append(bench_backend("postgresql", pg_url, env, vault, sandbox))
    print(
        f"\nGET /sessions/{{id}}/status, {POLLERS} pollers, during a sync of {customers} customers"
    )
    print(f"load average before: {load}; after: {Path('/proc/loadavg').read_text().strip()}")
    print(f"{'backend':<12}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'errors':>8}{'sync obj/s':>12}  target p99 < {TARGET_P99_MS:.0f} ms")  # fmt: skip
    for r in results:
        verdict = "ok" if r.p99_ms < TARGET_P99_MS else "MISSED"
        print(
            f"{r.backend:<12}{r.requests:>10}{r.requests / r.seconds:>9.0f}{r.p50_ms:>9.1f}"
            f"{r.p99_ms:>9.1f}{r.max_ms:>9.1f}{r.errors:>8}{r.sync_objects_per_second:>12.0f}"
            f"  {verdict}"
        )


if __name__ == "__main__":
    main()
