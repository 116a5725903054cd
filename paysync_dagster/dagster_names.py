"""The names Dagster knows paysync's definitions by, importable without Dagster.

The `defs/` layer declares its definitions under these names; the CLI and the control API
address them by name over the webserver's GraphQL API, without importing Dagster.
"""

# The code location's name (workspace.yaml, `[tool.dg]`): runs are launched into it by name.
CODE_LOCATION = "paysync_dagster"
# The repository `@dg.definitions` makes; the webserver's GraphQL API names it this way.
REPOSITORY_NAME = "__repository__"
# The dynamic partition sets: one partition per workspace (key = workspace id), and one per
# simulator target.
WORKSPACE_PARTITIONS_NAME = "workspace"
SIMULATOR_TARGET_PARTITIONS_NAME = "simulator_target"
