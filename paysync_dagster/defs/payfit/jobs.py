"""The PayFit sync job: collaborators, then contracts, for the selected workspaces."""

from paysync_dagster.defs.syncing.jobs import build_sync_job
from paysync_dagster.providers.payfit.provider import PAYFIT

payfit_sync_job = build_sync_job(PAYFIT)
