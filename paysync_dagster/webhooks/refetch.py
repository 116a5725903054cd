"""The per-workspace refetch: the current object from Stripe instead of the event payload."""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa

from paysync_dagster.providers.stripe.client import StripeApi
from paysync_dagster.providers.stripe.entities import PROVIDER
from paysync_dagster.providers.stripe.provider import STRIPE
from paysync_dagster.store.vault import Vault
from paysync_dagster.store.workspaces import load_credentials
from paysync_dagster.sync.provider_sync import SyncOptions, open_client


class StripeObjectFetcher:
    """Fetches objects through each workspace's own client, rate budget and retries.

    Clients are opened on first use per workspace and kept, so the budget spans batches.
    """

    def __init__(self, engine: sa.Engine, vault: Vault, options: SyncOptions | None = None) -> None:
        self._engine = engine
        self._vault = vault
        self._options = options or SyncOptions(max_retries=2, timeout_seconds=10.0)
        self._clients: dict[str, StripeApi] = {}
        self._lock = threading.Lock()

    def fetch(self, workspace_id: str, entity: str, object_id: str) -> dict[str, Any] | None:
        """The object as Stripe has it now, or None if Stripe has no such object.

        A failed fetch drops the workspace's client, so the next attempt reads the
        configuration again (it may have been fixed in the meantime).
        """
        client = self._client(workspace_id)
        try:
            return client.retrieve(entity, object_id)
        except Exception:
            with self._lock:
                if self._clients.get(workspace_id) is client:
                    del self._clients[workspace_id]
            client.close()
            raise

    def _client(self, workspace_id: str) -> StripeApi:
        with self._lock:
            client = self._clients.get(workspace_id)
            if client is None:
                credentials = load_credentials(
                    self._engine, self._vault, workspace_id=workspace_id, provider=PROVIDER
                )
                opened = open_client(STRIPE, credentials, self._options)
                if not isinstance(opened, StripeApi):
                    raise TypeError("the Stripe provider opened a client without retrieve()")
                client = self._clients[workspace_id] = opened
            return client

    def close(self) -> None:
        """Release every client's connections."""
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
