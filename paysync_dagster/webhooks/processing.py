"""A processor with its refetcher, opened and closed in one place.

`paysync serve`, `paysync webhooks replay`, the Dagster backlog asset and the replay job all
process through this, with the same options type and defaults (`ProcessorOptions`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from paysync_dagster.store.vault import Vault
from paysync_dagster.webhooks.processor import Processor, ProcessorOptions
from paysync_dagster.webhooks.refetch import StripeObjectFetcher


@contextmanager
def open_processor(
    engine: sa.Engine, vault: Vault, options: ProcessorOptions | None = None
) -> Iterator[Processor]:
    """A processor that can refetch objects for workspaces that ask for it; its provider
    clients are closed when the block ends."""
    fetcher = StripeObjectFetcher(engine, vault)
    try:
        yield Processor(engine, options or ProcessorOptions(), fetcher=fetcher)
    finally:
        fetcher.close()
