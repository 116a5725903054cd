"""`paysync keys`: encryption key management."""

from __future__ import annotations

import click

from paysync_dagster.cli.context import CliContext, clear_errors, say


@click.group()
def keys() -> None:
    """Encryption key management."""


@keys.command("rotate")
@click.pass_obj
@clear_errors
def keys_rotate(obj: CliContext) -> None:
    """Re-encrypt every stored secret under the primary key of PAYSYNC_ENCRYPTION_KEYS."""
    from paysync_dagster.mpesa import credentials
    from paysync_dagster.simulator import targets
    from paysync_dagster.store.workspaces import rotate_keys

    vault = obj.vault()
    rotated = rotate_keys(obj.engine(), vault, also=[credentials.rotate, targets.rotate])
    say(f"{rotated} secret(s) re-encrypted under key {vault.primary_key_id!r}")
