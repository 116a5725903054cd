"""`simulator_payments_job`: a run of one target, by the loop sensor or from the launchpad."""

import dagster as dg

from paysync_dagster.defs.simulator.assets import PAYMENTS_KEY

# Partitioned by simulator target, as its one asset is (Dagster infers it from the selection).
simulator_payments_job = dg.define_asset_job(
    "simulator_payments_job",
    selection=dg.AssetSelection.assets(PAYMENTS_KEY),
    description="Synthetic checkouts against one simulator target (config: iterations).",
)
