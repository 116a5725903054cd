"""Child side of the Stripe full-sync benchmark: one contender per process.

Run as `python benchmarks/_worker.py KIND SPEC_PATH RESULT_PATH` by `_harness.run_worker`.
Each contender times only its sync (process start, imports and schema setup excluded) and
reports the process's peak RSS, so every memory figure belongs to one contender alone.
Imports live inside each contender for the same reason: the raw baseline does not pay for
SQLAlchemy, nor paysync for dlt.
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")
Spec = dict[str, Any]


class AllThreadsProfile:
    """cProfile over the calling thread and every thread started while it is active.

    cProfile alone only sees the thread that enables it, and paysync fetches pages and writes
    batches on threads of its own.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def _start(self) -> None:
        profile = cProfile.Profile()
        with self._lock:
            self._profiles.append(profile)
        profile.enable()

    def _start_in_new_thread(self, *_: object) -> None:
        # Installed with threading.setprofile: runs once at the start of each new thread.
        sys.setprofile(None)
        self._start()

    def __enter__(self) -> AllThreadsProfile:
        threading.setprofile(self._start_in_new_thread)
        self._start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        threading.setprofile(None)
        for profile in self._profiles:
            profile.disable()
        stats = pstats.Stats(self._profiles[0])
        for profile in self._profiles[1:]:
            stats.add(profile)
        stats.dump_stats(self._path)


def timed(spec: Spec, run: Callable[[], T]) -> tuple[T, float]:
    """Run the measured part and its wall seconds; profiled when the spec names a file."""
    started = time.perf_counter()
    if spec.get("profile"):
        with AllThreadsProfile(spec["profile"]):
            outcome = run()
    else:
        outcome = run()
    return outcome, time.perf_counter() - started


def peak_rss_mb() -> float:
    """The high-water resident set of this process (and of any child it waited for)."""
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    # Linux reports kilobytes, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def raw_baseline(spec: Spec) -> tuple[int, float]:
    """The ceiling: the same pages paysync asks for, fetched and parsed, nothing stored.

    One connection, one page at a time, `limit` pages walked with `starting_after`, exactly
    as paysync's client lists them.
    """
    import httpx

    def fetch_all(client: httpx.Client) -> int:
        objects = 0
        for entity in spec["entities"]:
            cursor: str | None = None
            while True:
                params = {"limit": spec["page_size"], **spec["list_filters"].get(entity, {})}
                if cursor is not None:
                    params["starting_after"] = cursor
                response = client.get(f"/v1/{entity}", params=params)
                response.raise_for_status()
                page = json.loads(response.content)
                objects += len(page["data"])
                if not page["has_more"] or not page["data"]:
                    break
                cursor = page["data"][-1]["id"]
        return objects

    headers = {"Authorization": f"Bearer {spec['api_key']}"}
    with httpx.Client(base_url=spec["base_url"], headers=headers, timeout=30.0) as client:
        return timed(spec, lambda: fetch_all(client))


def _canonical_rows(database_url: str, entities: list[str]) -> int:
    """Rows in paysync's canonical tables for `entities`: what a sync actually stored."""
    import sqlalchemy as sa

    from paysync_dagster.store.database import create_engine
    from paysync_dagster.store.tables import CANONICAL_TABLES

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return sum(
                connection.scalar(sa.select(sa.func.count()).select_from(CANONICAL_TABLES[e]))
                for e in entities
            )
    finally:
        engine.dispose()


def paysync_engine_sync(spec: Spec) -> tuple[int, float]:
    """paysync's engine without Dagster: a full sync of every entity, in lineage order, for
    the spec's workspaces (concurrently, as an asset does for a batched run)."""
    from paysync_dagster.providers.stripe.provider import STRIPE
    from paysync_dagster.store.database import create_engine
    from paysync_dagster.store.vault import KeyRing, Vault
    from paysync_dagster.sync.provider_sync import SyncOptions, sync_workspaces
    from paysync_dagster.sync.workspace_runs import OutcomeStatus

    engine = create_engine(spec["database_url"])
    vault = Vault(KeyRing.parse(os.environ["PAYSYNC_ENCRYPTION_KEYS"]))
    options = SyncOptions(max_concurrent_workspaces=spec["max_concurrent_workspaces"])

    def sync_all() -> None:
        for outcome in sync_workspaces(
            STRIPE,
            engine,
            vault,
            spec["workspace_ids"],
            entity_types=spec["entities"],
            options=options,
        ):
            if outcome.status is not OutcomeStatus.SYNCED:
                raise RuntimeError(
                    f"{outcome.workspace_id}/{outcome.entity_type}: {outcome.reason}"
                )

    try:
        _, seconds = timed(spec, sync_all)
    finally:
        engine.dispose()
    return _canonical_rows(spec["database_url"], spec["entities"]), seconds


def _rest_api_config(spec: Spec) -> dict[str, Any]:
    """dlt `rest_api` config for the same endpoints, pages and filters as paysync."""
    return {
        "client": {
            "base_url": f"{spec['base_url']}/v1/",
            "auth": {"type": "bearer", "token": spec["api_key"]},
            # Stripe's cursor: the last object's id goes into `starting_after` while has_more.
            "paginator": {
                "type": "cursor",
                "cursor_path": "data[-1].id",
                "cursor_param": "starting_after",
                "has_more_path": "has_more",
            },
        },
        "resource_defaults": {"endpoint": {"data_selector": "data"}},
        "resources": [
            {
                "name": entity,
                "endpoint": {
                    "path": entity,
                    "params": {"limit": spec["page_size"], **spec["list_filters"].get(entity, {})},
                },
            }
            for entity in spec["entities"]
        ],
    }


def dlt_rest_api(spec: Spec) -> tuple[int, float]:
    """dlt's generic `rest_api` source loading the same endpoints into the same backend.

    dlt's defaults (append, nested lists as child tables), except one load worker on SQLite
    when the spec says so; only `pipeline.run` is timed: extract, normalize and load.
    """
    if spec["load_workers"] is not None:
        os.environ["LOAD__WORKERS"] = str(spec["load_workers"])
    import dlt
    from dlt.sources.rest_api import rest_api_source

    if spec["destination"] == "postgres":
        destination = dlt.destinations.postgres(credentials=spec["database_url"])
    else:
        destination = dlt.destinations.sqlalchemy(credentials=spec["database_url"])
    pipeline = dlt.pipeline(
        pipeline_name="stripe_bench",
        destination=destination,
        dataset_name=spec["dataset"],
        pipelines_dir=spec["pipelines_dir"],
    )
    source = rest_api_source(_rest_api_config(spec))
    _, seconds = timed(spec, lambda: pipeline.run(source))
    # dlt creates no table for an endpoint that returned no rows (the sandbox's payment
    # intents and charges, until payments are made): those count 0.
    loaded = set(pipeline.default_schema.data_table_names())
    with pipeline.sql_client() as client:
        rows = sum(
            client.execute_sql(f"SELECT COUNT(*) FROM {client.make_qualified_table_name(e)}")[0][0]
            for e in spec["entities"]
            if e in loaded
        )
    return rows, seconds


def _timed_batched_run(spec: Spec, assets: list[Any], resources: dict[str, Any]) -> float:
    """Seconds for one Dagster run of `assets` over all of the spec's workspace partitions,
    on a fresh instance. `materialize` raises if any step fails, so a returned run succeeded."""
    import dagster as dg

    from paysync_dagster.defs.workspaces.partitions import (
        WORKSPACE_PARTITIONS_NAME,
        partition_range_tags,
    )

    workspace_ids: list[str] = spec["workspace_ids"]
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(WORKSPACE_PARTITIONS_NAME, workspace_ids)
        _, seconds = timed(
            spec,
            lambda: dg.materialize(
                assets,
                instance=instance,
                resources=resources,
                tags=partition_range_tags(workspace_ids[0], workspace_ids[-1]),
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            ),
        )
    return seconds


def dagster_backfill(spec: Spec) -> tuple[int, float]:
    """One Dagster run of every Stripe asset over all of the spec's workspace partitions."""
    from paysync_dagster.defs.resources import DatabaseResource, SyncResource, VaultResource
    from paysync_dagster.defs.stripe.assets import stripe_entities

    resources = {
        "database": DatabaseResource(url=spec["database_url"]),
        "vault": VaultResource(),
        "sync": SyncResource(max_concurrent_workspaces=spec["max_concurrent_workspaces"]),
    }
    seconds = _timed_batched_run(spec, [stripe_entities], resources)
    return _canonical_rows(spec["database_url"], spec["entities"]), seconds


def dagster_floor(spec: Spec) -> tuple[int, float]:
    """Dagster's own share: a multi-asset shaped like the Stripe one (same keys, lineage,
    workspace partitions, single-run backfill, one materialization with metadata of the same
    size per workspace and entity) that syncs nothing, run over the spec's workspaces.
    Returns 0 objects: nothing is synced."""
    import warnings

    import dagster as dg

    from paysync_dagster.defs.workspaces.partitions import (
        workspace_partitions,
    )
    from paysync_dagster.providers.stripe.entities import LINEAGE as STRIPE_LINEAGE

    metadata = {f"figure_{index}": index for index in range(15)}
    keys = {entity: dg.AssetKey(["stripe", entity]) for entity in STRIPE_LINEAGE}
    specs = [
        dg.AssetSpec(key, deps=[keys[up] for up in STRIPE_LINEAGE[entity]], skippable=True)
        for entity, key in keys.items()
    ]

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=dg.BetaWarning)

        @dg.multi_asset(
            specs=specs,
            partitions_def=workspace_partitions,
            can_subset=True,
            backfill_policy=dg.BackfillPolicy.single_run(),
        )
        # Unannotated: this module's postponed annotations would name a local import, which
        # Dagster cannot resolve; it recognises `context` by name.
        def no_op(context):
            for partition_key in context.partition_keys:
                for key in keys.values():
                    yield dg.AssetMaterialization(
                        asset_key=key, partition=partition_key, metadata=metadata
                    )

    assets = [no_op]
    return 0, _timed_batched_run(spec, assets, {})


CONTENDERS: dict[str, Callable[[Spec], tuple[int, float]]] = {
    "raw": raw_baseline,
    "paysync": paysync_engine_sync,
    "dlt": dlt_rest_api,
    "dagster": dagster_backfill,
    "dagster_floor": dagster_floor,
}


def main(argv: list[str]) -> None:
    """Run the contender named by `argv[0]` with the spec file `argv[1]`; write `argv[2]`."""
    kind, spec_path, result_path = argv
    spec = json.loads(Path(spec_path).read_text())
    objects, seconds = CONTENDERS[kind](spec)
    result = {"objects": objects, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}
    Path(result_path).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
