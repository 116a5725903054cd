"""Control API benchmark: `GET /api/v1/sync/sessions/{id}/status` under 100 pollers mid-sync.

`paysync serve` runs as a real subprocess on 127.0.0.1 over SQLite and over PostgreSQL (a
database created and dropped here). While paysync's engine fully syncs a Stripe sandbox into
the same database (each in its own process; the workspace paced at Stripe's test-mode 25
requests/s, so the sync lasts), 100 concurrent pollers (asyncio, one keep-alive connection
each) ask for the running session's status once per `--interval` seconds each, at jittered
times, latency measured from each request's scheduled send time (a stalled server cannot hide
its backlog). Only requests answered while the session is still running count. Reported per
backend: requests, requests/s, p50/p99/max latency, and the sync's objects/s meanwhile.
Target: p99 < 50 ms.

Run: .venv/bin/python benchmarks/control_api.py [--quick] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import stripe_sandbox, temporary_postgres_database

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
# Stripe's test-mode budget: the sync runs as long as it would against Stripe itself.
SYNC_REQUESTS_PER_SECOND = 25.0
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


def _serve(url: str, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
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
                return process, port
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


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes):
    """One keep-alive GET: (status, body)."""
    writer.write(request)
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return int(status_line.split()[1]), await reader.readexactly(length)


async def _poll(
    port: int, path: str, headers: dict[str, str], syncing, interval: float
) -> tuple[list[float], int]:
    """`POLLERS` pollers on their own keep-alive connections (a minimal HTTP/1.1 client, as in
    webhook_ingest.py: httpx's async pool adds tens of ms at this concurrency on 2 cores)."""
    latencies: list[float] = []
    errors = 0
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode()
    start = time.perf_counter() + 2.0  # after every poller's first, untimed request

    ended = False  # the session finished before the sync's process exited

    async def poller() -> None:
        nonlocal errors, ended
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await _get(reader, writer, request)
        scheduled = start + random.uniform(0, interval)  # spread the pollers over the interval
        try:
            while syncing() and not ended:
                await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
                status, body = await _get(reader, writer, request)
                elapsed = time.perf_counter() - scheduled
                if status == 200 and b'"status":"running"' not in body:
                    ended = True
                if not syncing() or ended:
                    return  # the sync ended during this request: not "while a sync runs"
                if status != 200:
                    errors += 1
                latencies.append(elapsed * 1000)
                scheduled += interval
        finally:
            writer.close()

    await asyncio.gather(*(poller() for _ in range(POLLERS)))
    return latencies, errors


def _sync_in_child(url: str, keyring_spec: str, report) -> None:
    """The engine's full sync of the workspace's customers, in its own process."""
    engine = create_engine(url)
    result = sync_provider_entity(
        STRIPE, engine, Vault(KeyRing.parse(keyring_spec)), workspace_id=WORKSPACE,
        entity_type="customers", options=SyncOptions(batch_size=500),
    )  # fmt: skip
    report.put(result.listed / max(result.seconds, 1e-9))
    engine.dispose()


def bench_backend(
    backend: str, url: str, env: dict[str, str], keyring: KeyRing, sandbox, interval: float
) -> Result:
    engine = create_engine(url)
    upgrade(engine)
    add_workspace(
        engine,
        Vault(keyring),
        workspace_id=WORKSPACE,
        provider="stripe",
        api_key=sandbox.api_key,
        api_base=sandbox.base_url,
        rate_limit_per_second=SYNC_REQUESTS_PER_SECOND,
    )
    token = create_token(engine, "bench", workspace_ids=[WORKSPACE])
    server, port = _serve(url, env)
    spawn = multiprocessing.get_context("spawn")
    report = spawn.Queue()
    sync = spawn.Process(target=_sync_in_child, args=(url, keyring.to_spec(), report))
    try:
        sync.start()
        session_id = _running_session(engine)
        headers = {"X-API-Key": token, "X-Workspace-ID": WORKSPACE}
        started = time.perf_counter()
        latencies, errors = asyncio.run(
            _poll(
                port, f"/api/v1/sync/sessions/{session_id}/status", headers, sync.is_alive, interval
            )
        )
        seconds = time.perf_counter() - started
        objects_per_second = report.get(timeout=60)
        sync.join()
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
        objects_per_second,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller sandbox (shorter sync)")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between one poller's requests"
    )
    args = parser.parse_args()
    customers = 20_000 if args.quick else 60_000
    keyring = KeyRing.generate("bench")
    load = Path("/proc/loadavg").read_text().strip()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp, stripe_sandbox(customers) as sandbox:
        env = {**os.environ, "PAYSYNC_ENCRYPTION_KEYS": keyring.to_spec(), "PAYSYNC_HOME": tmp}
        results.append(
            bench_backend(
                "sqlite", f"sqlite:///{tmp}/paysync.db", env, keyring, sandbox, args.interval
            )
        )
        if not args.skip_postgres:
            with temporary_postgres_database(POSTGRES_ADMIN_URL) as pg_url:
                results.append(
                    bench_backend("postgresql", pg_url, env, keyring, sandbox, args.interval)
                )
    print(
        f"\nGET /sessions/{{id}}/status: {POLLERS} pollers, each every {args.interval:g} s,"
        f" during a sync of {customers} customers"
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
