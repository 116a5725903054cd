"""Stripe: API client through the official SDK and mapping to canonical rows."""
