"""Dagster assets and asset checks, one module per provider or domain."""
