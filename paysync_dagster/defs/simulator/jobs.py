"""`simulator_payments_job`: a run of one target, by the loop sensor or from the launchpad."""

import dagster as dg

from paysync_dagster.defs.simulator.assets import PAYMENTS_KEY
from paysync_dagster.defs.simulator.partitions import simulator_target_partitions

simulator_payments_job = dg.define_asset_job(
    "simulator_payments_job",
    selection=dg.AssetSelection.assets(PAYMENTS_KEY),
    partitions_def=simulator_target_partitions,
    description="Synthetic checkouts against one simulator target (config: iterations).",
)
