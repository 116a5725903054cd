"""PayFit entities mirrored per workspace: `payfit/collaborators` (into `employees`) and
`payfit/contracts` (into `employment_contracts`), synced by one step per run."""

from paysync_dagster.defs.syncing.assets import build_sync_asset
from paysync_dagster.providers.payfit.provider import PAYFIT

payfit_entities = build_sync_asset(PAYFIT)
