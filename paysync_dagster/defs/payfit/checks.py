"""Integrity checks on the PayFit mirror and `payfit_configured` (WARN in mock mode)."""

from paysync_dagster.defs.syncing.checks import build_integrity_checks
from paysync_dagster.providers.payfit.provider import PAYFIT

payfit_integrity_checks = build_integrity_checks(PAYFIT)
