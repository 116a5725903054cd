"""A run worker stand-in for tests: syncs one Stripe entity of one workspace, as a Dagster run
with the given id would, in a process of its own that a test can `kill -9`.

    python tests/sync/sync_worker.py DATABASE_URL WORKSPACE_ID ENTITY RUN_ID BATCH_SIZE

The key ring comes from `PAYSYNC_ENCRYPTION_KEYS`, as in a deployment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from paysync_dagster.providers.stripe.provider import STRIPE
from paysync_dagster.store.database import create_engine
from paysync_dagster.store.vault import Vault
from paysync_dagster.sync.provider_sync import SyncOptions, sync_provider_entity


def main(argv: list[str]) -> None:
    """Run the sync described by `argv` to completion (or until killed)."""
    database_url, workspace_id, entity_type, run_id, batch_size = argv
    engine = create_engine(database_url)
    vault = Vault.from_environment(os.environ, home=Path.cwd())
    sync_provider_entity(
        STRIPE,
        engine,
        vault,
        workspace_id=workspace_id,
        entity_type=entity_type,
        options=SyncOptions(batch_size=int(batch_size)),
        dagster_run_id=run_id,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
