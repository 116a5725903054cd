"""deploy/helm/values.yaml against the dagster chart's values.schema.json, and against dagster.yaml.

The schema's Kubernetes sub-objects (resources, probes, env sources, …) `$ref` definitions on
kubernetesjsonschema.dev. That host is not reachable here, so those references are dropped
before validating: their sibling keywords (type, additionalProperties) still apply, and every
Dagster-specific key is checked in full.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from tests.deploy.conftest import DAGSTER_YAML, HELM_SCHEMA, HELM_VALUES, load_yaml

KUBERNETES_SCHEMA_HOST = "https://kubernetesjsonschema.dev/"


def _without_remote_refs(node: Any) -> Any:
    """A copy of a schema with every `$ref` into the Kubernetes schema host removed."""
    if isinstance(node, dict):
        return {
            key: _without_remote_refs(value)
            for key, value in node.items()
            if not (key == "$ref" and str(value).startswith(KUBERNETES_SCHEMA_HOST))
        }
    if isinstance(node, list):
        return [_without_remote_refs(item) for item in node]
    return node


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    """A validator for the vendored chart schema ($defs, so JSON Schema 2020-12)."""
    schema = _without_remote_refs(json.loads(HELM_SCHEMA.read_text()))
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema)


def _errors(validator: jsonschema.protocols.Validator, values: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(values)
    ]


def test_vendored_schema_is_the_chart_schema() -> None:
    schema = json.loads(HELM_SCHEMA.read_text())
    assert schema["title"] == "DagsterHelmValues"
    # Stored exactly as the chart publishes it: json.dumps(indent=4) plus a final newline.
    assert HELM_SCHEMA.read_text() == json.dumps(schema, indent=4) + "\n"


def test_values_validate_against_the_chart_schema(validator) -> None:
    assert _errors(validator, load_yaml(HELM_VALUES)) == []


@pytest.mark.parametrize(
    ("break_values", "expected"),
    [
        pytest.param(
            lambda v: v["dagsterDaemon"]["runCoordinator"].update(type="FifoRunCoordinator"),
            "dagsterDaemon/runCoordinator/type",
            id="unknown-run-coordinator",
        ),
        pytest.param(
            lambda v: v["runLauncher"]["config"].pop("k8sRunLauncher"),
            "runLauncher/config",
            id="k8s-launcher-without-config",
        ),
        pytest.param(
            lambda v: v["dagsterDaemon"].update(maxConcurrentRuns=8),
            "dagsterDaemon",
            id="misplaced-key",
        ),
        pytest.param(
            lambda v: v["dagster-user-deployments"]["deployments"][0].pop("port"),
            "dagster-user-deployments/deployments/0",
            id="user-deployment-without-port",
        ),
        pytest.param(lambda v: v.pop("postgresql"), "", id="no-postgresql"),
    ],
)
def test_broken_values_are_rejected(validator, break_values, expected: str) -> None:
    values = copy.deepcopy(load_yaml(HELM_VALUES))
    break_values(values)
    errors = _errors(validator, values)
    assert errors, "the schema accepted a broken copy"
    assert any(error.startswith(f"{expected}:") for error in errors), errors


def test_helm_concurrency_equals_dagster_yaml() -> None:
    """One source of truth: the chart renders these keys into the same instance config."""
    values = load_yaml(HELM_VALUES)
    instance = load_yaml(DAGSTER_YAML)
    helm = values["concurrency"]
    assert helm["enabled"] is True
    assert {
        "runs": {
            "max_concurrent_runs": helm["runs"]["maxConcurrentRuns"],
            "tag_concurrency_limits": helm["runs"]["tagConcurrencyLimits"],
        },
        "pools": {
            "granularity": helm["pools"]["granularity"],
            "default_limit": helm["pools"]["defaultLimit"],
        },
    } == instance["concurrency"]

    # Dagster refuses run limits in run_coordinator config when `concurrency` sets them; only
    # how the daemon dequeues is set there.
    queued = values["dagsterDaemon"]["runCoordinator"]
    assert queued["type"] == "QueuedRunCoordinator"
    dequeue = queued["config"]["queuedRunCoordinator"]
    assert {
        "dequeue_use_threads": dequeue["dequeueUseThreads"],
        "dequeue_num_workers": dequeue["dequeueNumWorkers"],
        "dequeue_interval_seconds": dequeue["dequeueIntervalSeconds"],
    } == instance["run_coordinator"]["config"]

    monitoring = values["dagsterDaemon"]["runMonitoring"]
    assert {
        "enabled": monitoring["enabled"],
        "start_timeout_seconds": monitoring["startTimeoutSeconds"],
        "max_resume_run_attempts": monitoring["maxResumeRunAttempts"],
        "poll_interval_seconds": monitoring["pollIntervalSeconds"],
        "free_slots_after_run_end_seconds": monitoring["freeSlotsAfterRunEndSeconds"],
    } == instance["run_monitoring"]

    retries = values["dagsterDaemon"]["runRetries"]
    assert {
        "enabled": retries["enabled"],
        "max_retries": retries["maxRetries"],
        "retry_on_asset_or_op_failure": retries["retryOnAssetOrOpFailure"],
    } == instance["run_retries"]


def test_values_take_secrets_from_kubernetes_secrets() -> None:
    values = load_yaml(HELM_VALUES)
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["envSecrets"] == [{"name": "paysync-secrets"}]
    assert deployment["env"] == {"PAYSYNC_ENV": "production"}
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert launcher["envSecrets"] == [{"name": "paysync-secrets"}]
    # Dagster's own database password comes from a Secret, never from this file.
    assert values["generatePostgresqlPasswordSecret"] is False
    assert values["postgresql"]["postgresqlPassword"] == ""
    assert values["global"]["postgresqlSecretName"] == "dagster-postgresql-secret"
    text = HELM_VALUES.read_text()
    for secret_name in ("PAYSYNC_ENCRYPTION_KEYS", "PAYSYNC_DATABASE_URL"):
        assert f"{secret_name}:" not in text
        assert f"{secret_name}=" not in text
