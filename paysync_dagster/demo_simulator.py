"""The demo's simulator part: a Stripe target on the demo-small sandbox, one run through the
`simulator_payments_job`, with the freshness probe answered by an in-process `paysync serve`.

The sandbox delivers its payment webhooks to that server, whose worker writes them to the
mirror, so the probe measures the real pipeline. `paysync dev` serves the same sandbox again
(with webhooks to its own `paysync serve`), so the target keeps working there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from paysync_dagster.dagster_instance import add_partitions, instance
from paysync_dagster.dagster_names import SIMULATOR_TARGET_PARTITIONS_NAME
from paysync_dagster.definitions import defs
from paysync_dagster.defs.simulator.jobs import simulator_payments_job
from paysync_dagster.server import ServerContext, build_app
from paysync_dagster.serving import server_in_thread, uvicorn_server
from paysync_dagster.settings import Settings
from paysync_dagster.simulator.cards import load_cards
from paysync_dagster.simulator.targets import Target, save_target
from paysync_dagster.store.vault import Vault
from paysync_dagster.webhooks.processor import Processor
from paysync_dagster.webhooks.worker import worker_pool

DEMO_TARGET = "demo-checkout"
DEMO_TARGET_WORKSPACE = "demo-small"


@contextmanager
def webhook_server(settings: Settings, engine: sa.Engine, vault: Vault) -> Iterator[str]:
    """`paysync serve`'s app with one webhook worker, in a thread; yields its base URL."""
    context = ServerContext(settings=settings, engine=engine, vault=vault)
    app = build_app(context, worker_pool(Processor(engine), 1))
    with server_in_thread(uvicorn_server(app), "paysync demo server") as url:
        yield url


def run_simulator(
    engine: sa.Engine, vault: Vault, home: Path, *, api_key: str, api_base: str
) -> dg.ExecuteInProcessResult:
    """Store the demo target and run it once, one attempt per default card."""
    save_target(
        engine,
        vault,
        Target(
            name=DEMO_TARGET,
            kind="stripe",
            api_key=api_key,
            api_base=api_base,
            workspace_id=DEMO_TARGET_WORKSPACE,
        ),
        replace=True,
    )
    add_partitions(SIMULATOR_TARGET_PARTITIONS_NAME, [DEMO_TARGET], home=home)
    iterations = len(load_cards(None, "stripe")[0])
    with instance(home) as dagster:
        job = defs().resolve_job_def(simulator_payments_job.name)
        return job.execute_in_process(
            instance=dagster,
            partition_key=DEMO_TARGET,
            run_config={
                "ops": {"simulator__payments": {"config": {"iterations": iterations}}},
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            },
            raise_on_error=False,
        )
