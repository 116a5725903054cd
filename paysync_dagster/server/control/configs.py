"""`/api/v1/sync/config…`: a workspace's provider configurations and their connection test.

Writes go through `providers.configure.add_workspace`, the same validation as `paysync
workspace add`; responses say which secret fields are set, never their values.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response
from starlette.concurrency import run_in_threadpool

from paysync_dagster.providers.configure import (
    API_KEY,
    WEBHOOK_SECRET,
    add_workspace,
    client_credentials,
)
from paysync_dagster.providers.registry import PROVIDERS, get_provider
from paysync_dagster.server.auth import WorkspaceId
from paysync_dagster.server.context import Context, ServerContext
from paysync_dagster.server.control.deps import ControlRoute, not_found
from paysync_dagster.server.control.models import (
    ConfigCreate,
    ConfigResponse,
    ConfigUpdate,
    ConnectionTestResponse,
    ProviderName,
)
from paysync_dagster.store import workspaces as store
from paysync_dagster.store.vault import VaultError
from paysync_dagster.store.workspaces import WorkspaceError, WorkspaceSummary

router = APIRouter(route_class=ControlRoute)
ConfigId = Annotated[int, Path(ge=1, le=2**63 - 1, description="A configuration's id.")]


def config_response(summary: WorkspaceSummary) -> ConfigResponse:
    """What may be shown about a configuration."""
    takes_webhooks = (
        PROVIDERS[summary.provider].takes_webhooks if summary.provider in PROVIDERS else False
    )
    return ConfigResponse(
        id=summary.config_id or 0,
        workspace_id=summary.workspace_id,
        provider_name=summary.provider,
        is_active=summary.is_active,
        is_test_mode=summary.is_test_mode,
        api_base=summary.api_base,
        rate_limit_per_second=summary.rate_limit_per_second,
        api_key_set=True,
        webhook_secret_set=summary.has_webhook_secret,
        options=summary.options,
        webhook_path=f"/webhooks/{summary.provider}/{summary.workspace_id}"
        if takes_webhooks
        else None,
        created_at=summary.created_at,
    )


def _invalid(error: WorkspaceError) -> HTTPException:
    return HTTPException(422, str(error))


def _own_config(context: ServerContext, workspace_id: str, config_id: int) -> WorkspaceSummary:
    summary = store.get_configuration(context.engine, config_id)
    if summary is None or summary.workspace_id != workspace_id:
        raise not_found("configuration")
    return summary


def _split(configuration: dict[str, str]) -> tuple[str | None, str | None, dict[str, str]]:
    options = {k: v for k, v in configuration.items() if k not in (API_KEY, WEBHOOK_SECRET)}
    return configuration.get(API_KEY), configuration.get(WEBHOOK_SECRET), options


@router.post("/config", status_code=201, response_model=ConfigResponse)
async def create_config(
    body: ConfigCreate, workspace_id: WorkspaceId, context: Context
) -> ConfigResponse:
    """Store a provider configuration for the workspace, secrets encrypted (409 if one exists)."""
    api_key, webhook_secret, options = _split(body.configuration)
    if api_key is None:
        raise HTTPException(422, "configuration.api_key is required")

    def save() -> WorkspaceSummary:
        get_provider(body.provider_name)
        existing = store.list_workspaces(context.engine, provider=body.provider_name)
        if any(summary.workspace_id == workspace_id for summary in existing):
            raise HTTPException(409, f"workspace already has a {body.provider_name} configuration")
        return add_workspace(
            context.engine,
            context.vault,
            workspace_id=workspace_id,
            provider=body.provider_name,
            api_key=api_key,
            webhook_secret=webhook_secret,
            api_base=body.api_base,
            rate_limit_per_second=body.rate_limit_per_second,
            options=options,
        )

    try:
        return config_response(await run_in_threadpool(save))
    except WorkspaceError as error:
        raise _invalid(error) from None


@router.get("/config", response_model=list[ConfigResponse])
async def list_configs(workspace_id: WorkspaceId, context: Context) -> list[ConfigResponse]:
    """The workspace's configurations, one per provider."""
    summaries = await run_in_threadpool(store.list_workspaces, context.engine)
    return [config_response(s) for s in summaries if s.workspace_id == workspace_id]


@router.get("/config/{provider}", response_model=ConfigResponse)
async def get_config_by_provider(
    provider: ProviderName, workspace_id: WorkspaceId, context: Context
) -> ConfigResponse:
    """The workspace's configuration of `provider`."""
    summaries = await run_in_threadpool(store.list_workspaces, context.engine, provider=provider)
    for summary in summaries:
        if summary.workspace_id == workspace_id:
            return config_response(summary)
    raise not_found("configuration")


@router.get("/config/id/{config_id}", response_model=ConfigResponse)
async def get_config(
    workspace_id: WorkspaceId, context: Context, config_id: ConfigId
) -> ConfigResponse:
    """One configuration by id."""
    return config_response(await run_in_threadpool(_own_config, context, workspace_id, config_id))


@router.put("/config/id/{config_id}", response_model=ConfigResponse)
async def update_config(
    body: ConfigUpdate, workspace_id: WorkspaceId, context: Context, config_id: ConfigId
) -> ConfigResponse:
    """Change a configuration; secret fields and settings left out keep their stored values."""

    def update() -> WorkspaceSummary:
        summary = _own_config(context, workspace_id, config_id)
        stored = store.load_credentials(
            context.engine, context.vault, workspace_id=workspace_id, provider=summary.provider
        )
        api_key, webhook_secret, options = _split(body.configuration)
        given = body.model_fields_set
        return add_workspace(
            context.engine,
            context.vault,
            workspace_id=workspace_id,
            provider=summary.provider,
            api_key=api_key or stored.api_key,
            webhook_secret=webhook_secret or stored.webhook_secret,
            api_base=body.api_base if "api_base" in given else summary.api_base,
            rate_limit_per_second=body.rate_limit_per_second
            if "rate_limit_per_second" in given
            else summary.rate_limit_per_second,
            options={**summary.options, **options},
            replace=True,
        )

    try:
        return config_response(await run_in_threadpool(update))
    except WorkspaceError as error:
        raise _invalid(error) from None
    except VaultError:
        raise HTTPException(
            409, "the stored secrets do not decrypt; send every secret field"
        ) from None


@router.delete("/config/id/{config_id}", status_code=204, response_class=Response)
async def delete_config(
    workspace_id: WorkspaceId, context: Context, config_id: ConfigId
) -> Response:
    """Remove a configuration (synced rows stay)."""

    def delete() -> None:
        summary = _own_config(context, workspace_id, config_id)
        store.remove_configuration(
            context.engine, workspace_id=workspace_id, provider=summary.provider
        )

    await run_in_threadpool(delete)
    return Response(status_code=204)


@router.post("/config/{config_id}/test", response_model=ConnectionTestResponse)
async def run_connection_test(
    workspace_id: WorkspaceId, context: Context, config_id: ConfigId
) -> ConnectionTestResponse:
    """Call the provider with the stored credentials (its registry connection test); a
    workspace in mock mode is not called and says why."""

    def test() -> ConnectionTestResponse:
        summary = _own_config(context, workspace_id, config_id)
        provider = get_provider(summary.provider)
        try:
            stored = store.load_credentials(
                context.engine, context.vault, workspace_id=workspace_id, provider=summary.provider
            )
        except VaultError:
            return ConnectionTestResponse(
                config_id=config_id,
                provider_name=provider.name,
                ok=False,
                message="the stored credentials do not decrypt; store them again",
            )
        credentials = client_credentials(stored)
        reason = provider.mock_mode_reason(credentials)
        if reason is not None:
            return ConnectionTestResponse(
                config_id=config_id,
                provider_name=provider.name,
                ok=False,
                message=f"mock mode, not called: {reason}",
            )
        result = provider.test_connection(credentials)
        return ConnectionTestResponse(
            config_id=config_id, provider_name=provider.name, ok=result.ok, message=result.message
        )

    return await run_in_threadpool(test)
