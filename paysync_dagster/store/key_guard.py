"""Opening the vault only when its key ring can read what is stored.

A key ring that lacks a key id the database uses would make every secret under it unreadable,
and a lost local key file would otherwise be silently replaced by a new key. Both are stopped
here, before any command runs: the error names the missing key ids (never key material) and
no key file is created while stored secrets need one that is missing.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from pathlib import Path

import sqlalchemy as sa

from paysync_dagster.store.tables import CIPHERTEXT_COLUMNS
from paysync_dagster.store.vault import ENV_KEYS, KEY_FILE_NAME, Vault, VaultConfigurationError

# Enough to name the problem; a ring missing more ids than this has one cause anyway.
_MAX_REPORTED_KEY_IDS = 5


def unknown_key_ids(connection: sa.Connection, known: Collection[str]) -> list[str]:
    """Key ids of stored tokens that are not in `known`, sorted (at most a few).

    One query per table finds a token outside the known ids; its id joins the known ones and
    the search repeats, so a database under one known key costs one scan per table.
    """
    inspector = sa.inspect(connection)
    by_table: dict[sa.Table, list[sa.Column]] = {}
    for column in CIPHERTEXT_COLUMNS:
        by_table.setdefault(column.table, []).append(column)
    found: set[str] = set()
    for table, columns in by_table.items():
        if not inspector.has_table(table.name):
            continue  # not migrated yet: nothing stored
        while len(found) < _MAX_REPORTED_KEY_IDS:
            excluded = {*known, *found}
            outside = [
                column.is_not(None)
                & sa.and_(
                    sa.true(),
                    *(~column.startswith(f"v1:{key_id}:", autoescape=True) for key_id in excluded),
                )
                for column in columns
            ]
            row = connection.execute(sa.select(*columns).where(sa.or_(*outside)).limit(1)).first()
            if row is None:
                break
            key_id = _key_id([token for token in row if _outside(token, excluded)])
            if key_id is None:
                break  # a malformed token: decrypting it fails on its own, with its own error
            found.add(key_id)
    return sorted(found)


def _outside(token: str | None, known: Collection[str]) -> bool:
    return token is not None and not any(token.startswith(f"v1:{key_id}:") for key_id in known)


def _key_id(tokens: list[str]) -> str | None:
    for token in tokens:
        version, _, rest = token.partition(":")
        key_id, sep, _ = rest.partition(":")
        if version == "v1" and sep and key_id:
            return key_id[:32]
    return None


def open_vault(engine: sa.Engine, environ: Mapping[str, str] | None = None, *, home: Path) -> Vault:
    """The vault from the environment, after checking that its ring holds every stored key id.

    Raises `VaultConfigurationError` naming the missing ids; when the local key file is gone
    and secrets are stored, no new key file is generated.
    """
    env = os.environ if environ is None else environ
    with engine.connect() as connection:
        if ENV_KEYS not in env and not (home / KEY_FILE_NAME).exists():
            missing = unknown_key_ids(connection, ())
            if missing:
                raise VaultConfigurationError(
                    f"secrets are stored under key id(s) {_names(missing)} but the key file"
                    f" {home / KEY_FILE_NAME} is missing; restore it or set {ENV_KEYS}"
                    " (a new key would not decrypt them, so none is generated)"
                )
        vault = Vault.from_environment(env, home=home)
        missing = unknown_key_ids(connection, vault.key_ids)
    if missing:
        raise VaultConfigurationError(
            f"secrets are stored under key id(s) {_names(missing)} that the key ring lacks;"
            f" add them to {ENV_KEYS} (or restore the key file) before running paysync"
        )
    return vault


def _names(key_ids: list[str]) -> str:
    return ", ".join(repr(key_id) for key_id in key_ids)
