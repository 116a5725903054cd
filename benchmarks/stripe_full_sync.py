"""Stripe full-sync benchmark: paysync against a raw fetch ceiling and dlt's `rest_api` source.

Case 1 serves N customers and their products, prices, subscriptions and invoices from a local
Stripe sandbox and syncs all five entities with each contender, each in a fresh process:

- `raw`: the same pages fetched with httpx and parsed, nothing stored: the ceiling;
- `paysync-sqlite`, `paysync-postgres`: paysync's engine, one workspace, lineage order;
- `dlt-sqlite`, `dlt-postgres`: dlt's generic `rest_api` source into the same backend;
- `paysync-sqlite-4n`: paysync again at 4N customers, to show memory stays flat.

Case 2 syncs W workspaces of M customers each in one batched Dagster run, then the same number
of objects in one workspace, and reports the fixed cost per workspace.

Prints a table, PASS/FAIL per target, and last one JSON line with every figure. The exit code
is 0 whatever the figures (this is a measurement); only a crash exits non-zero.

    python benchmarks/stripe_full_sync.py            # 100k customers, 4N, 200 x 500
    python benchmarks/stripe_full_sync.py --quick    # a smoke run, well under a minute
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from _harness import (
    RATE_LIMIT_PER_SECOND,
    Measurement,
    Sandbox,
    measure,
    postgres_autovacuum,
    prepare_paysync_database,
    stripe_sandbox,
    temporary_postgres_database,
    worker_environment,
)

from paysync_dagster.providers.stripe.client import LIST_FILTERS, PAGE_SIZE
from paysync_dagster.providers.stripe.entities import ENTITIES as STRIPE_ENTITIES
from paysync_dagster.store.vault import KeyRing
from paysync_dagster.sync.provider_sync import SyncOptions

ENTITIES = list(STRIPE_ENTITIES)
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
WORKSPACE_ID = "bench"
DLT_NAMES = {"sqlite": "sqlite", "postgresql": "postgres"}
# Peak RSS at 4N may exceed the N figure by at most this factor and still count as flat.
FLAT_RSS_FACTOR = 1.10


@dataclass(frozen=True)
class Sizes:
    """How big each case is."""

    customers: int
    with_4n: bool
    workspaces: int
    workspace_customers: int


@dataclass(frozen=True)
class Bench:
    """What every contender of one benchmark run shares."""

    workdir: Path
    keyring: KeyRing
    env: dict[str, str]
    postgres_url: str | None
    postgres_autovacuum: str | None
    profile_dir: Path | None

    def common_spec(self) -> dict[str, Any]:
        """The listing every contender walks: entities, page size and filters."""
        return {"entities": ENTITIES, "page_size": PAGE_SIZE, "list_filters": LIST_FILTERS}

    def profile_path(self, contender: str) -> str | None:
        """Where a paysync contender writes its cProfile stats, if profiling."""
        return None if self.profile_dir is None else str(self.profile_dir / f"{contender}.pstats")

    def sqlite_url(self, name: str) -> str:
        """A fresh SQLite file for one contender."""
        return f"sqlite:///{self.workdir / f'{name}.db'}"

    def run(
        self,
        contender: str,
        database: str,
        kind: str,
        spec: dict[str, Any],
        *,
        customers: int,
        expected_objects: int,
    ) -> Measurement:
        """Run one contender in its own process."""
        return measure(
            contender, database, kind, {**self.common_spec(), **spec},
            expected_objects=expected_objects, customers=customers,
            workdir=self.workdir, env=self.env,
        )  # fmt: skip


@dataclass(frozen=True)
class FixedCost:
    """Case 2: many small workspaces against the same objects in one workspace, in batched
    Dagster runs (the figure the target is about) and by the engine alone."""

    many: Measurement
    one: Measurement
    engine_many: Measurement
    engine_one: Measurement
    floor_many: Measurement
    floor_one: Measurement
    workspaces: int
    workspace_customers: int
    max_concurrent_workspaces: int

    def _ms_per_workspace(self, many: Measurement, one: Measurement) -> float:
        same_objects_seconds = one.seconds * many.objects / one.objects
        return (many.seconds - same_objects_seconds) / self.workspaces * 1000

    @property
    def ms_per_workspace(self) -> float:
        """(t_many - t_one) / workspaces for the Dagster runs, t_one scaled to the same
        number of objects."""
        return self._ms_per_workspace(self.many, self.one)

    @property
    def engine_ms_per_workspace(self) -> float:
        """The same for paysync's engine alone: its share of the fixed cost."""
        return self._ms_per_workspace(self.engine_many, self.engine_one)

    @property
    def dagster_floor_ms_per_workspace(self) -> float:
        """Dagster's bookkeeping per partition of a no-op graph of the same shape."""
        seconds = self.floor_many.seconds - self.floor_one.seconds
        return seconds / (self.workspaces - 1) * 1000

    @property
    def above_floor_ms_per_workspace(self) -> float:
        """The batched runs' fixed cost less Dagster's own: what paysync adds per workspace."""
        return self.ms_per_workspace - self.dagster_floor_ms_per_workspace


@dataclass(frozen=True)
class Target:
    """One requirement of the issue and whether this run meets it."""

    name: str
    value: float
    limit: float
    at_least: bool

    @property
    def passed(self) -> bool:
        """`value >= limit` for a floor, `value < limit` for a ceiling."""
        return self.value >= self.limit if self.at_least else self.value < self.limit

    @property
    def rule(self) -> str:
        """The requirement as text, e.g. `>= 0.7`."""
        return f"{'>=' if self.at_least else '<'} {self.limit:g}"


def paysync_contender(bench: Bench, sandbox: Sandbox, name: str, database_url: str) -> Measurement:
    """paysync's engine syncing one workspace configured against `sandbox`."""
    prepare_paysync_database(database_url, bench.keyring, sandbox, [WORKSPACE_ID])
    spec = {
        "database_url": database_url,
        "workspace_ids": [WORKSPACE_ID],
        "max_concurrent_workspaces": 1,
        "profile": bench.profile_path(name),
    }
    database = sa.make_url(database_url).get_backend_name()
    return bench.run(
        name, database, "paysync", spec,
        customers=sandbox.customers, expected_objects=sandbox.objects(ENTITIES),
    )  # fmt: skip


def raw_contender(bench: Bench, sandbox: Sandbox) -> Measurement:
    """The fetch-and-parse ceiling against `sandbox`."""
    spec = {"base_url": sandbox.base_url, "api_key": sandbox.api_key}
    return bench.run(
        "raw", "-", "raw", spec,
        customers=sandbox.customers, expected_objects=sandbox.objects(ENTITIES),
    )  # fmt: skip


def dlt_postgres_url(url: str) -> str:
    """`url` as dlt's postgres destination wants it: psycopg2's scheme and some password
    (dlt refuses credentials without one; trust authentication ignores it)."""
    parsed = sa.make_url(url)
    parsed = parsed.set(drivername="postgresql", password=parsed.password or "unused")
    return parsed.render_as_string(hide_password=False)


def dlt_contender(bench: Bench, sandbox: Sandbox, backend: str) -> Measurement:
    """dlt's `rest_api` source into SQLite (via its sqlalchemy destination) or PostgreSQL."""
    if backend == "postgresql":
        assert bench.postgres_url is not None
        destination, database_url = "postgres", dlt_postgres_url(bench.postgres_url)
        load_workers = None
    else:
        destination, database_url = "sqlalchemy", bench.sqlite_url("dlt")
        # SQLite has one writer: dlt's 20 default load workers only collide on the lock
        # ("database is locked", retried after seconds of backoff), which would flatter paysync.
        load_workers = 1
    spec = {
        "base_url": sandbox.base_url,
        "api_key": sandbox.api_key,
        "database_url": database_url,
        "destination": destination,
        "dataset": "dlt_stripe",
        "load_workers": load_workers,
        "pipelines_dir": str(bench.workdir / f"dlt-pipelines-{backend}"),
    }
    return bench.run(
        f"dlt-{DLT_NAMES[backend]}", backend, "dlt", spec,
        customers=sandbox.customers, expected_objects=sandbox.objects(ENTITIES),
    )  # fmt: skip


def full_sync_case(bench: Bench, sizes: Sizes) -> dict[str, Measurement]:
    """Case 1: every contender against one sandbox of N customers, then paysync at 4N."""
    results: dict[str, Measurement] = {}
    with stripe_sandbox(sizes.customers) as sandbox:
        results["raw"] = raw_contender(bench, sandbox)
        results["paysync-sqlite"] = paysync_contender(
            bench, sandbox, "paysync-sqlite", bench.sqlite_url("paysync")
        )
        if bench.postgres_url is not None:
            results["paysync-postgres"] = paysync_contender(
                bench, sandbox, "paysync-postgres", bench.postgres_url
            )
        results["dlt-sqlite"] = dlt_contender(bench, sandbox, "sqlite")
        if bench.postgres_url is not None:
            results["dlt-postgres"] = dlt_contender(bench, sandbox, "postgresql")
    if sizes.with_4n:
        with stripe_sandbox(4 * sizes.customers) as sandbox:
            results["paysync-sqlite-4n"] = paysync_contender(
                bench, sandbox, "paysync-sqlite-4n", bench.sqlite_url("paysync-4n")
            )
    return results


def many_workspaces(
    bench: Bench,
    name: str,
    kind: str,
    sandbox: Sandbox,
    workspace_ids: Sequence[str],
    max_concurrent: int,
) -> Measurement:
    """All of `workspace_ids`, configured against `sandbox`, synced together: by one batched
    Dagster run (`kind="dagster"`) or by the engine alone (`kind="paysync"`)."""
    database_url = bench.sqlite_url(name)
    prepare_paysync_database(database_url, bench.keyring, sandbox, workspace_ids)
    spec = {
        "database_url": database_url,
        "workspace_ids": list(workspace_ids),
        "max_concurrent_workspaces": max_concurrent,
        "profile": bench.profile_path(name),
    }
    return bench.run(
        name, "sqlite", kind, spec,
        customers=sandbox.customers * len(workspace_ids),
        expected_objects=sandbox.objects(ENTITIES) * len(workspace_ids),
    )  # fmt: skip


def fixed_cost_case(bench: Bench, sizes: Sizes, max_concurrent: int) -> FixedCost:
    """Case 2: W workspaces of M customers, then W*M customers in one workspace; each in one
    batched Dagster run and, to tell paysync's share from Dagster's, by the engine alone."""
    width = len(str(sizes.workspaces - 1))
    workspace_ids = [f"ws-{index:0{width}d}" for index in range(sizes.workspaces)]
    shape = f"{sizes.workspaces}x{sizes.workspace_customers}"
    runs: dict[str, Measurement] = {}
    with stripe_sandbox(sizes.workspace_customers) as sandbox:
        for kind, prefix in (("dagster", "dagster"), ("paysync", "engine")):
            runs[f"{prefix}-many"] = many_workspaces(
                bench, f"{prefix}-{shape}", kind, sandbox, workspace_ids, max_concurrent
            )
    with stripe_sandbox(sizes.workspaces * sizes.workspace_customers) as sandbox:
        for kind, prefix in (("dagster", "dagster"), ("paysync", "engine")):
            runs[f"{prefix}-one"] = many_workspaces(
                bench, f"{prefix}-1x{sandbox.customers}", kind, sandbox, [WORKSPACE_ID],
                max_concurrent,
            )  # fmt: skip
    for name, ids in (("floor-many", workspace_ids), ("floor-one", [WORKSPACE_ID])):
        spec = {"workspace_ids": ids, "profile": None}
        runs[name] = bench.run(
            f"dagster-no-op-{len(ids)}", "-", "dagster_floor", spec,
            customers=0, expected_objects=0,
        )  # fmt: skip
    return FixedCost(
        runs["dagster-many"], runs["dagster-one"], runs["engine-many"], runs["engine-one"],
        runs["floor-many"], runs["floor-one"],
        sizes.workspaces, sizes.workspace_customers, max_concurrent,
    )  # fmt: skip


def ratios(results: dict[str, Measurement]) -> dict[str, float]:
    """Throughput ratios and the 4N/N memory ratio, for whatever contenders ran."""
    pairs = {
        "paysync_sqlite_vs_raw": ("paysync-sqlite", "raw"),
        "paysync_postgres_vs_raw": ("paysync-postgres", "raw"),
        "paysync_sqlite_vs_dlt_sqlite": ("paysync-sqlite", "dlt-sqlite"),
        "paysync_postgres_vs_dlt_postgres": ("paysync-postgres", "dlt-postgres"),
    }
    found = {
        name: results[a].objects_per_second / results[b].objects_per_second
        for name, (a, b) in pairs.items()
        if a in results and b in results
    }
    if "paysync-sqlite-4n" in results:
        found["rss_4n_over_n"] = (
            results["paysync-sqlite-4n"].peak_rss_mb / results["paysync-sqlite"].peak_rss_mb
        )
    return found


def targets(
    results: dict[str, Measurement], found: dict[str, float], fixed: FixedCost
) -> list[Target]:
    """The issue's targets, for whatever contenders ran."""
    checks = [
        Target(name, found[name], 0.7, at_least=True)
        for name in ("paysync_sqlite_vs_raw", "paysync_postgres_vs_raw")
        if name in found
    ]
    checks += [
        Target(name, found[name], 3.0, at_least=True)
        for name in ("paysync_sqlite_vs_dlt_sqlite", "paysync_postgres_vs_dlt_postgres")
        if name in found
    ]
    checks += [
        Target(
            f"peak_rss_mb_{name.replace('-', '_')}",
            results[name].peak_rss_mb,
            300.0,
            at_least=False,
        )
        for name in ("paysync-sqlite", "paysync-postgres", "paysync-sqlite-4n")
        if name in results
    ]
    if "rss_4n_over_n" in found:
        checks.append(
            Target("rss_4n_over_n", found["rss_4n_over_n"], FLAT_RSS_FACTOR, at_least=False)
        )
    checks.append(
        Target("fixed_cost_ms_per_workspace", fixed.ms_per_workspace, 50.0, at_least=False)
    )
    return checks


@dataclass(frozen=True)
class Report:
    """Everything one run measured and concluded."""

    sizes: Sizes
    results: dict[str, Measurement]
    fixed: FixedCost
    ratios: dict[str, float]
    targets: list[Target]
    postgres_autovacuum: str | None
    profiled: bool

    @property
    def measurements(self) -> list[Measurement]:
        """Every contender of both cases, in the order they ran."""
        fixed = self.fixed
        return [*self.results.values(), fixed.many, fixed.one, fixed.engine_many, fixed.engine_one]


def print_table(report: Report) -> None:
    """The human-readable report."""
    raw = report.results["raw"].objects_per_second
    autovacuum = report.postgres_autovacuum or "not run"
    print(
        f"\nStripe full sync, N = {report.sizes.customers:,} customers, {os.cpu_count()} CPUs;"
        f" paysync rate budget {RATE_LIMIT_PER_SECOND:,.0f} req/s per workspace (raw and dlt"
        " unthrottled; sandbox unthrottled, no faults, in its own process);"
        f" PostgreSQL autovacuum: {autovacuum}"
        + ("; PROFILED: paysync figures include cProfile overhead" if report.profiled else "")
        + "\n"
    )
    header = ("contender", "db", "customers", "objects", "seconds", "objects/s", "peak RSS MB")
    print(f"{header[0]:<20}{header[1]:<12}" + "".join(f"{h:>13}" for h in header[2:]) + "  vs raw")
    for m in report.measurements:
        print(
            f"{m.contender:<20}{m.database:<12}{m.customers:>13,}{m.objects:>13,}"
            f"{m.seconds:>13.2f}{m.objects_per_second:>13,.0f}{m.peak_rss_mb:>13.0f}"
            f"  {m.objects_per_second / raw:.2f}x"
        )
    fixed = report.fixed
    print(
        f"\nfixed cost per workspace: {fixed.ms_per_workspace:.1f} ms in batched Dagster runs,"
        f" of which paysync's engine {fixed.engine_ms_per_workspace:.1f} ms"
        f" ({fixed.workspaces} x {fixed.workspace_customers} customers vs one workspace of"
        f" {fixed.one.customers:,}; max_concurrent_workspaces ="
        f" {fixed.max_concurrent_workspaces}; Dagster instance: SQLite, as `dagster dev`)"
        f"\nDagster's own bookkeeping, a no-op graph of the same shape:"
        f" {fixed.dagster_floor_ms_per_workspace:.1f} ms per workspace"
        f" ({fixed.floor_many.seconds:.2f}s for {fixed.workspaces},"
        f" {fixed.floor_one.seconds:.2f}s for 1); paysync above that floor:"
        f" {fixed.above_floor_ms_per_workspace:.1f} ms per workspace\n"
    )
    for check in report.targets:
        verdict = "PASS" if check.passed else "FAIL"
        print(f"{verdict}  {check.name:<36}{check.value:>10.2f}  (target {check.rule})")


def json_report(report: Report) -> dict[str, Any]:
    """Every figure of the run, for the one JSON line."""

    def figures(m: Measurement) -> dict[str, Any]:
        return {
            "database": m.database,
            "customers": m.customers,
            "objects": m.objects,
            "seconds": round(m.seconds, 3),
            "objects_per_second": round(m.objects_per_second, 1),
            "peak_rss_mb": round(m.peak_rss_mb, 1),
        }

    fixed = report.fixed
    return {
        "benchmark": "stripe_full_sync",
        "customers": report.sizes.customers,
        "cpus": os.cpu_count(),
        "rate_limit_per_second": RATE_LIMIT_PER_SECOND,
        "page_size": PAGE_SIZE,
        "batch_size": SyncOptions().batch_size,
        "postgres_autovacuum": report.postgres_autovacuum,
        "profiled": report.profiled,
        "results": {m.contender: figures(m) for m in report.measurements},
        "ratios": {name: round(value, 3) for name, value in report.ratios.items()},
        "fixed_cost": {
            "workspaces": fixed.workspaces,
            "customers_per_workspace": fixed.workspace_customers,
            "max_concurrent_workspaces": fixed.max_concurrent_workspaces,
            "seconds_many": round(fixed.many.seconds, 3),
            "seconds_one": round(fixed.one.seconds, 3),
            "ms_per_workspace": round(fixed.ms_per_workspace, 2),
            "engine_seconds_many": round(fixed.engine_many.seconds, 3),
            "engine_seconds_one": round(fixed.engine_one.seconds, 3),
            "engine_ms_per_workspace": round(fixed.engine_ms_per_workspace, 2),
            "dagster_floor_seconds_many": round(fixed.floor_many.seconds, 3),
            "dagster_floor_seconds_one": round(fixed.floor_one.seconds, 3),
            "dagster_floor_ms_per_workspace": round(fixed.dagster_floor_ms_per_workspace, 2),
            "above_floor_ms_per_workspace": round(fixed.above_floor_ms_per_workspace, 2),
        },
        "targets": {
            c.name: {"value": round(c.value, 3), "target": c.rule, "pass": c.passed}
            for c in report.targets
        },
        "all_pass": all(c.passed for c in report.targets),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; `--quick` changes the defaults, explicit sizes still win."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: N=2000, 20 x 200")
    parser.add_argument("--customers", type=int, help="N (default 100000; quick 2000)")
    parser.add_argument("--skip-4n", action="store_true", help="skip paysync at 4N customers")
    parser.add_argument("--workspaces", type=int, help="case 2 workspaces (default 200; quick 20)")
    parser.add_argument(
        "--workspace-customers", type=int, help="case 2 customers each (default 500; quick 200)"
    )
    parser.add_argument("--max-concurrent-workspaces", type=int, default=8)
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="server to create (and drop) a fresh database on (default: %(default)s)",
    )
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    parser.add_argument(
        "--profile", type=Path, help="write cProfile stats of the paysync runs into this folder"
    )
    args = parser.parse_args(argv)
    for name in ("customers", "workspaces", "workspace_customers"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def sizes_from(args: argparse.Namespace) -> Sizes:
    """The sizes of this run: the issue's by default, small ones with `--quick`."""
    return Sizes(
        customers=args.customers or (2000 if args.quick else 100_000),
        with_4n=not args.skip_4n,
        workspaces=args.workspaces or (20 if args.quick else 200),
        workspace_customers=args.workspace_customers or (200 if args.quick else 500),
    )


@contextmanager
def bench_context(args: argparse.Namespace) -> Iterator[Bench]:
    """A temporary folder, a fresh key ring and, unless skipped, a fresh PostgreSQL database."""
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="paysync-bench-")))
        postgres_url = (
            None
            if args.skip_postgres
            else stack.enter_context(temporary_postgres_database(args.postgres_url))
        )
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
        keyring = KeyRing.generate("bench1")
        yield Bench(
            workdir=workdir,
            keyring=keyring,
            env=worker_environment(workdir, keyring),
            postgres_url=postgres_url,
            postgres_autovacuum=None if postgres_url is None else postgres_autovacuum(postgres_url),
            profile_dir=None if args.profile is None else args.profile.resolve(),
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run both cases, print the table and the JSON line."""
    args = parse_args(argv)
    sizes = sizes_from(args)
    with bench_context(args) as bench:
        results = full_sync_case(bench, sizes)
        fixed = fixed_cost_case(bench, sizes, args.max_concurrent_workspaces)
    found = ratios(results)
    report = Report(
        sizes=sizes,
        results=results,
        fixed=fixed,
        ratios=found,
        targets=targets(results, found, fixed),
        postgres_autovacuum=bench.postgres_autovacuum,
        profiled=bench.profile_dir is not None,
    )
    print_table(report)
    print(json.dumps(json_report(report)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
