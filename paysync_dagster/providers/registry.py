"""The provider registry: the one place that knows which providers exist.

Assets, checks, sensors, schedules, the CLI, the demo and the control API all read it.
Adding a provider is a package under `providers/` that builds a `Provider`, and one line here.
"""

from __future__ import annotations

from paysync_dagster.providers.base import Provider
from paysync_dagster.providers.payfit.provider import PAYFIT
from paysync_dagster.providers.stripe.provider import STRIPE
from paysync_dagster.store.workspaces import WorkspaceError

PROVIDERS: dict[str, Provider] = {provider.name: provider for provider in (STRIPE, PAYFIT)}


def provider_names() -> tuple[str, ...]:
    """The registered providers' names, e.g. for a CLI choice."""
    return tuple(PROVIDERS)


def get_provider(name: str) -> Provider:
    """The provider called `name`; a clear error naming the choices otherwise."""
    provider = PROVIDERS.get(name)
    if provider is None:
        raise WorkspaceError(
            f"unsupported provider {name[:40]!r}: choose one of {', '.join(PROVIDERS)}"
        )
    return provider
