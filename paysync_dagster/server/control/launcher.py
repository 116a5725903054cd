"""Launching sync runs through the Dagster webserver's GraphQL API.

A sync started over HTTP is an ordinary Dagster run of the provider's job, for the workspace's
partition, so the UI shows it like any other; nothing syncs inside `paysync serve`. Runs are
submitted with `dagster_graphql.DagsterGraphQLClient`; the two queries it lacks (runs in
progress by tag, adding a dynamic partition) go to the same `/graphql` endpoint.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

from paysync_dagster.dagster_names import CODE_LOCATION, REPOSITORY_NAME, WORKSPACE_PARTITIONS_NAME
from paysync_dagster.defs.syncing.keys import entity_asset_key, sync_job_name
from paysync_dagster.providers.base import Provider

PARTITION_TAG = "dagster/partition"
REQUESTED_BY_TAG = "paysync/requested_by"
# Every run status before the run has finished one way or another.
IN_PROGRESS_STATUSES = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")
_TIMEOUT_SECONDS = 30.0
_REPOSITORY = {"repositoryLocationName": CODE_LOCATION, "repositoryName": REPOSITORY_NAME}

_RUNS_IN_PROGRESS = """
query RunsInProgress($filter: RunsFilter!) {
  runsOrError(filter: $filter, limit: 1) {
    __typename
    ... on Runs { results { runId status } }
    ... on PythonError { message }
  }
}
"""

_ADD_PARTITION = """
mutation AddPartition($repositorySelector: RepositorySelector!, $partitionsDefName: String!,
                      $partitionKey: String!) {
  addDynamicPartition(repositorySelector: $repositorySelector,
                      partitionsDefName: $partitionsDefName, partitionKey: $partitionKey) {
    __typename
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}
"""


class LaunchError(RuntimeError):
    """The webserver refused or could not be reached; the message says which and why."""


class DagsterUnreachableError(LaunchError):
    """The webserver did not answer (down, wrong URL, network)."""

    def __init__(self, url: str, error: BaseException) -> None:
        super().__init__(f"the Dagster webserver at {url} does not answer ({type(error).__name__})")


class SyncInProgressError(LaunchError):
    """A run of the workspace has not finished yet; `run_id` names it."""

    def __init__(self, workspace_id: str, run_id: str) -> None:
        super().__init__(f"a sync of workspace {workspace_id!r} is already running (run {run_id})")
        self.run_id = run_id


@dataclass(frozen=True)
class LaunchedRun:
    """A submitted run and where to watch it in the Dagster UI."""

    run_id: str
    dagster_run_url: str


class SyncLauncher:
    """Submits `<provider>_sync` runs for one workspace partition at a time.

    A lock per launcher makes "no run in progress, so submit one" atomic within this process;
    the deployment's run queue (one run per workspace partition) covers several processes.
    """

    def __init__(self, dagster_url: str) -> None:
        parts = urlsplit(dagster_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LaunchError(f"PAYSYNC_DAGSTER_URL must be an http(s) URL, got {dagster_url!r}")
        self.url = dagster_url.rstrip("/")
        self._client = DagsterGraphQLClient(
            parts.hostname,
            port_number=parts.port,
            use_https=parts.scheme == "https",
            timeout=int(_TIMEOUT_SECONDS),
        )
        self._lock = threading.Lock()

    def _graphql(self, query: str, variables: dict) -> dict:
        try:
            response = httpx.post(
                f"{self.url}/graphql",
                json={"query": query, "variables": variables},
                timeout=_TIMEOUT_SECONDS,
            )
        except httpx.HTTPError as error:
            raise DagsterUnreachableError(self.url, error) from None
        if response.status_code != 200:
            raise LaunchError(f"the Dagster webserver answered {response.status_code}")
        body = response.json()
        if body.get("errors"):
            raise LaunchError(f"Dagster GraphQL error: {body['errors'][0].get('message', '')}")
        return body["data"]

    def run_in_progress(self, workspace_id: str) -> str | None:
        """The id of an unfinished run of `workspace_id`'s partition, if there is one."""
        data = self._graphql(
            _RUNS_IN_PROGRESS,
            {
                "filter": {
                    "tags": [{"key": PARTITION_TAG, "value": workspace_id}],
                    "statuses": list(IN_PROGRESS_STATUSES),
                }
            },
        )["runsOrError"]
        if data["__typename"] != "Runs":
            raise LaunchError(f"Dagster could not list runs: {data.get('message', '')}")
        results = data["results"]
        return results[0]["runId"] if results else None

    def _ensure_partition(self, workspace_id: str) -> None:
        data = self._graphql(
            _ADD_PARTITION,
            {
                "repositorySelector": _REPOSITORY,
                "partitionsDefName": WORKSPACE_PARTITIONS_NAME,
                "partitionKey": workspace_id,
            },
        )["addDynamicPartition"]
        if data["__typename"] not in (
            "AddDynamicPartitionSuccess",
            "DuplicateDynamicPartitionError",
        ):
            raise LaunchError(f"Dagster refused the partition: {data.get('message', '')}")

    def launch(
        self,
        provider: Provider,
        workspace_id: str,
        entity_types: Sequence[str],
        *,
        requested_by: str,
    ) -> LaunchedRun:
        """Submit a sync of `entity_types` (every entity when empty) for the workspace.

        Raises `SyncInProgressError` when a run of the workspace has not finished.
        """
        selection = [entity_asset_key(provider, name) for name in entity_types] or [
            entity_asset_key(provider, name) for name in provider.entity_names
        ]
        with self._lock:
            running = self.run_in_progress(workspace_id)
            if running is not None:
                raise SyncInProgressError(workspace_id, running)
            self._ensure_partition(workspace_id)
            try:
                run_id = self._client.submit_job_execution(
                    sync_job_name(provider),
                    repository_location_name=CODE_LOCATION,
                    repository_name=REPOSITORY_NAME,
                    tags={PARTITION_TAG: workspace_id, REQUESTED_BY_TAG: requested_by},
                    asset_selection=selection,
                )
            except DagsterGraphQLClientError as error:
                raise LaunchError(f"Dagster refused the run: {str(error)[:300]}") from None
            except Exception as error:  # requests/gql transport errors have no common base
                raise DagsterUnreachableError(self.url, error) from None
        return LaunchedRun(run_id=run_id, dagster_run_url=f"{self.url}/runs/{run_id}")
