"""M-Pesa status consistency: settings, drift detection, repair and audit (no Dagster here).

`mpesa_credentials.is_active` is the source of truth for whether a bar takes M-Pesa and
`bars.mpesa_enabled`, which the customer app reads, must follow it. A bar without a credentials
row counts as inactive: its `mpesa_enabled` must be false.
"""
