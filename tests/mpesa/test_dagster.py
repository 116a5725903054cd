"""Real Dagster runs of the repair and its checks, and the drift sensor."""

from __future__ import annotations

import dagster as dg

from paysync_dagster.definitions import defs
from paysync_dagster.defs.mpesa.assets import mpesa_bars, mpesa_credentials
from paysync_dagster.defs.mpesa.checks import mpesa_flags_consistent, mpesa_repairs_resolved
from paysync_dagster.defs.mpesa.sensors import mpesa_drift_sensor
from paysync_dagster.defs.resources import DatabaseResource
from tests.mpesa.helpers import flags, insert_bars, install_fault_trigger, set_faults

# A fast backoff so the test spends no real time waiting between retries.
FAST_RETRIES = {"ops": {"mpesa__bars": {"config": {"backoff_seconds": 0.001, "chunk_size": 3}}}}


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _materialize(database_url: str, instance: dg.DagsterInstance, **kwargs):
    return dg.materialize(
        [mpesa_credentials, mpesa_bars, mpesa_flags_consistent, mpesa_repairs_resolved],
        instance=instance,
        resources={"database": DatabaseResource(url=database_url)},
        **kwargs,
    )


def test_checks_fail_on_drift_repair_fixes_it_and_failures_surface(database_url, engine, vault):
    install_fault_trigger(engine)
    states = [(True, None), (False, True), (True, False), (True, True), (False, None)] * 2
    ids = insert_bars(engine, vault, states)
    poisoned = ids[1]  # drifted (credentials active, bar disabled) and made to fail
    set_faults(engine, [poisoned])
    with dg.instance_for_test() as instance:
        checks_only = _materialize(
            database_url,
            instance,
            selection=dg.AssetSelection.checks_for_assets(["mpesa", "bars"]),
        )
        before = _checks(checks_only)["mpesa_flags_consistent"]
        assert not before.passed
        assert before.severity == dg.AssetCheckSeverity.ERROR
        assert before.metadata["drifted_bars"].value == 6
        sample = before.metadata["sample_bar_ids"].value
        assert sample.split(", ") == [str(i) for i in sorted(ids[j] for j in (0, 1, 2, 5, 6, 7))]

        repaired = _materialize(database_url, instance, run_config=FAST_RETRIES)
        assert repaired.success
        (materialization,) = repaired.asset_materializations_for_node("mpesa__bars")
        assert materialization.metadata["repaired_bars"].value == 5
        assert materialization.metadata["failed_bars"].value == 1
        assert materialization.metadata["failed_bar_ids"].value == str(poisoned)
        after = _checks(repaired)
        assert after["mpesa_flags_consistent"].metadata["drifted_bars"].value == 1
        assert not after["mpesa_repairs_resolved"].passed
        assert after["mpesa_repairs_resolved"].severity == dg.AssetCheckSeverity.ERROR
        assert after["mpesa_repairs_resolved"].metadata["sample_bar_ids"].value == str(poisoned)
        assert (
            "injected test fault" in after["mpesa_repairs_resolved"].metadata["latest_error"].value
        )

        set_faults(engine, [])
        fixed = _checks(_materialize(database_url, instance, run_config=FAST_RETRIES))
        assert fixed["mpesa_flags_consistent"].passed
        assert fixed["mpesa_repairs_resolved"].passed
    assert all(enabled == (active is True) for enabled, active in flags(engine).values())


def test_sensor_requests_a_repair_only_when_there_is_drift(database_url, engine, vault):
    resources = {"database": DatabaseResource(url=database_url)}
    insert_bars(engine, vault, [(False, True), (False, None)])
    with (
        dg.instance_for_test() as instance,
        dg.build_sensor_context(instance=instance, resources=resources) as context,
    ):
        request = mpesa_drift_sensor(context)
        assert isinstance(request, dg.RunRequest)
        assert request.tags["paysync/drifted-bars"] == "1"

        _materialize(database_url, instance)
        assert isinstance(mpesa_drift_sensor(context), dg.SkipReason)


def test_code_location_has_the_mpesa_assets_job_and_sensor():
    # Dagster resolves definitions against the current instance's state storage.
    with dg.instance_for_test():
        code_location = defs()
        repository = code_location.get_repository_def()
        assert {("mpesa", "bars"), ("mpesa", "credentials")} <= {
            tuple(key.path) for key in repository.asset_graph.get_all_asset_keys()
        }
        job = code_location.resolve_job_def("mpesa_repair_job")
        assert {c.name for c in job.asset_layer.asset_graph.asset_check_keys} >= {
            "mpesa_flags_consistent",
            "mpesa_repairs_resolved",
        }
        sensor = code_location.resolve_sensor_def("mpesa_drift_sensor")
        assert sensor.job_name == "mpesa_repair_job"
