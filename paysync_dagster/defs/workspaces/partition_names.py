"""The partition sets' names, importable without Dagster (the CLI registers partitions by
name over the webserver's GraphQL API)."""

WORKSPACE_PARTITIONS_NAME = "workspace"
