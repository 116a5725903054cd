"""M-Pesa credentials at rest: encrypted with the vault, each ciphertext bound to its bar.

The associated data names the bar (`bar-<id>`) and the provider `mpesa`, so a ciphertext
copied into another bar's row fails to decrypt instead of taking payments for the wrong bar.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args

import sqlalchemy as sa

from paysync_dagster.store.tables import mpesa_credentials
from paysync_dagster.store.vault import Vault, VaultError

if TYPE_CHECKING:
    # Only a type here: `validation.py` imports pydantic, which `paysync keys rotate` (this
    # module's other user) has no need for.
    from paysync_dagster.mpesa.validation import MpesaSettings

PROVIDER = "mpesa"
# The Daraja environments a bar's credentials are for.
Environment = Literal["sandbox", "production"]
ENVIRONMENTS: tuple[str, ...] = get_args(Environment)
CIPHERTEXT_COLUMNS = (
    "consumer_key_ciphertext",
    "consumer_secret_ciphertext",
    "passkey_ciphertext",
)


@dataclass(frozen=True)
class MpesaSecrets:
    """A bar's decrypted credentials, for the payment client only; `repr` hides them."""

    environment: str
    business_shortcode: str
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    passkey: str = field(repr=False)


def tenant(bar_id: int) -> str:
    """The vault's tenant name for a bar (its associated data)."""
    return f"bar-{bar_id}"


def encrypt(vault: Vault, settings: MpesaSettings) -> dict[str, str]:
    """The ciphertext columns for `settings`, bound to its bar."""
    bound = {"workspace_id": tenant(settings.bar_id), "provider": PROVIDER}
    return {
        "consumer_key_ciphertext": vault.encrypt(settings.consumer_key, **bound),
        "consumer_secret_ciphertext": vault.encrypt(settings.consumer_secret, **bound),
        "passkey_ciphertext": vault.encrypt(settings.passkey, **bound),
    }


def decrypt(vault: Vault, row: sa.Row) -> MpesaSecrets | None:
    """A credentials row's secrets, or None when they are not valid for its bar.

    Valid means: a known environment, and every secret decrypts under this bar's binding to a
    non-empty value. A row copied from another bar, tampered with, or encrypted under a key no
    longer in the ring is not valid.
    """
    if row.environment not in ENVIRONMENTS:
        return None
    bound = {"workspace_id": tenant(row.bar_id), "provider": PROVIDER}
    try:
        values = [vault.decrypt(getattr(row, column), **bound) for column in CIPHERTEXT_COLUMNS]
    except VaultError:
        return None
    if not all(values):
        return None
    return MpesaSecrets(row.environment, row.business_shortcode, *values)


def rotate(connection: sa.Connection, vault: Vault) -> int:
    """Re-encrypt every M-Pesa secret not under the vault's primary key; returns how many.

    Runs on the caller's connection so `paysync keys rotate` rotates every secret in one
    transaction.
    """
    rotated = 0
    for row in connection.execute(sa.select(mpesa_credentials)).all():
        bound = {"workspace_id": tenant(row.bar_id), "provider": PROVIDER}
        changes = {
            column: vault.reencrypt(getattr(row, column), **bound)
            for column in CIPHERTEXT_COLUMNS
            if vault.needs_rotation(getattr(row, column))
        }
        if changes:
            connection.execute(
                sa.update(mpesa_credentials)
                .where(mpesa_credentials.c.id == row.id)
                .values(**changes)
            )
            rotated += len(changes)
    return rotated
