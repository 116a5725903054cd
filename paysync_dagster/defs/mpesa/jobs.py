"""The M-Pesa repair job: materialize `mpesa/bars`, then check the flags again."""

import dagster as dg

from paysync_dagster.defs.mpesa.assets import BARS_KEY

mpesa_repair_job = dg.define_asset_job(
    "mpesa_repair_job",
    selection=dg.AssetSelection.assets(BARS_KEY),
    description="Repair M-Pesa drift, then check the flags again.",
)
