"""`GET /api/v1/sync/providers`: the provider registry, as clients configure it."""

from __future__ import annotations

from fastapi import APIRouter

from paysync_dagster.providers.base import Provider
from paysync_dagster.providers.registry import PROVIDERS
from paysync_dagster.server.auth import Caller
from paysync_dagster.server.control.deps import ControlRoute
from paysync_dagster.server.control.models import CredentialFieldInfo, EntityInfo, ProviderInfo

router = APIRouter(route_class=ControlRoute)


def provider_info(provider: Provider) -> ProviderInfo:
    """A registry entry without its callables."""
    return ProviderInfo(
        name=provider.name,
        title=provider.title,
        entities=[
            EntityInfo(
                name=entity.name,
                table=entity.table,
                description=entity.description,
                upstream=list(entity.upstream),
            )
            for entity in provider.entities
        ],
        credential_fields=[
            CredentialFieldInfo(
                name=spec.name,
                description=spec.description,
                secret=spec.secret,
                required=spec.required,
            )
            for spec in provider.credential_fields
        ],
        takes_webhooks=provider.takes_webhooks,
        has_mock_mode=provider.has_mock_mode,
    )


@router.get("/providers", response_model=list[ProviderInfo])
async def list_providers(_caller: Caller) -> list[ProviderInfo]:
    """Every registered provider with its entities and configuration fields."""
    return [provider_info(provider) for provider in PROVIDERS.values()]
