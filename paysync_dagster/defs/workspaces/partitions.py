"""The one partition dimension: workspaces (tenants), kept in step with the database."""

import dagster as dg

from paysync_dagster.dagster_names import WORKSPACE_PARTITIONS_NAME

workspace_partitions = dg.DynamicPartitionsDefinition(name=WORKSPACE_PARTITIONS_NAME)

# Dagster's run tags for a partition range: one run then carries every workspace in the range.
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    """Tags that make one run cover workspaces `first`..`last` in partition order."""
    return {PARTITION_RANGE_START_TAG: first, PARTITION_RANGE_END_TAG: last}
