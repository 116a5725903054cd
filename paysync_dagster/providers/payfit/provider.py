"""PayFit in the provider registry: collaborators and contracts, mock mode, the client.

A workspace whose key or company id is missing or a placeholder is in mock mode: the sync
skips it before any request (see `mock_mode.py`, the single list of placeholders).
`client.py` (and httpx) is imported only when a client or transport is opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from paysync_dagster.providers.base import (
    ClientSettings,
    ConnectionResult,
    CredentialField,
    Credentials,
    Entity,
    Provider,
    SharedTransport,
)
from paysync_dagster.providers.payfit.budgets import DEFAULT_REQUESTS_PER_SECOND, shared_budget
from paysync_dagster.providers.payfit.mapping import MAPPERS
from paysync_dagster.providers.payfit.mock_mode import mock_mode_reason
from paysync_dagster.store.workspaces import WorkspaceError, validate_api_base

if TYPE_CHECKING:
    import httpx

    from paysync_dagster.providers.payfit.client import PayfitApi

PROVIDER = "payfit"
COMPANY_ID = "company_id"
OAUTH_BASE = "oauth_base"
_MAX_KEY = 512


def _validate_api_key(value: str) -> str:
    """Any key without whitespace inside, placeholders included: they mean mock mode."""
    value = value.strip()
    if len(value) > _MAX_KEY or any(char.isspace() for char in value):
        raise WorkspaceError(
            f"invalid PayFit API key: expected at most {_MAX_KEY} characters without spaces"
        )
    return value


def _validate_company_id(value: str) -> str:
    value = value.strip()
    if len(value) > 64 or not all(char.isalnum() or char in "-_" for char in value):
        raise WorkspaceError(
            "invalid PayFit company id: expected at most 64 letters, digits, '-' or '_'"
        )
    return value


def _open_transport(timeout_seconds: float) -> httpx.Client:
    from paysync_dagster.providers.payfit.client import open_http_client

    return open_http_client(timeout_seconds)


def _open_client(
    credentials: Credentials, settings: ClientSettings, transport: SharedTransport | None
) -> PayfitApi:
    import httpx

    from paysync_dagster.providers.payfit.client import PayfitApi

    return PayfitApi(
        credentials.api_key,
        company_id=credentials.options.get(COMPANY_ID),
        api_base=credentials.api_base,
        oauth_base=credentials.options.get(OAUTH_BASE),
        workspace_id=credentials.workspace_id,
        budget=shared_budget(credentials.api_key, settings.requests_per_second),
        max_retries=settings.max_retries,
        timeout_seconds=settings.timeout_seconds,
        http_client=transport if isinstance(transport, httpx.Client) else None,
    )


def _test_connection(credentials: Credentials) -> ConnectionResult:
    reason = _mock_mode(credentials)
    if reason is not None:
        return ConnectionResult(False, reason)
    settings = ClientSettings(requests_per_second=DEFAULT_REQUESTS_PER_SECOND, max_retries=1)
    with _open_client(credentials, settings, None) as api:
        result = api.test_connection()
    return ConnectionResult(result.ok, result.message)


def _complete_options(credentials: Credentials) -> dict[str, str]:
    """The company id from /introspect when none is configured (never in mock mode)."""
    if COMPANY_ID in credentials.options or _mock_mode(credentials) is not None:
        return dict(credentials.options)
    settings = ClientSettings(requests_per_second=DEFAULT_REQUESTS_PER_SECOND, max_retries=2)
    with _open_client(credentials, settings, None) as api:
        return {**credentials.options, COMPANY_ID: api.company_id()}


def _mock_mode(credentials: Credentials) -> str | None:
    # An id absent from the configuration comes from /introspect: only the key decides then.
    return mock_mode_reason(credentials.api_key, credentials.options.get(COMPANY_ID))


PAYFIT = Provider(
    name=PROVIDER,
    title="PayFit",
    entities=(
        Entity(
            name="collaborators",
            table="employees",
            mapper=MAPPERS["collaborators"],
            description=(
                "The workspace's PayFit collaborators (employees): names, work email, status;"
                " social security numbers, IBAN/BIC and birth dates are never stored."
            ),
        ),
        Entity(
            name="contracts",
            table="employment_contracts",
            mapper=MAPPERS["contracts"],
            description="Employment contracts of the collaborators, with their dates and status.",
            upstream=("collaborators",),
            references=(("employee_external_id", "collaborators"),),
        ),
    ),
    credential_fields=(
        CredentialField(
            "api_key",
            "PayFit customer API key (placeholders put the workspace in mock mode).",
            True,
            True,
            _validate_api_key,
        ),
        CredentialField(
            COMPANY_ID,
            "PayFit company id; found with /introspect when omitted.",
            False,
            False,
            _validate_company_id,
        ),
        CredentialField(
            OAUTH_BASE, "Base URL of PayFit's /introspect.", False, False, validate_api_base
        ),
    ),
    default_requests_per_second=lambda _credentials: DEFAULT_REQUESTS_PER_SECOND,
    open_transport=_open_transport,
    open_client=_open_client,
    test_connection=_test_connection,
    mock_mode=_mock_mode,
    complete_options=_complete_options,
)
