"""The net under `paysync serve`: the backlog job when events wait too long."""

import os
from datetime import UTC, datetime

import dagster as dg

from paysync_dagster.defs.resources import DatabaseResource
from paysync_dagster.defs.webhooks.jobs import webhook_backlog_job
from paysync_dagster.store.upsert import as_utc
from paysync_dagster.webhooks.inbox import backlog

DEFAULT_BACKLOG_SECONDS = 120
# While the backlog persists, relaunch at most once per this many seconds.
RELAUNCH_SECONDS = 600


def backlog_threshold_seconds() -> int:
    """`PAYSYNC_WEBHOOK_BACKLOG_SECONDS`, else 120: how old the oldest due event may get."""
    return int(os.environ.get("PAYSYNC_WEBHOOK_BACKLOG_SECONDS", DEFAULT_BACKLOG_SECONDS))


@dg.sensor(
    job=webhook_backlog_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Launches the webhook backlog job when the oldest due event has waited longer than"
        " PAYSYNC_WEBHOOK_BACKLOG_SECONDS (default 120): no worker is keeping up."
    ),
)
def webhook_backlog_sensor(
    context: dg.SensorEvaluationContext, database: DatabaseResource
) -> dg.RunRequest | dg.SkipReason:
    now = datetime.now(UTC)
    with database.get_engine().connect() as connection:
        waiting = backlog(connection, now=now)
    if waiting.oldest_received_at is None:
        return dg.SkipReason("no webhook events are due")
    age = (now - as_utc(waiting.oldest_received_at)).total_seconds()
    threshold = backlog_threshold_seconds()
    if age <= threshold:
        return dg.SkipReason(f"{waiting.due} due event(s), oldest {age:.0f}s <= {threshold}s")
    context.log.info(f"{waiting.due} webhook event(s) due, oldest waiting {age:.0f}s")
    oldest = int(as_utc(waiting.oldest_received_at).timestamp())
    return dg.RunRequest(
        run_key=f"webhook-backlog:{oldest}:{int(now.timestamp()) // RELAUNCH_SECONDS}",
        tags={"paysync/trigger": "webhook_backlog"},
    )
