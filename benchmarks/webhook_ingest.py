"""Webhook ingest benchmark: signed Stripe events at rising rates against `paysync serve`.

`paysync serve` runs as a real subprocess on 127.0.0.1 over SQLite and over PostgreSQL (a
database created and dropped here). A small asyncio HTTP/1.1 client (keep-alive connections,
open-loop pacing, latency measured from each event's scheduled send time, so a stalled server
cannot hide its backlog) sends `customer.created` events, 2% of them delivered twice.

Reported per backend and rate: accepted events/s, p50/p99 acknowledgement latency, p50/p99
event-to-row latency (the row's `synced_at` minus the send time; same clock, same machine),
and an exactly-once count: distinct acknowledged events = inbox rows = customer rows, every
inbox row applied, none claimed twice. A baseline in the same run: a bare Starlette endpoint
doing one plain INSERT + COMMIT per request. A second scenario SIGKILLs the server mid-load,
restarts it, and checks every acknowledged event was applied exactly once. A third sends 500
events/s with one poison event per second, alternating an event whose object cannot be mapped
(through the receiver) and an event nested 1,000 levels deep written straight into the inbox
(as a writer without the receiver's bounds could): the good events' p99 event-to-row must stay
under 1 s and every poison event must be dead-lettered.

Run: .venv/bin/python benchmarks/webhook_ingest.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contextlib

from _harness import temporary_postgres_database

from paysync_dagster.providers.configure import add_workspace
from paysync_dagster.store.database import SerializedJson, create_engine, upgrade
from paysync_dagster.store.tables import customers, webhook_inbox
from paysync_dagster.store.upsert import as_utc
from paysync_dagster.store.vault import KeyRing, Vault
from paysync_dagster.webhooks.signature import sign_header

T = TypeVar("T")
POSTGRES_ADMIN_URL = os.environ.get(
    "PAYSYNC_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
WORKSPACE = "bench"
CONNECTIONS = 64
DUPLICATE_EVERY = 50
PAYSYNC = str(Path(sys.executable).with_name("paysync"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- load generator -------------------------------------------------------------------------


@dataclass
class Delivery:
    customer_id: str
    request: bytes
    scheduled: float = 0.0
    sent_wall: float = 0.0
    status: int = 0
    latency: float = 0.0


async def _connection(port: int, queue: asyncio.Queue) -> None:
    reader = writer = None
    while True:
        delivery = await queue.get()
        if delivery is None:
            break
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(delivery.request)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            delivery.status = int(status_line.split()[1])
        except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
            delivery.status = -1
            if writer is not None:
                writer.close()
            reader = writer = None
        delivery.latency = time.perf_counter() - delivery.scheduled
    if writer is not None:
        writer.close()


def _request(secret: str, event_id: str, customer_id: str, *, poison: bool = False) -> bytes:
    created = int(time.time())
    # A poison event's email is an object: it passes the receiver and fails the mapping.
    email = {"not": "an email"} if poison else f"{customer_id}@bench.test"
    body = orjson.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "customer.created",
            "created": created,
            "data": {
                "object": {
                    "id": customer_id,
                    "object": "customer",
                    "created": created,
                    "email": email,
                    "name": "Bench Customer",
                    "balance": 0,
                    "delinquent": False,
                }
            },
        }
    )
    head = (
        f"POST /webhooks/stripe/{WORKSPACE} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nStripe-Signature: {sign_header(secret, body)}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _send(port: int, deliveries: list[Delivery], rate: float | None) -> float:
    """Send at `rate` per second (None: as fast as the connections allow); returns seconds."""
    queue: asyncio.Queue = asyncio.Queue()
    workers = [asyncio.create_task(_connection(port, queue)) for _ in range(CONNECTIONS)]
    start = time.perf_counter()
    for n, delivery in enumerate(deliveries):
        if rate is not None:
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        delivery.scheduled = time.perf_counter() if rate is None else start + n / rate
        delivery.sent_wall = time.time()
        queue.put_nowait(delivery)
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return time.perf_counter() - start


def make_deliveries(secret: str, prefix: str, count: int) -> list[Delivery]:
    """`count` events, every DUPLICATE_EVERY-th one delivered a second time."""
    deliveries = []
    for n in range(count):
        customer_id = f"cus_{prefix}_{n}"
        request = _request(secret, f"evt_{prefix}_{n}", customer_id)
        deliveries.append(Delivery(customer_id, request))
        if n % DUPLICATE_EVERY == 0:
            deliveries.append(Delivery(customer_id, request))
    return deliveries


# -- servers --------------------------------------------------------------------------------


@dataclass
class Server:
    command: list[str]
    env: dict[str, str]
    port: int
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
                    if b" 200 " in sock.recv(200):
                        return
            except OSError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            time.sleep(0.05)
        raise TimeoutError("server did not become ready")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(15)


def paysync_server(url: str, env: dict[str, str], *options: str) -> Server:
    port = _free_port()
    command = [
        PAYSYNC,
        "serve",
        "--port",
        str(port),
        "--webhook-rate-limit",
        "1000000",
        "--webhook-lease-seconds",
        "3",
        *options,
    ]
    return Server(command, {**env, "PAYSYNC_DATABASE_URL": url}, port)


def baseline_server(url: str, env: dict[str, str]) -> Server:
    port = _free_port()
    command = [sys.executable, __file__, "--baseline-server", url, "--port", str(port)]
    return Server(command, env, port)


def run_baseline_server(url: str, port: int) -> None:
    """A bare Starlette endpoint: parse JSON, one INSERT, one COMMIT per request."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    engine = create_engine(url)
    table = sa.Table(
        "baseline_events",
        sa.MetaData(),
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("body", sa.Text),
    )
    table.metadata.create_all(engine)

    def store(event_id: str, body: str) -> None:
        with engine.begin() as connection:
            connection.execute(sa.insert(table).values(id=event_id, body=body))

    async def receive(request: Request) -> JSONResponse:
        from starlette.concurrency import run_in_threadpool

        body = await request.body()
        event = orjson.loads(body)
        with contextlib.suppress(sa.exc.IntegrityError):
            await run_in_threadpool(store, event["id"], body.decode())
        return JSONResponse({"received": True})

    async def ready(_request: Request) -> JSONResponse:
        return JSONResponse({})

    app = Starlette(
        routes=[
            Route("/webhooks/stripe/{workspace_id}", receive, methods=["POST"]),
            Route("/readyz", ready),
        ]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- measurement ----------------------------------------------------------------------------


@dataclass
class StepResult:
    backend: str
    target: str
    sent: int
    acked: int
    failed: int
    accepted_per_second: float
    ack_p50_ms: float
    ack_p99_ms: float
    row_p50_ms: float = float("nan")
    row_p99_ms: float = float("nan")
    exactly_once: str = "-"
    notes: list[str] = field(default_factory=list)


def _wait_applied(engine: sa.Engine, prefix: str, expected: int, timeout: float = 60.0) -> int:
    """Applied inbox rows once at least `expected` are and every stored row is (an event
    stored by a killed server is applied after its lease expires), or at the deadline."""
    deadline = time.monotonic() + timeout
    query = sa.text(
        "SELECT count(*) FILTER (WHERE status = 'applied'), count(*) FROM webhook_inbox"
        " WHERE provider_event_id LIKE :p"
    )
    while True:
        with engine.connect() as connection:
            applied, stored = connection.execute(query, {"p": f"evt_{prefix}_%"}).one()
        if (applied >= expected and applied == stored) or time.monotonic() > deadline:
            return applied
        time.sleep(0.05)


def verify(engine: sa.Engine, prefix: str, deliveries: list[Delivery]) -> tuple[str, list[float]]:
    """Exactly-once check and event-to-row latencies for one step."""
    acked = {d.customer_id for d in deliveries if 200 <= d.status < 300}
    sent_at: dict[str, float] = {}
    for d in deliveries:
        if 200 <= d.status < 300:
            sent_at.setdefault(d.customer_id, d.sent_wall)
    applied = _wait_applied(engine, prefix, len(acked))
    with engine.connect() as connection:
        inbox = connection.execute(
            sa.text(
                "SELECT provider_event_id, status, attempts FROM webhook_inbox"
                " WHERE provider_event_id LIKE :p"
            ),
            {"p": f"evt_{prefix}_%"},
        ).all()
        rows = connection.execute(
            sa.select(customers.c.external_id, customers.c.synced_at).where(
                customers.c.external_id.like(f"cus_{prefix}_%")
            )
        ).all()
    row_ids = [r.external_id for r in rows]
    stored_ids = {r.provider_event_id.replace("evt_", "cus_", 1) for r in inbox}
    lost = acked - set(row_ids)
    problems = []
    if lost:
        problems.append(f"{len(lost)} acknowledged event(s) without a row")
    if len(row_ids) != len(set(row_ids)):
        problems.append("duplicate rows")
    if len(inbox) != len(stored_ids):
        problems.append("duplicate inbox rows")
    if applied != len(inbox):
        problems.append(f"{len(inbox) - applied} inbox row(s) not applied")
    reclaimed = sum(1 for r in inbox if r.attempts > 1)
    latencies = [
        as_utc(r.synced_at).timestamp() - sent_at[r.external_id]
        for r in rows
        if r.external_id in sent_at
    ]
    verdict = (
        "ok" if not problems else "; ".join(problems)
    ) + f" (acked {len(acked)}, rows {len(row_ids)}, inbox {len(inbox)}, re-claimed {reclaimed})"
    return verdict, latencies


def _run_frozen(main: Coroutine[Any, Any, T]) -> T:
    """Run the client with what is allocated so far out of the collector's sight: a full
    collection over the prepared deliveries paused it for up to 100 ms, read as server
    latency."""
    gc.collect()
    gc.freeze()
    try:
        return asyncio.run(main)
    finally:
        gc.unfreeze()


def run_step(
    backend: str, server: Server, engine: sa.Engine | None, secret: str, rate: float | None,
    seconds: float, label: str,
) -> StepResult:  # fmt: skip
    count = int((rate or 3000) * seconds)
    prefix = f"{label}{secrets.token_hex(3)}"
    deliveries = make_deliveries(secret, prefix, count)
    elapsed = _run_frozen(_send(server.port, deliveries, rate))
    ok = [d for d in deliveries if 200 <= d.status < 300]
    last_ack = max((d.scheduled + d.latency for d in ok), default=0.0)
    first = min((d.scheduled for d in deliveries), default=0.0)
    span = max(elapsed, last_ack - first)
    result = StepResult(
        backend=backend,
        target="max" if rate is None else f"{rate:.0f}/s",
        sent=len(deliveries),
        acked=len(ok),
        failed=len(deliveries) - len(ok),
        accepted_per_second=len(ok) / span if span else 0.0,
        ack_p50_ms=_quantile([d.latency for d in ok], 0.5) * 1000,
        ack_p99_ms=_quantile([d.latency for d in ok], 0.99) * 1000,
    )
    if engine is not None:
        result.exactly_once, latencies = verify(engine, prefix, deliveries)
        result.row_p50_ms = _quantile(latencies, 0.5) * 1000
        result.row_p99_ms = _quantile(latencies, 0.99) * 1000
    return result


def crash_scenario(backend: str, url: str, env: dict[str, str], secret: str) -> StepResult:
    """Load at 500/s; SIGKILL the server a third of the way in; restart; keep sending."""
    server = paysync_server(url, env)
    server.start()
    engine = create_engine(url)
    prefix = f"crash{secrets.token_hex(3)}"
    deliveries = make_deliveries(secret, prefix, 3000)

    async def load_and_kill() -> None:
        sender = asyncio.create_task(_send(server.port, deliveries, 500.0))
        await asyncio.sleep(2.0)
        server.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(server.process.wait)
        await asyncio.to_thread(server.start)
        await sender

    try:
        _run_frozen(load_and_kill())
        verdict, latencies = verify(engine, prefix, deliveries)
    finally:
        server.stop()
        engine.dispose()
    ok = [d for d in deliveries if 200 <= d.status < 300]
    return StepResult(
        backend=backend,
        target="500/s + SIGKILL",
        sent=len(deliveries),
        acked=len(ok),
        failed=len(deliveries) - len(ok),
        accepted_per_second=float("nan"),
        ack_p50_ms=_quantile([d.latency for d in ok], 0.5) * 1000,
        ack_p99_ms=_quantile([d.latency for d in ok], 0.99) * 1000,
        row_p50_ms=_quantile(latencies, 0.5) * 1000,
        row_p99_ms=_quantile(latencies, 0.99) * 1000,
        exactly_once=verdict,
    )


POISON_RATE = 500.0
POISON_SECONDS = 10
POISON_MAX_ATTEMPTS = 3


def _store_deep_event(engine: sa.Engine, event_id: str) -> None:
    """An event nested 1,000 levels deep, written into the inbox around the receiver."""
    deep = "[" * 1000 + "]" * 1000
    payload = (
        f'{{"id":"{event_id}","object":"event","type":"customer.updated","created":'
        f'{int(time.time())},"data":{{"object":{{"id":"cus_{event_id}","object":"customer",'
        f'"metadata":{{"x":{deep}}}}}}}}}'
    )
    now = sa.func.current_timestamp()
    with engine.begin() as connection:
        connection.execute(
            sa.insert(webhook_inbox).values(
                workspace_id=WORKSPACE,
                provider="stripe",
                provider_event_id=event_id,
                event_type="customer.updated",
                source="webhook",
                payload=SerializedJson(payload),
                event_created_at=now,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                received_at=now,
            )
        )


def _wait_dead(engine: sa.Engine, pattern: str, expected: int, timeout: float = 90.0) -> int:
    deadline = time.monotonic() + timeout
    query = sa.text(
        "SELECT count(*) FROM webhook_inbox WHERE provider_event_id LIKE :p AND status = 'dead'"
    )
    while True:
        with engine.connect() as connection:
            dead = connection.scalar(query, {"p": pattern})
        if dead >= expected or time.monotonic() > deadline:
            return dead
        time.sleep(0.2)


def poison_scenario(backend: str, url: str, env: dict[str, str], secret: str) -> StepResult:
    """500 good events/s and one poison event per second, alternating its kind."""
    server = paysync_server(url, env, "--webhook-max-attempts", str(POISON_MAX_ATTEMPTS))
    server.start()
    engine = create_engine(url)
    prefix = f"poison{secrets.token_hex(3)}"
    poison_prefix = f"evt_bad{prefix}"
    good = make_deliveries(secret, prefix, int(POISON_RATE * POISON_SECONDS))
    # Every 2 s one unmappable event in the stream, and 1 s later one deep event beside it.
    mixed = list(good)
    every = int(2 * POISON_RATE)
    for n, slot in enumerate(range(every // 4, len(good), every)):
        request = _request(secret, f"{poison_prefix}_http{n}", f"cus_bad_{n}", poison=True)
        mixed.insert(slot + n, Delivery(f"cus_bad_{n}", request))
    http_poison = len(mixed) - len(good)

    async def load() -> int:
        sender = asyncio.create_task(_send(server.port, mixed, POISON_RATE))
        stored = 0
        await asyncio.sleep(1.5)
        while not sender.done():
            await asyncio.to_thread(_store_deep_event, engine, f"{poison_prefix}_deep{stored}")
            stored += 1
            await asyncio.sleep(2.0)
        await sender
        return stored

    try:
        deep_poison = _run_frozen(load())
        verdict, latencies = verify(engine, prefix, good)
        dead = _wait_dead(engine, f"{poison_prefix}_%", http_poison + deep_poison)
    finally:
        server.stop()
        engine.dispose()
    ok = [d for d in good if 200 <= d.status < 300]
    poison = http_poison + deep_poison
    return StepResult(
        backend=backend,
        target="500/s + 1 poison/s",
        sent=len(mixed),
        acked=len(ok),
        failed=len(good) - len(ok),
        accepted_per_second=float("nan"),
        ack_p50_ms=_quantile([d.latency for d in ok], 0.5) * 1000,
        ack_p99_ms=_quantile([d.latency for d in ok], 0.99) * 1000,
        row_p50_ms=_quantile(latencies, 0.5) * 1000,
        row_p99_ms=_quantile(latencies, 0.99) * 1000,
        exactly_once=f"{verdict}; poison dead-lettered {dead}/{poison}",
    )


def prepare(url: str, keyring: KeyRing) -> str:
    engine = create_engine(url)
    upgrade(engine)
    secret = f"whsec_{secrets.token_hex(24)}"
    add_workspace(
        engine,
        Vault(keyring),
        workspace_id=WORKSPACE,
        provider="stripe",
        api_key=f"sk_test_{secrets.token_hex(12)}",
        webhook_secret=secret,
    )
    engine.dispose()
    return secret


def bench_backend(backend: str, url: str, baseline_url: str, env, keyring, rates, seconds):
    results = []
    secret = prepare(url, keyring)
    baseline = baseline_server(baseline_url, env)
    baseline.start()
    try:
        results.append(run_step(f"{backend} baseline", baseline, None, secret, None, seconds, "b"))
        results.append(run_step(f"{backend} baseline", baseline, None, secret, 500.0, seconds, "b"))
    finally:
        baseline.stop()
    server = paysync_server(url, env)
    server.start()
    engine = create_engine(url)
    try:
        for rate in rates:
            results.append(run_step(backend, server, engine, secret, rate, seconds, "r"))
        results.append(run_step(backend, server, engine, secret, None, seconds, "m"))
    finally:
        server.stop()
        engine.dispose()
    results.append(crash_scenario(backend, url, env, secret))
    results.append(poison_scenario(backend, url, env, secret))
    return results


def print_table(results: list[StepResult], load: str) -> None:
    header = (
        f"{'backend':<22} {'target':<16} {'sent':>6} {'acked':>6} {'fail':>5} {'acc/s':>7}"
        f" {'ack p50':>8} {'ack p99':>8} {'row p50':>8} {'row p99':>8}  exactly-once"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.backend:<22} {r.target:<16} {r.sent:>6} {r.acked:>6} {r.failed:>5}"
            f" {r.accepted_per_second:>7.0f} {r.ack_p50_ms:>6.1f}ms {r.ack_p99_ms:>6.1f}ms"
            f" {r.row_p50_ms:>6.0f}ms {r.row_p99_ms:>6.0f}ms  {r.exactly_once}"
        )
    print(f"machine: {os.cpu_count()} cores; load average before the run: {load}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rates, shorter steps")
    parser.add_argument("--baseline-server", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    if args.baseline_server:
        run_baseline_server(args.baseline_server, args.port)
        return
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    rates = [250.0, 500.0, 1000.0] if args.quick else [250.0, 500.0, 1000.0, 1500.0, 2000.0]
    seconds = 3.0 if args.quick else 5.0
    keyring = KeyRing.generate("bench")
    results: list[StepResult] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "PAYSYNC_ENCRYPTION_KEYS": keyring.to_spec(),
            "PAYSYNC_HOME": tmp,
        }
        sqlite_url = f"sqlite:///{tmp}/paysync.db"
        results += bench_backend(
            "sqlite", sqlite_url, f"sqlite:///{tmp}/baseline.db", env, keyring, rates, seconds
        )
        if not args.skip_postgres:
            with temporary_postgres_database(POSTGRES_ADMIN_URL) as pg_url:
                results += bench_backend("postgresql", pg_url, pg_url, env, keyring, rates, seconds)
    print_table(results, load)
    print(json.dumps({"benchmark": "webhook_ingest", "load_average": load, "results": [
        {k: v for k, v in r.__dict__.items() if k != "notes"} for r in results
    ]}))  # fmt: skip


if __name__ == "__main__":
    main()
