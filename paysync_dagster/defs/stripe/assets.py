"""Stripe entities mirrored per workspace: customers, products, prices, subscriptions,
invoices, as assets `stripe/<entity>` synced by one step per run."""

from paysync_dagster.defs.syncing.assets import build_sync_asset
from paysync_dagster.providers.stripe.provider import STRIPE

stripe_entities = build_sync_asset(STRIPE)
