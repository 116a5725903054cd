"""The few Dagster webserver GraphQL calls the CLI makes, over plain httpx (no Dagster import).

Registering a partition through the webserver keeps `paysync workspace add|import` fast: the
Dagster package takes seconds to import, a GraphQL call milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from paysync_dagster.dagster_names import (
    CODE_LOCATION,
    REPOSITORY_NAME,
    WORKSPACE_PARTITIONS_NAME,
)

TIMEOUT_SECONDS = 30.0
_ADD_PARTITION = """
mutation AddPartition($selector: RepositorySelector!, $name: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $selector, partitionsDefName: $name, partitionKey: $key) {
    __typename
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}
"""


class DagsterApiError(RuntimeError):
    """The webserver refused or could not be reached; the message says which and where."""


def add_partitions(dagster_url: str, workspace_ids: Sequence[str]) -> None:
    """Add `workspace` partitions through the webserver at `dagster_url` (existing ones are
    kept as they are), over one HTTP connection."""
    selector = {"repositoryLocationName": CODE_LOCATION, "repositoryName": REPOSITORY_NAME}
    try:
        with httpx.Client(base_url=dagster_url, timeout=TIMEOUT_SECONDS) as client:
            for workspace_id in workspace_ids:
                variables = {
                    "selector": selector,
                    "name": WORKSPACE_PARTITIONS_NAME,
                    "key": workspace_id,
                }
                response = client.post(
                    "/graphql", json={"query": _ADD_PARTITION, "variables": variables}
                )
                response.raise_for_status()
                result = response.json()["data"]["addDynamicPartition"]
                if result["__typename"] not in (
                    "AddDynamicPartitionSuccess",
                    "DuplicateDynamicPartitionError",
                ):
                    raise DagsterApiError(
                        f"the Dagster webserver at {dagster_url} refused partition"
                        f" {workspace_id!r}: {result.get('message', result['__typename'])}"
                    )
    except httpx.HTTPError as error:
        raise DagsterApiError(
            f"cannot register partitions through the Dagster webserver at {dagster_url}"
            f" ({type(error).__name__}); check PAYSYNC_DAGSTER_URL or unset it"
        ) from None
