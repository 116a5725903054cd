"""Webhook signing secrets for the receiver, decrypted once and cached briefly.

At a thousand deliveries a second, reading and decrypting the secret on every request would
cost more than verifying it. Entries live `ttl_seconds`, so a rotation or a removed workspace
takes effect within that time; unknown workspaces are cached too, so invented ids cannot make
every request hit the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from paysync_dagster.store.workspaces import WebhookSecret

SecretLoader = Callable[[str], list[WebhookSecret]]


class SecretCache:
    """Valid secrets per workspace id, from `load(workspace_id)`, kept for `ttl_seconds`."""

    def __init__(
        self, load: SecretLoader, *, ttl_seconds: float = 5.0, max_entries: int = 10_000
    ) -> None:
        self._load = load
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, list[WebhookSecret]]] = {}
        self._lock = threading.Lock()

    def cached(self, workspace_id: str) -> list[str] | None:
        """The valid secrets if cached and fresh, else None (then call `refresh`)."""
        with self._lock:
            entry = self._entries.get(workspace_id)
        if entry is None or entry[0] < time.monotonic():
            return None
        return _valid(entry[1])

    def refresh(self, workspace_id: str) -> list[str]:
        """Load, cache and return the valid secrets (blocking: database and decryption)."""
        secrets = self._load(workspace_id)
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[workspace_id] = (time.monotonic() + self._ttl, secrets)
        return _valid(secrets)


def _valid(secrets: list[WebhookSecret]) -> list[str]:
    now = datetime.now(UTC)
    return [s.secret for s in secrets if s.expires_at is None or s.expires_at > now]
