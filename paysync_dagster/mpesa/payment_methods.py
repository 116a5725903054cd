"""The customer view: which payment methods a bar offers.

M-Pesa is offered exactly when `bars.mpesa_enabled` is true and the bar has valid credentials
(a known environment and secrets that decrypt under this bar's binding).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from paysync_dagster.mpesa import credentials
from paysync_dagster.store.tables import bars, mpesa_credentials
from paysync_dagster.store.vault import Vault

logger = logging.getLogger("paysync.mpesa")


def offers_mpesa(engine: sa.Engine, vault: Vault, bar_id: int) -> bool | None:
    """Whether the bar offers M-Pesa; None when there is no such bar."""
    with engine.connect() as connection:
        enabled = connection.scalar(sa.select(bars.c.mpesa_enabled).where(bars.c.id == bar_id))
        if enabled is None:
            return None
        row = connection.execute(
            sa.select(mpesa_credentials).where(mpesa_credentials.c.bar_id == bar_id)
        ).first()
    if not enabled or row is None:
        return False
    if credentials.decrypt(vault, row) is None:
        logger.warning(
            "bar %d: stored M-Pesa credentials are not valid; M-Pesa not offered", bar_id
        )
        return False
    return True
