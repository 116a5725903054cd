"""What every provider's sync looks like in Dagster, built from its registry entry."""
