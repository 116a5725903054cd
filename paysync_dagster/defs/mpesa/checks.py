"""M-Pesa consistency checks: flags agree with credentials, no repair left unresolved.

Both run after every repair and on their own; ERROR severity, since a bar offering M-Pesa
without working credentials fails real customer payments.
"""

import dagster as dg

from paysync_dagster.defs.mpesa.assets import BARS_KEY
from paysync_dagster.defs.resources import DatabaseResource
from paysync_dagster.mpesa.drift import find_drift
from paysync_dagster.mpesa.failures import unresolved_failures


@dg.asset_check(
    asset=BARS_KEY,
    description="Every bar's `mpesa_enabled` equals its credentials' `is_active` (one query).",
)
def mpesa_flags_consistent(database: DatabaseResource) -> dg.AssetCheckResult:
    with database.get_engine().connect() as connection:
        drift = find_drift(connection)
    return dg.AssetCheckResult(
        passed=drift.count == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "drifted_bars": drift.count,
            "sample_bar_ids": ", ".join(str(bar_id) for bar_id in drift.sample),
        },
    )


@dg.asset_check(
    asset=BARS_KEY,
    description="No bar is waiting for manual intervention after a failed repair.",
)
def mpesa_repairs_resolved(database: DatabaseResource) -> dg.AssetCheckResult:
    with database.get_engine().connect() as connection:
        failures = unresolved_failures(connection)
    return dg.AssetCheckResult(
        passed=failures.bars == 0,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "bars_needing_intervention": failures.bars,
            "sample_bar_ids": ", ".join(str(f.bar_id) for f in failures.records),
            "latest_error": failures.records[0].error if failures.records else "",
        },
    )
