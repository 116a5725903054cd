"""deploy/dagster.yaml loads as a real Dagster instance on PostgreSQL, meaning what it says."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from tests.deploy.conftest import DAGSTER_YAML, load_yaml

pytestmark = pytest.mark.postgres


def test_deploy_config_loads_as_a_postgres_instance(
    dagster_home: Path, instance_database_url: str
) -> None:
    config = load_yaml(DAGSTER_YAML)
    runs = config["concurrency"]["runs"]
    pools = config["concurrency"]["pools"]

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        dequeue = config["run_coordinator"]["config"]
        assert instance.run_coordinator.dequeue_use_threads is dequeue["dequeue_use_threads"]
        assert instance.run_coordinator.dequeue_num_workers == dequeue["dequeue_num_workers"]

        queue = instance.get_concurrency_config().run_queue_config
        assert queue is not None
        assert queue.max_concurrent_runs == runs["max_concurrent_runs"]
        assert [dict(limit) for limit in queue.tag_concurrency_limits] == runs[
            "tag_concurrency_limits"
        ]

        pool_config = instance.get_concurrency_config().pool_config
        assert pool_config.pool_granularity is not None
        assert pool_config.pool_granularity.value == pools["granularity"]
        assert pool_config.default_pool_limit == pools["default_limit"]
        assert instance.global_op_concurrency_default_limit == pools["default_limit"]

        monitoring = config["run_monitoring"]
        assert instance.run_monitoring_enabled is True
        assert (
            instance.run_monitoring_settings["free_slots_after_run_end_seconds"]
            == monitoring["free_slots_after_run_end_seconds"]
        )
        assert instance.run_monitoring_start_timeout_seconds == monitoring["start_timeout_seconds"]

        retries = config["run_retries"]
        assert instance.run_retries_enabled is True
        assert instance.run_retries_max_retries == retries["max_retries"]
        assert (
            instance.run_retries_retry_on_asset_or_op_failure
            == retries["retry_on_asset_or_op_failure"]
        )

        # The storage really is that database: a partition written here is in its tables.
        instance.add_dynamic_partitions("workspace", ["probe"])

    engine = sa.create_engine(instance_database_url)
    try:
        with engine.connect() as connection:
            stored = connection.scalars(
                sa.text("SELECT partition FROM dynamic_partitions WHERE partitions_def_name = :n"),
                {"n": "workspace"},
            ).all()
    finally:
        engine.dispose()
    assert stored == ["probe"]


def test_deploy_config_encodes_the_design() -> None:
    """The decisions deploy/README.md explains, so a casual edit that undoes one fails here."""
    config = load_yaml(DAGSTER_YAML)
    runs = config["concurrency"]["runs"]
    pools = config["concurrency"]["pools"]
    limits = {limit["key"]: limit for limit in runs["tag_concurrency_limits"]}

    # One provider sync step per run and op-granularity pools: a pool default below
    # max_concurrent_runs would cap syncs below the run queue (issue 14: one sync at a time).
    assert pools["granularity"] == "op"
    assert pools["default_limit"] == runs["max_concurrent_runs"] == 8
    assert limits["dagster/partition"] == {
        "key": "dagster/partition",
        "value": {"applyLimitPerUniqueValue": True},
        "limit": 1,
    }
    # One batched run per range at a time; the schedule's runs over disjoint ranges side by side.
    assert limits["dagster/asset_partition_range_start"] == {
        "key": "dagster/asset_partition_range_start",
        "value": {"applyLimitPerUniqueValue": True},
        "limit": 1,
    }
    # A killed worker's slots come back, and failed runs retry a bounded number of times.
    assert config["run_monitoring"]["enabled"] is True
    assert 0 < config["run_monitoring"]["free_slots_after_run_end_seconds"] <= 300
    assert config["run_retries"]["enabled"] is True
    assert 1 <= config["run_retries"]["max_retries"] <= 3
    # Run limits only under `concurrency`; the coordinator launches on threads (issue 14: one
    # launch at a time kept single-workspace runs at 1-3 in progress).
    assert set(config["run_coordinator"]["config"]) == {
        "dequeue_use_threads",
        "dequeue_num_workers",
        "dequeue_interval_seconds",
    }
    assert config["run_coordinator"]["config"]["dequeue_use_threads"] is True
    assert "run_queue" not in config
