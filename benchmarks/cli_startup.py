"""CLI start-up benchmark: how long `paysync` commands take, next to what they cannot go below.

A real `dagster-webserver` runs on 127.0.0.1, loading this checkout's code location, on a
temporary instance (on PostgreSQL as deployed; on SQLite with `--skip-postgres`), so that
`workspace add|import` take the production path: `PAYSYNC_DAGSTER_URL` set, partitions
registered over GraphQL. Both also run without it, registering in a local instance at
DAGSTER_HOME as on a laptop.

Every command is a fresh child process, `python -m paysync_dagster.cli …` (what the `paysync`
script runs), `--runs` times; reported per command: median and best wall time, median CPU
time (user + system of the child) and the modules it imported (one extra `-X importtime`
run). Measured in the same rounds, as baselines: `python -c pass`, `python -c 'import
sqlalchemy'` (paysync's storage, which every one of these commands needs), the floor of
`workspace add` (importing click, SQLAlchemy and AES-GCM, and one connection to the database
through its dialect and driver: what any implementation of the command pays before its own
work), `python -c 'import dagster'`, and one `addDynamicPartition` request timed from this
process (the webserver's share of `workspace add`). Then `workspace import` of
`--import-rows` workspaces (CSV), with and without the webserver, once each.

Each command runs on SQLite and, unless `--skip-postgres`, on a fresh PostgreSQL database
(`PAYSYNC_BENCH_POSTGRES_URL`, default postgresql://postgres@127.0.0.1:5432/postgres).
`--code DIR` (repeatable) also measures another checkout's CLI, e.g. main before a change,
run by run in turn with this one so that both see the same machine load.

Targets: `workspace add` with the webserver under 0.5 s (median wall); `workspace import` of
1,000 workspaces under 30 s. Prints the figures, PASS/FAIL per target, and last one JSON line.

    python benchmarks/cli_startup.py
    python benchmarks/cli_startup.py --runs 5 --skip-postgres --code /tmp/paysync-main
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import temporary_postgres_database

from paysync_dagster.dagster_graphql_api import add_partitions
from paysync_dagster.dagster_names import CODE_LOCATION, WORKSPACE_PARTITIONS_NAME
from paysync_dagster.store.vault import KeyRing

REPO_ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN_URL = os.environ.get(
    "PAYSYNC_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ADD_TARGET_SECONDS = 0.5
IMPORT_TARGET_ROWS = 1000
IMPORT_TARGET_SECONDS = 30.0
WEBSERVER_DEADLINE_SECONDS = 300.0
_IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \| +(\S+)$", re.MULTILINE)


@dataclass
class Figures:
    """One command's runs: wall and CPU seconds per run, and what one run imported."""

    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    modules: int = 0
    dagster: bool = False

    def as_dict(self) -> dict[str, float | int | bool]:
        return {
            "median_s": round(statistics.median(self.walls), 3),
            "best_s": round(min(self.walls), 3),
            "cpu_median_s": round(statistics.median(self.cpus), 3),
            "runs": len(self.walls),
            "modules": self.modules,
            "imports_dagster": self.dagster,
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(argv: Sequence[str], env: Mapping[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one child process, and its stderr; fails loudly if it does.

    It runs in the temporary directory: `python -m` puts the working directory first on
    `sys.path`, where it would shadow the checkout named by PYTHONPATH.
    """
    started = time.perf_counter()
    child = subprocess.Popen(
        argv, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        cwd=tempfile.gettempdir(),
    )  # fmt: skip
    stderr = child.stderr.read() if child.stderr else ""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[-6:])} exited {child.returncode}: {stderr[-800:]}")
    return wall, usage.ru_utime + usage.ru_stime, stderr


@contextmanager
def dagster_webserver(
    workdir: Path, env: Mapping[str, str], instance_url: str | None
) -> Iterator[str]:
    """A webserver loading this checkout's code location, on a fresh instance: PostgreSQL at
    `instance_url` as deployed, else SQLite (whose commits make each partition 2-4 times
    slower to add)."""
    home = workdir / "webserver-dagster-home"
    home.mkdir()
    config = "telemetry:\n  enabled: false\n"
    if instance_url is not None:
        # dagster-postgres speaks psycopg2 (see deploy/dagster.yaml).
        url = sa.make_url(instance_url).set(drivername="postgresql+psycopg2")
        config += f"storage:\n  postgres:\n    postgres_url: {url.render_as_string(False)}\n"
    (home / "dagster.yaml").write_text(config)
    workspace = workdir / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: paysync_dagster.definitions\n"
        f"      location_name: {CODE_LOCATION}\n"
    )
    port = _free_port()
    log = (workdir / "webserver.log").open("w")
    child = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-webserver")), "-w", str(workspace),
         "-h", "127.0.0.1", "-p", str(port)],
        env={**env, "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)},
        stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WEBSERVER_DEADLINE_SECONDS
        while True:
            if child.poll() is not None:
                raise RuntimeError((workdir / "webserver.log").read_text()[-2000:])
            try:
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"webserver not up within {WEBSERVER_DEADLINE_SECONDS:.0f} s")
            time.sleep(0.5)
        yield url
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=30)
        log.close()


@dataclass
class Tree:
    """A checkout whose CLI is measured, with its own paysync database and homes."""

    name: str
    code: Path
    env: dict[str, str]
    counter: int = 0

    def new_id(self) -> str:
        self.counter += 1
        return f"b{self.counter:05d}"

    def cli(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "paysync_dagster.cli", *args]


def _commands(tree: Tree) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Name -> (argv, extra environment) of one run of each measured command."""
    key = f"sk_test_{secrets.token_hex(12)}"
    local = {"PAYSYNC_DAGSTER_URL": ""}
    return {
        "workspace add": (tree.cli("workspace", "add", tree.new_id(), "--api-key", key), {}),
        "workspace add (local instance)": (
            tree.cli("workspace", "add", tree.new_id(), "--api-key", key),
            local,
        ),
        "workspace list": (tree.cli("workspace", "list"), {}),
        "token create": (tree.cli("token", "create", tree.new_id(), "--admin"), {}),
        "token list": (tree.cli("token", "list"), {}),
        "keys rotate": (tree.cli("keys", "rotate"), {}),
        "db upgrade": (tree.cli("db", "upgrade"), {}),
        "--help": (tree.cli("--help"), {}),
    }


# What `workspace add` cannot do without, whatever paysync's own code does: click, SQLAlchemy,
# AES-GCM, and one connection to the database through its dialect and driver (psycopg2, as
# paysync's engine uses for a bare postgresql:// URL); it exits as `paysync` does, without
# the interpreter's last collection (`gc.freeze`, see `paysync_dagster.cli.run`).
_FLOOR = (
    "import gc, sys, click, sqlalchemy as sa;"
    " from cryptography.hazmat.primitives.ciphers.aead import AESGCM;"
    " url = sa.make_url(sys.argv[1]);"
    " url = url.set(drivername='postgresql+psycopg2') if url.drivername == 'postgresql' else url;"
    " engine = sa.create_engine(url); engine.connect().close(); engine.dispose(); gc.freeze()"
)
FLOOR_NAME = "floor: click, sqlalchemy, AES-GCM, connect"


def _baselines(database_url: str) -> dict[str, list[str]]:
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "import sqlalchemy": [sys.executable, "-c", "import sqlalchemy"],
        FLOOR_NAME: [sys.executable, "-c", _FLOOR, database_url],
        "import dagster": [sys.executable, "-c", "import dagster"],
    }


def _import_file(path: Path, rows: int, prefix: str) -> Path:
    lines = ["workspace_id,provider,api_key"]
    lines += [f"{prefix}-{i:05d},stripe,sk_test_{secrets.token_hex(12)}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def measure_backend(
    backend: str,
    database_urls: Mapping[str, str],
    trees: Sequence[Tree],
    runs: int,
    import_rows: int,
    workdir: Path,
    url: str,
) -> dict[str, dict[str, dict]]:
    """tree (and "baselines") -> command -> figures, on one database backend; every round
    runs each command once, in every tree, and each baseline, so all see the same load."""
    results: dict[str, dict[str, Figures]] = {tree.name: {} for tree in trees}
    baseline_commands = _baselines(database_urls[trees[0].name])
    baselines = {name: Figures() for name in baseline_commands}
    for tree in trees:
        tree.env["PAYSYNC_DATABASE_URL"] = database_urls[tree.name]
        _run(tree.cli("db", "upgrade"), tree.env)
    request = baselines.setdefault("one addDynamicPartition request", Figures())
    for round_ in range(runs + 1):
        if round_:
            for name, argv in baseline_commands.items():
                wall, cpu, _ = _run(argv, os.environ)
                baselines[name].walls.append(wall)
                baselines[name].cpus.append(cpu)
            # The webserver's share of `workspace add`, timed from here (no start-up).
            started, cpu_started = time.perf_counter(), time.process_time()
            add_partitions(url, WORKSPACE_PARTITIONS_NAME, [f"r{round_}-{secrets.token_hex(4)}"])
            request.walls.append(time.perf_counter() - started)
            request.cpus.append(time.process_time() - cpu_started)
        for tree in trees:
            for name, (argv, extra) in _commands(tree).items():
                env = {**tree.env, **extra}
                figures = results[tree.name].setdefault(name, Figures())
                if round_ == 0:  # the import listing, and warm caches (.pyc, page cache)
                    _, _, stderr = _run([argv[0], "-X", "importtime", *argv[1:]], env)
                    modules = set(_IMPORT_LINE.findall(stderr))
                    figures.modules = len(modules)
                    figures.dagster = any(m.split(".")[0] == "dagster" for m in modules)
                    continue
                wall, cpu, _ = _run(argv, env)
                figures.walls.append(wall)
                figures.cpus.append(cpu)
    out: dict[str, dict[str, dict]] = {
        "baselines": {name: figures.as_dict() for name, figures in baselines.items()}
    }
    for tree in trees:
        out[tree.name] = {name: f.as_dict() for name, f in results[tree.name].items()}
        for label, extra in (("workspace import", {}), ("workspace import (local instance)",
                                                       {"PAYSYNC_DAGSTER_URL": ""})):  # fmt: skip
            prefix = f"{backend[:2]}{'l' if extra else 'w'}{secrets.token_hex(2)}"
            path = _import_file(workdir / f"{tree.name}-{prefix}.csv", import_rows, prefix)
            wall, cpu, _ = _run(tree.cli("workspace", "import", str(path)), {**tree.env, **extra})
            out[tree.name][label] = {
                "rows": import_rows,
                "seconds": round(wall, 2),
                "cpu_s": round(cpu, 2),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command")
    parser.add_argument("--import-rows", type=int, default=IMPORT_TARGET_ROWS)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--code", action="append", type=Path, default=[],
        help="another checkout whose CLI to measure too (repeatable)",
    )  # fmt: skip
    args = parser.parse_args()
    load_before = os.getloadavg()
    keyring = KeyRing.generate("bench")
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        base_env = {**os.environ, "PAYSYNC_ENCRYPTION_KEYS": keyring.to_spec()}
        base_env.pop("PAYSYNC_DATABASE_URL", None)
        instance_url = None
        if not args.skip_postgres:
            instance_url = stack.enter_context(temporary_postgres_database(POSTGRES_ADMIN_URL))
        url = stack.enter_context(dagster_webserver(workdir, base_env, instance_url))
        codes = [("this checkout", REPO_ROOT)]
        codes += [(str(path), path.resolve()) for path in args.code]
        trees = []
        for index, (name, code) in enumerate(codes):
            home = workdir / f"tree{index}"
            (home / "dagster").mkdir(parents=True)
            env = {
                **base_env,
                "PYTHONPATH": str(code),
                "PAYSYNC_HOME": str(home),
                "DAGSTER_HOME": str(home / "dagster"),
                "PAYSYNC_DAGSTER_URL": url,
            }
            trees.append(Tree(name, code, env))

        backends = {"sqlite": {t.name: f"sqlite:///{workdir}/{i}.db" for i, t in enumerate(trees)}}
        if not args.skip_postgres:
            backends["postgresql"] = {
                t.name: stack.enter_context(temporary_postgres_database(POSTGRES_ADMIN_URL))
                for t in trees
            }
        results = {
            backend: measure_backend(
                backend, database_urls, trees, args.runs, args.import_rows, workdir, url
            )
            for backend, database_urls in backends.items()
        }
    load_after = os.getloadavg()

    instance = "SQLite" if args.skip_postgres else "PostgreSQL"
    print(f"\npaysync CLI start-up, {args.runs} runs each; {os.cpu_count()} CPUs;"
          f" the webserver's instance on {instance}")  # fmt: skip
    print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f},"
          f" after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")  # fmt: skip
    header = f"{'':<34}{'median s':>10}{'best s':>9}{'cpu s':>8}{'modules':>9}  dagster"
    verdicts = []
    above_floor: list[str] = []
    for backend, per_tree in results.items():
        for tree_name, commands in per_tree.items():
            print(f"\n{backend}, {tree_name}\n{header}")
            for name, d in commands.items():
                if tree_name == "baselines":
                    print(f"{name:<34}{d['median_s']:>10.3f}{d['best_s']:>9.3f}"
                          f"{d['cpu_median_s']:>8.3f}")  # fmt: skip
                    continue
                if "rows" in d:
                    print(f"{name + ' x' + str(d['rows']):<34}{d['seconds']:>10.2f}"
                          f"{'':>9}{d['cpu_s']:>8.2f}")  # fmt: skip
                    continue
                print(
                    f"{name:<34}{d['median_s']:>10.3f}{d['best_s']:>9.3f}{d['cpu_median_s']:>8.3f}"
                    f"{d['modules']:>9}  {'yes' if d['imports_dagster'] else 'no'}"
                )
            if tree_name != "this checkout":
                continue
            add = commands["workspace add"]["median_s"]
            verdicts.append((f"{backend}: workspace add < {ADD_TARGET_SECONDS} s", add,
                             add < ADD_TARGET_SECONDS))  # fmt: skip
            floor = per_tree["baselines"][FLOOR_NAME]["median_s"]
            above_floor.append(f"{backend}: workspace add takes {add:.3f} s, {add - floor:+.3f} s"
                               f" beside its floor of {floor:.3f} s")  # fmt: skip
            imported = commands["workspace import"]
            if imported["rows"] >= IMPORT_TARGET_ROWS:
                seconds = imported["seconds"]
                verdicts.append(
                    (f"{backend}: import of {imported['rows']} < {IMPORT_TARGET_SECONDS:.0f} s",
                     seconds, seconds < IMPORT_TARGET_SECONDS)
                )  # fmt: skip
    print()
    for line in above_floor:
        print(line)
    for label, value, ok in verdicts:
        print(f"{'PASS' if ok else 'FAIL'}  {label} (measured {value:.3f} s)")
    summary = {
        "benchmark": "cli_startup",
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "webserver_instance": "sqlite" if args.skip_postgres else "postgresql",
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "results": results,
        "targets": {label: ok for label, _, ok in verdicts},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
