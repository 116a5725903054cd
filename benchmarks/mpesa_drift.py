"""M-Pesa drift at scale: detection and repair of 1M bars with 1% drift, against a SQL floor.

For SQLite and PostgreSQL: load N bars (one in ten without credentials) with 1% of them
drifted, then time and measure Python peak memory (tracemalloc) of
  detect  - `find_drift`: the check's one set-based query (count + sample),
  repair  - `repair_drift`: chunked, savepoint-isolated, locking repair,
  floor   - one plain `UPDATE … FROM (drift subquery)` doing the same repair, no isolation,
with the same drift re-created before the floor. Prints a table and one JSON line.

    .venv/bin/python benchmarks/mpesa_drift.py [--bars 1000000] [--backends sqlite,postgresql]

PostgreSQL: a database of its own is created and dropped on PAYSYNC_BENCH_POSTGRES_URL
(default postgresql://postgres@127.0.0.1:5432/postgres); loaded tables are ANALYZEd because
autovacuum may be off.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from paysync_dagster.mpesa.drift import find_drift
from paysync_dagster.mpesa.repair import repair_drift
from paysync_dagster.store.database import create_engine, upgrade

DRIFT_EVERY = 100  # 1% of bars drift
NO_CREDENTIALS_EVERY = 10  # bars with id % 10 == 5 have no credentials

FLOOR = """
UPDATE bars SET mpesa_enabled = d.expected, updated_at = CURRENT_TIMESTAMP
FROM (
    SELECT b.id, COALESCE(c.is_active, false) AS expected
    FROM bars b LEFT JOIN mpesa_credentials c ON c.bar_id = b.id
    WHERE b.mpesa_enabled <> COALESCE(c.is_active, false)
) AS d
WHERE bars.id = d.id
"""


def _load(engine: sa.Engine, n: int) -> None:
    """N consistent bars and their credentials, then 1% drift; one statement per table."""
    sqlite = engine.dialect.name == "sqlite"
    series = (
        f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "
        "SELECT i FROM s"
        if sqlite
        else f"SELECT i FROM generate_series(1, {n}) AS i"
    )
    active = "(i % 3 <> 0)"
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO bars (id, name, mpesa_enabled, created_at, updated_at) "
                f"SELECT i, 'bar ' || i, CASE WHEN i % {NO_CREDENTIALS_EVERY} = 5 THEN false "
                f"ELSE {active} END, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM ({series}) AS g"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO mpesa_credentials (bar_id, environment, business_shortcode,"
                " consumer_key_ciphertext, consumer_secret_ciphertext, passkey_ciphertext,"
                " is_active, created_at, updated_at) "
                f"SELECT i, 'sandbox', '174379', 'x', 'x', 'x', {active},"
                f" CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM ({series}) AS g"
                f" WHERE i % {NO_CREDENTIALS_EVERY} <> 5"
            )
        )
    _drift(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def _drift(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                f"UPDATE bars SET mpesa_enabled = NOT mpesa_enabled WHERE id % {DRIFT_EVERY} = 0"
            )
        )


def _measure(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, seconds, Python peak MiB)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = fn()
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result, seconds, peak


def _detect(engine: sa.Engine):
    with engine.connect() as connection:
        return find_drift(connection)


def _floor(engine: sa.Engine) -> int:
    with engine.begin() as connection:
        return connection.execute(sa.text(FLOOR)).rowcount


@contextmanager
def _database(backend: str) -> Iterator[sa.Engine]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            engine = create_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
            try:
                yield engine
            finally:
                engine.dispose()
        return
    admin_url = os.environ.get(
        "PAYSYNC_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    name = f"paysync_bench_mpesa_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = create_engine(sa.make_url(admin_url).set(database=name).render_as_string(False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise RuntimeError(f"benchmark result is wrong: {what}")


def run(backend: str, n: int) -> dict[str, Any]:
    """Load, detect, repair, re-drift, floor; each result is checked, not just timed."""
    with _database(backend) as engine:
        upgrade(engine)
        _, load_seconds, _ = _measure(lambda: _load(engine, n))
        summary, detect_s, detect_mib = _measure(lambda: _detect(engine))
        expected = n // DRIFT_EVERY
        _expect(summary.count == expected, f"detected {summary.count}, expected {expected}")
        report, repair_s, repair_mib = _measure(lambda: repair_drift(engine))
        _expect(report.repaired == expected and not report.failed, "repair fixed every bar")
        _expect(_detect(engine).count == 0, "no drift after the repair")
        _drift(engine)
        fixed, floor_s, floor_mib = _measure(lambda: _floor(engine))
        _expect(fixed == expected, "the floor updated every drifted bar")
        _expect(_detect(engine).count == 0, "no drift after the floor")
    return {
        "backend": backend,
        "bars": n,
        "drifted": expected,
        "load_s": round(load_seconds, 2),
        "detect_s": round(detect_s, 3),
        "detect_peak_mib": round(detect_mib, 2),
        "repair_s": round(repair_s, 3),
        "repair_peak_mib": round(repair_mib, 2),
        "floor_s": round(floor_s, 3),
        "floor_peak_mib": round(floor_mib, 2),
        "repair_vs_floor": round(repair_s / floor_s, 2),
        "detect_target_met": detect_s < 5,
        "repair_target_met": repair_s <= 3 * floor_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results = [run(backend, args.bars) for backend in args.backends.split(",")]
    columns = ["backend", "bars", "drifted", "detect_s", "detect_peak_mib", "repair_s",
               "repair_peak_mib", "floor_s", "floor_peak_mib", "repair_vs_floor"]  # fmt: skip
    print(" | ".join(f"{c:>15}" for c in columns))
    for result in results:
        print(" | ".join(f"{result[c]!s:>15}" for c in columns))
    print(
        json.dumps(
            {
                "benchmark": "mpesa_drift",
                "cpus": os.cpu_count(),
                "load_avg_1m_before": round(load_before, 2),
                "load_avg_1m_after": round(os.getloadavg()[0], 2),
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
