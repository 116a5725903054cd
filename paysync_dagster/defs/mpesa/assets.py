"""M-Pesa status consistency in Dagster: the two tables as assets, drift checks and the repair.

`mpesa/credentials` is written by the settings API (`POST /api/mpesa-settings`) and is the
source of truth. Materializing `mpesa/bars` is the repair: it sets `bars.mpesa_enabled` from the
credentials for the drifted bars only. Its checks run after every repair, and on their own.
"""

import time

import dagster as dg
from pydantic import Field

from paysync_dagster.defs.resources import DatabaseResource
from paysync_dagster.mpesa.repair import repair_drift
from paysync_dagster.mpesa.retry import RetryPolicy

MPESA_GROUP = "mpesa"
CREDENTIALS_KEY = dg.AssetKey(["mpesa", "credentials"])
BARS_KEY = dg.AssetKey(["mpesa", "bars"])
PROGRESS_LOG_INTERVAL_SECONDS = 2.0

mpesa_credentials = dg.AssetSpec(
    CREDENTIALS_KEY,
    group_name=MPESA_GROUP,
    description=(
        "Each bar's M-Pesa credentials (encrypted) and `is_active`, written by the staff"
        " settings API: the source of truth for whether a bar takes M-Pesa."
    ),
)


class MpesaRepairConfig(dg.Config):
    """How the repair batches and retries."""

    chunk_size: int = Field(default=1000, ge=1, le=50_000, description="Bars per transaction.")
    max_retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=0.5, ge=0, description="First retry's wait; doubles.")


@dg.asset(
    key=BARS_KEY,
    deps=[mpesa_credentials],
    group_name=MPESA_GROUP,
    description=(
        "Bars and `mpesa_enabled`, what the customer app reads to offer M-Pesa. Materializing"
        " repairs drift: each inconsistent bar gets its credentials' `is_active` (false without"
        " credentials); bars that still fail after retries are recorded for manual repair."
    ),
)
def mpesa_bars(
    context: dg.AssetExecutionContext, config: MpesaRepairConfig, database: DatabaseResource
) -> dg.MaterializeResult:
    last_logged = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last_logged
        if done == total or time.monotonic() - last_logged >= PROGRESS_LOG_INTERVAL_SECONDS:
            last_logged = time.monotonic()
            context.log.info(f"M-Pesa repair: {done}/{total} drifted bar(s) processed")

    report = repair_drift(
        database.get_engine(),
        chunk_size=config.chunk_size,
        retry=RetryPolicy(max_retries=config.max_retries, base_seconds=config.backoff_seconds),
        run_id=context.run.run_id,
        progress=progress,
    )
    return dg.MaterializeResult(
        metadata={
            "drifted_bars": dg.MetadataValue.int(report.drifted),
            "repaired_bars": dg.MetadataValue.int(report.repaired),
            "failed_bars": dg.MetadataValue.int(len(report.failed)),
            "retry_rounds": dg.MetadataValue.int(report.retries),
            "failed_bar_ids": dg.MetadataValue.text(
                ", ".join(str(bar.bar_id) for bar in report.failed[:20])
            ),
            "seconds": dg.MetadataValue.float(round(report.seconds, 3)),
        }
    )
