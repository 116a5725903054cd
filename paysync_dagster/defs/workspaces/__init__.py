"""Workspaces (tenants): the partition set, and the sensor keeping it equal to the config."""
