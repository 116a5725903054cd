"""Stripe: the mirrored entities as assets, their integrity checks, the sync job and schedule."""
