"""Bearer tokens for the settings API, stored only as SHA-256 hashes.

A token is 256 random bits, so a plain hash is enough (no salt or slow hash needed: there is
nothing to brute-force). It is shown once, when created.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from paysync_dagster.mpesa.errors import MpesaError
from paysync_dagster.store.tables import mpesa_api_tokens

TOKEN_PREFIX = "pst_"  # noqa: S105 - the public prefix that marks a paysync token
MAX_TOKEN_LENGTH = 128
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_table = mpesa_api_tokens


@dataclass(frozen=True)
class TokenSummary:
    """A token's name and lifetime; never the token."""

    name: str
    created_at: datetime
    revoked_at: datetime | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(engine: sa.Engine, name: str) -> str:
    """Create a token called `name` and return it; only its hash is stored."""
    if not _NAME_RE.fullmatch(name):
        raise MpesaError("invalid token name: use 1-64 lowercase letters, digits, '.', '-' or '_'")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as connection:
        if connection.scalar(sa.select(_table.c.id).where(_table.c.name == name)) is not None:
            raise MpesaError(f"a token named {name!r} already exists")
        connection.execute(
            sa.insert(_table).values(
                name=name, token_sha256=_digest(token), created_at=datetime.now(UTC)
            )
        )
    return token


def revoke_token(engine: sa.Engine, name: str) -> None:
    """Revoke the active token called `name`."""
    with engine.begin() as connection:
        revoked = connection.execute(
            sa.update(_table)
            .where(_table.c.name == name, _table.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        ).rowcount
    if not revoked:
        raise MpesaError(f"no active token is named {name[:64]!r}")


def list_tokens(engine: sa.Engine) -> list[TokenSummary]:
    """Every token's name and dates, by name."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(_table).order_by(_table.c.name)).all()
    return [TokenSummary(row.name, row.created_at, row.revoked_at) for row in rows]


def authenticate(engine: sa.Engine, token: str) -> str | None:
    """The name of the active token `token`, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    digest = _digest(token)
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(_table.c.name, _table.c.token_sha256).where(
                _table.c.token_sha256 == digest, _table.c.revoked_at.is_(None)
            )
        ).first()
    if row is None or not hmac.compare_digest(row.token_sha256, digest):
        return None
    return row.name
