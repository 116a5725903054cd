"""The webhook inbox in Dagster: backlog processing, health checks, gap fill and replay."""
