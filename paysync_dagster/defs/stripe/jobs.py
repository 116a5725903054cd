"""The Stripe sync job: every Stripe entity for the selected workspaces."""

from paysync_dagster.defs.syncing.jobs import build_sync_job
from paysync_dagster.providers.stripe.provider import STRIPE

stripe_sync_job = build_sync_job(STRIPE)
