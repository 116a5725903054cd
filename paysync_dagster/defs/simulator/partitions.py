"""The `simulator_target` partitions: one per configured simulator target."""

import dagster as dg

from paysync_dagster.dagster_names import SIMULATOR_TARGET_PARTITIONS_NAME

simulator_target_partitions = dg.DynamicPartitionsDefinition(name=SIMULATOR_TARGET_PARTITIONS_NAME)
