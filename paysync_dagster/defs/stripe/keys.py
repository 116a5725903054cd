"""The Stripe assets' group and keys: `stripe/<entity>`, a contract other tools rely on."""

import dagster as dg

STRIPE_GROUP = "stripe"


def stripe_asset_key(entity_type: str) -> dg.AssetKey:
    """`stripe/<entity>`: the contracted asset key of a Stripe entity."""
    return dg.AssetKey([STRIPE_GROUP, entity_type])
