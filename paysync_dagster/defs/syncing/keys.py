"""Asset keys and job names of provider syncs: `<provider>/<entity>`, `<provider>_sync`.

The asset keys are a contract other tools rely on (`stripe/customers`, `payfit/contracts`).
"""

import dagster as dg

from paysync_dagster.providers.base import Provider


def entity_asset_key(provider: Provider, entity_type: str) -> dg.AssetKey:
    """`<provider>/<entity>`, e.g. `stripe/customers`."""
    return dg.AssetKey([provider.name, entity_type])


def sync_job_name(provider: Provider) -> str:
    """The job that fully syncs every entity of `provider`, e.g. `stripe_sync`."""
    return f"{provider.name}_sync"


def configured_check_name(provider: Provider) -> str:
    """The WARN check saying whether a workspace is really configured (not in mock mode)."""
    return f"{provider.name}_configured"
