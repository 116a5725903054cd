"""The Stripe sync job: every Stripe entity for the selected workspaces."""

import dagster as dg

from paysync_dagster.defs.stripe.keys import STRIPE_GROUP

STRIPE_SYNC_JOB = "stripe_sync"

stripe_sync_job = dg.define_asset_job(
    STRIPE_SYNC_JOB,
    # The checks are recorded per workspace by the sync step itself; their standalone step
    # (reading the tables without syncing) runs on its own from the UI.
    selection=dg.AssetSelection.groups(STRIPE_GROUP).without_checks(),
    description="Full sync of every Stripe entity for the selected workspaces.",
)
