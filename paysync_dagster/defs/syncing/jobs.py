"""A provider's sync job: every entity of the provider for the selected workspaces."""

import dagster as dg

from paysync_dagster.defs.syncing.keys import sync_job_name
from paysync_dagster.providers.base import Provider


def build_sync_job(provider: Provider):  # -> an unresolved asset job (not public in 1.13)
    """`<provider>_sync`, which the UI, schedules, sensors and the demo launch by name, so
    every run can be re-executed from the UI."""
    return dg.define_asset_job(
        sync_job_name(provider),
        # With their checks, which the sync step records per workspace as it writes.
        selection=dg.AssetSelection.groups(provider.name),
        description=f"Full sync of every {provider.title} entity for the selected workspaces.",
    )
