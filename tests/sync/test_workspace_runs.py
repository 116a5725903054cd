"""Isolation inside a batched run: per workspace, downstream entities build only on upstream
entities that synced and passed their ERROR checks; other workspaces are never touched.

The sync and check callables are plain functions standing in for a provider: the behaviour
under test is the ordering and gating, which needs a failure in one chosen place."""

from __future__ import annotations

import threading

from paysync_dagster.providers.errors import ProviderAuthError, ProviderUnavailableError
from paysync_dagster.sync.checks import CheckOutcome
from paysync_dagster.sync.full_sync import EntitySyncResult
from paysync_dagster.sync.workspace_runs import OutcomeStatus, run_workspaces

LINEAGE = {"a": (), "b": (), "c": ("a",), "d": ("c", "b")}


def _result(workspace_id: str, entity_type: str) -> EntitySyncResult:
    return EntitySyncResult(
        workspace_id, entity_type, f"{workspace_id}-{entity_type}", "completed", False
    )


def _run(sync_one, evaluate=None, already_done=frozenset(), workspaces=("w1", "w2", "w3")):
    evaluate = evaluate or (lambda ws, result: ([CheckOutcome("ok", passed=True)], 1))
    outcomes = run_workspaces(
        list(workspaces),
        list(LINEAGE),
        LINEAGE,
        sync_one=sync_one,
        evaluate=evaluate,
        already_done=already_done,
        max_concurrent_workspaces=2,
    )
    return {(o.workspace_id, o.entity_type): o for o in outcomes}


def test_a_failed_upstream_skips_only_its_own_downstream_in_its_own_workspace():
    def sync_one(workspace_id, entity_type):
        if (workspace_id, entity_type) == ("w2", "a"):
            raise ProviderUnavailableError("GET /v1/a still failing")
        return _result(workspace_id, entity_type)

    outcomes = _run(sync_one)
    assert len(outcomes) == 12
    for workspace in ("w1", "w3"):
        assert {outcomes[(workspace, e)].status for e in LINEAGE} == {OutcomeStatus.SYNCED}
    assert outcomes[("w2", "a")].status is OutcomeStatus.FAILED
    assert "still failing" in outcomes[("w2", "a")].reason
    assert outcomes[("w2", "b")].status is OutcomeStatus.SYNCED
    assert outcomes[("w2", "c")].status is OutcomeStatus.SKIPPED
    assert outcomes[("w2", "c")].reason == "upstream a failed"
    assert outcomes[("w2", "d")].reason == "upstream c was skipped"


def test_a_workspace_wide_error_skips_the_rest_of_that_workspace_without_calling_again():
    calls: list[tuple[str, str]] = []
    lock = threading.Lock()

    def sync_one(workspace_id, entity_type):
        with lock:
            calls.append((workspace_id, entity_type))
        if workspace_id == "w1":
            raise ProviderAuthError("Stripe rejected the workspace's API key (HTTP 401)")
        return _result(workspace_id, entity_type)

    outcomes = _run(sync_one, workspaces=("w1", "w2"))
    assert [c for c in calls if c[0] == "w1"] == [("w1", "a")]
    assert outcomes[("w1", "b")].status is OutcomeStatus.SKIPPED
    assert outcomes[("w1", "b")].reason.startswith("not attempted: a failed with ProviderAuthError")
    assert all(outcomes[("w2", e)].status is OutcomeStatus.SYNCED for e in LINEAGE)


def test_a_failed_error_check_blocks_downstream_but_a_warning_does_not():
    def evaluate(workspace_id, result):
        if workspace_id == "w1" and result.entity_type == "a":
            return [CheckOutcome("references_resolve", passed=False)], 3
        if workspace_id == "w1" and result.entity_type == "b":
            return [CheckOutcome("row_count_matches_listing", passed=False, error=False)], 3
        return [CheckOutcome("ok", passed=True)], 3

    outcomes = _run(lambda ws, e: _result(ws, e), evaluate=evaluate, workspaces=("w1", "w2"))
    assert outcomes[("w1", "a")].status is OutcomeStatus.SYNCED
    assert not outcomes[("w1", "a")].ok
    assert outcomes[("w1", "b")].ok
    assert outcomes[("w1", "c")].reason == "upstream a failed its checks (references_resolve)"
    assert outcomes[("w1", "d")].status is OutcomeStatus.SKIPPED
    assert all(outcomes[("w2", e)].ok for e in LINEAGE)


def test_entities_an_earlier_attempt_materialized_are_not_synced_again():
    calls: list[tuple[str, str]] = []

    def sync_one(workspace_id, entity_type):
        calls.append((workspace_id, entity_type))
        return _result(workspace_id, entity_type)

    done = {("w1", "a"), ("w1", "b"), ("w1", "c")}
    outcomes = _run(sync_one, already_done=done, workspaces=("w1",))
    assert calls == [("w1", "d")]
    assert {k for k, o in outcomes.items() if o.status is OutcomeStatus.ALREADY_DONE} == done
