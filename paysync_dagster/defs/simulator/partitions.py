"""The `simulator_target` partitions: one per configured simulator target."""

import dagster as dg

SIMULATOR_TARGET_PARTITIONS_NAME = "simulator_target"

simulator_target_partitions = dg.DynamicPartitionsDefinition(name=SIMULATOR_TARGET_PARTITIONS_NAME)
