"""The Stripe sync job: every Stripe entity for the selected workspaces."""

import dagster as dg

from paysync_dagster.defs.stripe.assets import STRIPE_GROUP

stripe_sync_job = dg.define_asset_job(
    "stripe_sync",
    selection=dg.AssetSelection.groups(STRIPE_GROUP),
    description="Full sync of every Stripe entity for the selected workspaces.",
)
