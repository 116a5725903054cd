"""The few Dagster webserver GraphQL calls the CLI makes, with the standard library only.

Registering partitions through the webserver keeps `paysync workspace add|import|remove`
fast: the Dagster package and a local instance take seconds to load, a GraphQL call tens of
milliseconds. The calls go through `urllib.request`, not httpx, for the same reason: beside
what the CLI has already loaded, importing httpx took 80-160 ms on 2 busy cores, importing
`urllib.request` 5-20 ms.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from paysync_dagster.dagster_names import CODE_LOCATION, REPOSITORY_NAME
from paysync_dagster.settings import DAGSTER_URL_ENV
from paysync_dagster.urls import validate_http_url

TIMEOUT_SECONDS = 30.0
# Partitions added per request: one aliased `addDynamicPartition` each. The webserver adds
# them one after another, 20-30 ms each on 2 busy cores with its instance on PostgreSQL (up
# to 95 ms on SQLite), so a request stays inside the timeout; 1,000 workspaces take 10.
PARTITIONS_PER_REQUEST = 100
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
_SELECTOR = {"repositoryLocationName": CODE_LOCATION, "repositoryName": REPOSITORY_NAME}
_ADDED = ("AddDynamicPartitionSuccess", "DuplicateDynamicPartitionError")
_DELETE_PARTITIONS = """
mutation DeletePartitions($selector: RepositorySelector!, $name: String!, $keys: [String!]!) {
  deleteDynamicPartitions(repositorySelector: $selector, partitionsDefName: $name,
                          partitionKeys: $keys) {
    __typename
    ... on PythonError { message }
    ... on UnauthorizedError { message }
    ... on UnsupportedOperationError { message }
  }
}
"""


class DagsterApiError(RuntimeError):
    """The webserver refused or could not be reached; the message says which and where."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the error it is here: a POST must not turn into a GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _add_partitions_document(count: int) -> str:
    """One mutation adding `count` partitions, the keys as variables `$k0`…"""
    keys = ", ".join(f"$k{i}: String!" for i in range(count))
    fields = "\n".join(
        f"  p{i}: addDynamicPartition(repositorySelector: $selector, partitionsDefName: $name,"
        f" partitionKey: $k{i}) {{ __typename ... on PythonError {{ message }}"
        f" ... on UnauthorizedError {{ message }} }}"
        for i in range(count)
    )
    return (
        f"mutation AddPartitions($selector: RepositorySelector!, $name: String!, {keys}) {{\n"
        f"{fields}\n}}"
    )


def _post(dagster_url: str, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
    """The `data` of a GraphQL request to the webserver at `dagster_url`."""
    url = f"{validate_http_url(dagster_url, DAGSTER_URL_ENV)}/graphql"
    request = urllib.request.Request(  # noqa: S310 - an http(s) URL, validated above
        url,
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
            body = json.loads(response.read(MAX_RESPONSE_BYTES))
    except urllib.error.HTTPError as error:
        raise DagsterApiError(
            f"the Dagster webserver at {dagster_url} answered HTTP {error.code};"
            " check PAYSYNC_DAGSTER_URL or unset it"
        ) from None
    except (OSError, ValueError) as error:  # refused, timed out, reset; not JSON (or too long)
        raise DagsterApiError(
            f"the Dagster webserver at {dagster_url} does not answer GraphQL"
            f" ({type(error).__name__}); check PAYSYNC_DAGSTER_URL or unset it"
        ) from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or body.get("errors"):
        errors = body.get("errors") if isinstance(body, dict) else None
        first = errors[0] if isinstance(errors, list) and errors else None
        detail = first.get("message", "") if isinstance(first, dict) else ""
        raise DagsterApiError(
            f"the Dagster webserver at {dagster_url} refused the request: {str(detail)[:300]}"
        )
    return data


def add_partitions(dagster_url: str, partitions_def_name: str, keys: Sequence[str]) -> None:
    """Add partitions to the dynamic partition set `partitions_def_name` through the
    webserver at `dagster_url` (existing ones are kept as they are), `PARTITIONS_PER_REQUEST`
    to a request."""
    for start in range(0, len(keys), PARTITIONS_PER_REQUEST):
        chunk = keys[start : start + PARTITIONS_PER_REQUEST]
        variables: dict[str, Any] = {"selector": _SELECTOR, "name": partitions_def_name}
        variables.update({f"k{i}": key for i, key in enumerate(chunk)})
        data = _post(dagster_url, _add_partitions_document(len(chunk)), variables)
        for i, key in enumerate(chunk):
            result = data.get(f"p{i}") or {}
            if result.get("__typename") not in _ADDED:
                reason = result.get("message") or result.get("__typename") or "no answer"
                raise DagsterApiError(
                    f"the Dagster webserver at {dagster_url} refused partition {key!r}"
                    f" of {partitions_def_name!r}: {str(reason)[:300]}"
                )


def delete_partitions(dagster_url: str, partitions_def_name: str, keys: Sequence[str]) -> None:
    """Delete partitions of `partitions_def_name` through the webserver at `dagster_url`
    (absent ones are ignored; their run history stays)."""
    variables = {"selector": _SELECTOR, "name": partitions_def_name, "keys": list(keys)}
    result = _post(dagster_url, _DELETE_PARTITIONS, variables)["deleteDynamicPartitions"]
    if result.get("__typename") != "DeleteDynamicPartitionsSuccess":
        reason = result.get("message") or result.get("__typename")
        raise DagsterApiError(
            f"the Dagster webserver at {dagster_url} refused to delete partitions of"
            f" {partitions_def_name!r}: {str(reason)[:300]}"
        )
