"""The jittered loop sensor over many ticks of simulated time: every interval stays within
interval ± jitter (plus one tick), intervals are spread, and a target's runs never overlap."""

from __future__ import annotations

import itertools
import statistics
import uuid

import dagster as dg
import pytest

from paysync_dagster.defs.resources import DatabaseResource
from paysync_dagster.defs.simulator import sensors
from paysync_dagster.defs.simulator.jobs import simulator_payments_job
from paysync_dagster.simulator.targets import Target, remove_target, save_target

pytestmark = pytest.mark.slow  # hundreds of sensor evaluations

INTERVAL, JITTER, TICK = 300, 120, 20
START = 1_800_000_000.0


def _gateway(name: str) -> Target:
    base = "http://127.0.0.1:9"
    return Target(
        name=name,
        kind="gateway",
        tokenization_url=f"{base}/t",
        checkout_url=f"{base}/c",
        payment_url=f"{base}/p",
        form_id="form",
        merchant_id="merchant",
    )


def _gaps(launches: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(launches)]


class _FakeRuns:
    """Runs the sensor requested, started at once and finished `seconds(target)` later."""

    def __init__(self, instance: dg.DagsterInstance, durations: dict[str, float]) -> None:
        self.instance = instance
        self.durations = durations
        self.running: dict[str, tuple[dg.DagsterRun, float]] = {}
        self.launches: dict[str, list[float]] = {}

    def launch(self, request: dg.RunRequest, now: float) -> None:
        target = request.partition_key
        assert target not in self.running, f"second run of {target} while one is in progress"
        run = dg.DagsterRun(
            job_name=simulator_payments_job.name,
            run_id=str(uuid.uuid4()),
            status=dg.DagsterRunStatus.STARTED,
            tags={"dagster/partition": target, **request.tags},
        )
        self.instance.add_run(run)
        self.running[target] = (run, now + self.durations.get(target, 40.0))
        self.launches.setdefault(target, []).append(now)

    def finish_due(self, now: float) -> None:
        for target, (run, ends) in list(self.running.items()):
            if ends <= now:
                self.instance.delete_run(run.run_id)
                self.instance.add_run(run.with_status(dg.DagsterRunStatus.SUCCESS))
                del self.running[target]


def _tick(runs: _FakeRuns, database: DatabaseResource, cursor: str | None, now: float, monkeypatch):
    monkeypatch.setattr(sensors, "clock", lambda: now)
    with dg.build_sensor_context(
        instance=runs.instance,
        cursor=cursor,
        resources={"database": database},
    ) as context:
        result = sensors.simulator_loop_sensor(context)
    for request in result.run_requests:
        assert request.tags["paysync/trigger"] == "schedule"
        assert request.run_config["ops"]["simulator__payments"]["config"]["iterations"] in (2, 3)
        runs.launch(request, now)
    return result


def test_intervals_stay_within_bounds_are_spread_and_never_overlap(
    engine, vault, database_url, monkeypatch
):
    monkeypatch.setenv("RUN_INTERVAL_SECONDS", str(INTERVAL))
    monkeypatch.setenv("RUN_JITTER_SECONDS", str(JITTER))
    monkeypatch.setenv("ITERATIONS_PER_RUN", "3")
    database = DatabaseResource(url=database_url)
    for name in ("alpha", "beta", "slow"):
        save_target(engine, vault, _gateway(name))
    with dg.DagsterInstance.ephemeral() as instance:
        # `slow` runs longer than the shortest interval: its next run must wait for it.
        runs = _FakeRuns(instance, {"slow": INTERVAL + JITTER + 100})
        cursor, now = None, START
        first = _tick(runs, database, cursor, now, monkeypatch)
        assert {r.partition_key for r in first.run_requests} == {"alpha", "beta", "slow"}
        (added,) = first.dynamic_partitions_requests
        assert sorted(added.partition_keys) == ["alpha", "beta", "slow"]
        cursor = first.cursor
        for _ in range(4 * 3600 // TICK):
            now += TICK
            runs.finish_due(now)
            cursor = _tick(runs, database, cursor, now, monkeypatch).cursor

    for target in ("alpha", "beta"):
        gaps = _gaps(runs.launches[target])
        assert len(gaps) >= 40
        assert all(INTERVAL - JITTER <= gap <= INTERVAL + JITTER + TICK for gap in gaps), gaps
        # Spread over the window, not stuck at one value.
        assert min(gaps) < INTERVAL - JITTER / 2
        assert max(gaps) > INTERVAL + JITTER / 2
        assert statistics.pstdev(gaps) > JITTER / 3
    # Two targets do not run in lockstep.
    assert runs.launches["alpha"][1:6] != runs.launches["beta"][1:6]
    slow_gaps = _gaps(runs.launches["slow"])
    assert len(slow_gaps) >= 10
    assert all(gap >= INTERVAL + JITTER + 100 for gap in slow_gaps)


def test_removed_targets_lose_their_partition_and_their_schedule(
    engine, vault, database_url, monkeypatch
):
    save_target(engine, vault, _gateway("alpha"))
    database = DatabaseResource(url=database_url)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("simulator_target", ["alpha", "by-hand"])
        runs = _FakeRuns(instance, {})
        result = _tick(runs, database, None, START, monkeypatch)
        (removed,) = result.dynamic_partitions_requests
        assert isinstance(removed, dg.DeleteDynamicPartitionsRequest)
        assert removed.partition_keys == ["by-hand"]
        remove_target(engine, "alpha")
        later = _tick(runs, database, result.cursor, START + 3600, monkeypatch)
        assert later.run_requests == []
        assert later.cursor == "{}"
