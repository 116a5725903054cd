"""Sync engine: full syncs of provider entities into the canonical tables, without Dagster."""
