"""The Dagster side of stale sessions: which runs count as still in progress."""

from __future__ import annotations

from types import SimpleNamespace

import dagster as dg
import pytest

from paysync_dagster.defs.workspaces.run_status import run_is_active

QUEUED = dg.DagsterRunStatus.QUEUED


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def test_a_run_is_active_only_while_starting_running_or_canceling(instance):
    # A QUEUED run cannot be stored without a code location's origin: see the next test.
    for status in dg.DagsterRunStatus:
        if status is not QUEUED:
            run = dg.DagsterRun(job_name="stripe_sync", run_id=status.value.lower(), status=status)
            instance.run_storage.add_run(run)
    is_active = run_is_active(instance)

    active = {s for s in dg.DagsterRunStatus if s is not QUEUED and is_active(s.value.lower())}

    assert active == {
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    }


def test_a_queued_run_is_active():
    queued = SimpleNamespace(get_run_by_id=lambda run_id: SimpleNamespace(status=QUEUED))

    assert run_is_active(queued)("any")  # type: ignore[arg-type]


def test_an_unknown_run_is_not_active(instance):
    assert not run_is_active(instance)("0b1e6c1c-0000-4000-8000-000000000000")


def test_a_run_stops_being_active_when_it_fails(instance):
    run = instance.add_run(
        dg.DagsterRun(job_name="stripe_sync", status=dg.DagsterRunStatus.STARTED)
    )
    is_active = run_is_active(instance)
    assert is_active(run.run_id)

    instance.report_run_failed(run)

    assert not is_active(run.run_id)
