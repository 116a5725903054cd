"""`simulator/payments` in real Dagster runs: metadata that plots, checks, launchpad config."""

from __future__ import annotations

import dagster as dg

from paysync_dagster.definitions import defs
from paysync_dagster.defs.resources import DatabaseResource, VaultResource
from paysync_dagster.defs.simulator.assets import PAYMENTS_KEY, simulator_payments
from paysync_dagster.defs.simulator.partitions import SIMULATOR_TARGET_PARTITIONS_NAME
from paysync_dagster.defs.simulator.resources import SimulatorResource
from tests.simulator.helpers import stored_attempts, stored_runs


def _materialize(instance, database_url, target: str, iterations: int, **simulator_options):
    instance.add_dynamic_partitions(SIMULATOR_TARGET_PARTITIONS_NAME, [target])
    return dg.materialize(
        [simulator_payments],
        instance=instance,
        partition_key=target,
        resources={
            "database": DatabaseResource(url=database_url),
            "vault": VaultResource(),
            "simulator": SimulatorResource(**simulator_options),
        },
        run_config={"ops": {"simulator__payments": {"config": {"iterations": iterations}}}},
        raise_on_error=False,
    )


def test_a_run_materializes_with_figures_and_passing_checks(
    engine, vault, database_url, gateway_target
):
    gateway_target("gw")
    with dg.instance_for_test() as instance:
        result = _materialize(instance, database_url, "gw", 5)
        assert result.success
        (materialization,) = result.asset_materializations_for_node("simulator__payments")
        metadata = materialization.metadata
        assert metadata["attempts"] == dg.IntMetadataValue(5)
        assert metadata["pass_rate"] == dg.FloatMetadataValue(1.0)
        for step in ("tokenize", "checkout", "pay", "total"):
            assert metadata[f"{step}_p95_ms"].value >= metadata[f"{step}_p50_ms"].value > 0
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        assert set(checks) == {"success_rate", "latency", "freshness"}
        assert all(check.passed for check in checks.values())
    (run,) = stored_runs(engine)
    assert run.dagster_run_id == result.run_id
    assert len(stored_attempts(engine)) == 5


def test_slow_and_failing_runs_fail_their_checks(engine, vault, database_url, gateway_target):
    gateway_target("slow", latency_ms=30)
    with dg.instance_for_test() as instance:
        result = _materialize(
            instance, database_url, "slow", 2, degraded_ms=20, max_ms=60, min_success_rate=1.0
        )
        checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
        assert not checks["latency"].passed
        assert checks["latency"].severity == dg.AssetCheckSeverity.ERROR
        # Degraded attempts still got the expected outcome: the success rate holds.
        assert checks["success_rate"].passed
        gateway_target("down", fail_rate=1.0)
        down = _materialize(instance, database_url, "down", 2)
        down_checks = {e.check_name: e for e in down.get_asset_check_evaluations()}
        assert not down_checks["success_rate"].passed
        assert down_checks["latency"].passed


def test_a_partition_without_a_target_fails_saying_how_to_add_one(vault, database_url):
    with dg.instance_for_test() as instance:
        result = _materialize(instance, database_url, "ghost", 1)
        assert not result.success
        failure = result.get_step_failure_events()[0]
        assert "paysync simulator target add" in failure.step_failure_data.error.message


def test_the_code_location_holds_the_simulator_definitions():
    with dg.instance_for_test():
        location = defs()
        assert PAYMENTS_KEY in location.resolve_asset_graph().get_all_asset_keys()
        job = location.resolve_job_def("simulator_payments_job")
        assert job.partitions_def is not None
        assert "simulator_loop_sensor" in {sensor.name for sensor in location.sensors}
