"""Dagster resources: database, vault and provider clients."""
