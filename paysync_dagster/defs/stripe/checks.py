"""Integrity checks on the Stripe mirror, per workspace, runnable without syncing."""

from paysync_dagster.defs.syncing.checks import build_integrity_checks
from paysync_dagster.providers.stripe.provider import STRIPE

stripe_integrity_checks = build_integrity_checks(STRIPE)
