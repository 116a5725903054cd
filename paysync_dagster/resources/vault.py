"""The credential vault, keyed by `PAYSYNC_ENCRYPTION_KEYS`."""

import os
from pathlib import Path

import dagster as dg

from paysync_dagster.settings import Settings
from paysync_dagster.store.vault import Vault


class VaultResource(dg.ConfigurableResource):
    """Decrypts workspace credentials for provider clients.

    Keys come from `PAYSYNC_ENCRYPTION_KEYS`; locally, without it, from the key file under
    `home` (default `PAYSYNC_HOME` or `./.paysync/`).
    """

    home: str | None = None

    def get_vault(self) -> Vault:
        """A vault over the configured key ring."""
        home = Path(self.home) if self.home else Settings.from_environment().home
        return Vault.from_environment(os.environ, home=home)
