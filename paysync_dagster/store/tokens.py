"""API tokens of `paysync serve`, stored only as SHA-256 hashes.

A token is 256 random bits, so a plain hash is enough (no salt or slow hash needed: there is
nothing to brute-force). It is shown once, when created. A token is either admin (every
workspace and the M-Pesa settings API) or scoped to a list of workspaces; tokens carried over
from the M-Pesa-only table (migration 0006) may call the M-Pesa settings API and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from paysync_dagster.store.tables import api_tokens
from paysync_dagster.store.workspaces import validate_workspace_id

TOKEN_PREFIX = "pst_"  # noqa: S105 - the public prefix that marks a paysync token
MAX_TOKEN_LENGTH = 128
MAX_TOKEN_WORKSPACES = 100
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_table = api_tokens


class TokenError(ValueError):
    """A token operation was refused; the message names the bad input, never a token."""


@dataclass(frozen=True)
class Principal:
    """Who a valid token speaks for: never the token itself."""

    name: str
    is_admin: bool
    workspace_ids: frozenset[str]
    mpesa_settings: bool

    def may_act_on(self, workspace_id: str) -> bool:
        """Whether this token may read or change `workspace_id`'s resources."""
        return self.is_admin or workspace_id in self.workspace_ids

    @property
    def may_manage_mpesa(self) -> bool:
        """Whether this token may call the M-Pesa settings API."""
        return self.is_admin or self.mpesa_settings


@dataclass(frozen=True)
class TokenSummary:
    """A token's name, scope and lifetime; never the token."""

    principal: Principal
    created_at: datetime
    revoked_at: datetime | None


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    engine: sa.Engine, name: str, *, workspace_ids: Sequence[str] = (), admin: bool = False
) -> str:
    """Create a token called `name`, admin or scoped to `workspace_ids`, and return it once;
    only its hash is stored."""
    if not _NAME_RE.fullmatch(name):
        raise TokenError("invalid token name: use 1-64 lowercase letters, digits, '.', '-' or '_'")
    if admin == bool(workspace_ids):
        raise TokenError("a token is either --admin or scoped to one or more --workspace ids")
    if len(workspace_ids) > MAX_TOKEN_WORKSPACES:
        raise TokenError(f"a token may name at most {MAX_TOKEN_WORKSPACES} workspaces")
    scoped = sorted({validate_workspace_id(workspace_id) for workspace_id in workspace_ids})
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as connection:
        if connection.scalar(sa.select(_table.c.id).where(_table.c.name == name)) is not None:
            raise TokenError(f"a token named {name!r} already exists")
        connection.execute(
            sa.insert(_table).values(
                name=name,
                token_sha256=digest(token),
                is_admin=admin,
                mpesa_settings=False,
                workspace_ids=scoped,
                created_at=datetime.now(UTC),
            )
        )
    return token


def revoke_token(engine: sa.Engine, name: str) -> None:
    """Revoke the active token called `name`: it is refused from the next request on."""
    with engine.begin() as connection:
        revoked = connection.execute(
            sa.update(_table)
            .where(_table.c.name == name, _table.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        ).rowcount
    if not revoked:
        raise TokenError(f"no active token is named {name[:64]!r}")


def _principal(row: sa.Row) -> Principal:
    return Principal(
        name=row.name,
        is_admin=row.is_admin,
        workspace_ids=frozenset(row.workspace_ids or ()),
        mpesa_settings=row.mpesa_settings,
    )


def list_tokens(engine: sa.Engine) -> list[TokenSummary]:
    """Every token's name, scope and dates, by name."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(_table).order_by(_table.c.name)).all()
    return [TokenSummary(_principal(row), row.created_at, row.revoked_at) for row in rows]


def authenticate(engine: sa.Engine, token: str) -> Principal | None:
    """Who the active token `token` speaks for, or None.

    The lookup is by hash, so its timing depends on the hash, not on how much of the token
    is right; the final comparison is constant-time as well.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    expected = digest(token)
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(_table).where(
                _table.c.token_sha256 == expected, _table.c.revoked_at.is_(None)
            )
        ).first()
    if row is None or not hmac.compare_digest(row.token_sha256, expected):
        return None
    return _principal(row)
