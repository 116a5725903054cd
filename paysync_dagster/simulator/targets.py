"""Simulator targets: validated on the way in, configured like workspaces, secrets encrypted.

A target's API key is stored only as a vault token bound to the target (`workspace_id=<name>,
provider="simulator"`), so a token copied to another target's row fails to decrypt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import sqlalchemy as sa

from paysync_dagster.providers.stripe.credentials import validate_api_key
from paysync_dagster.simulator.cards import TARGET_KINDS
from paysync_dagster.store.tables import simulator_targets, workspace_payment_configurations
from paysync_dagster.store.vault import Vault
from paysync_dagster.store.workspaces import (
    WORKSPACE_ID_PATTERN,
    WorkspaceError,
    validate_api_base,
)
from paysync_dagster.urls import InvalidUrlError, validate_http_url

VAULT_PROVIDER = "simulator"
DEFAULT_AMOUNT = 1000
DEFAULT_CURRENCY = "eur"
MAX_AMOUNT = 99_999_999
_GATEWAY_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_GATEWAY_KEY = re.compile(r"[\x21-\x7e]{8,256}")
_CURRENCY = re.compile(r"[a-z]{3}")
_table = simulator_targets


class TargetError(WorkspaceError):
    """A target operation was refused; the message names the bad input, never a secret."""


@dataclass(frozen=True)
class Target:
    """A target as a run needs it, its API key decrypted (`repr` hides it).

    Stripe: `api_base` (None: api.stripe.com) and an optional `workspace_id` whose mirror
    the run's freshness probe watches. Gateway: the three step URLs and the form and
    merchant ids, and an optional API key sent as a bearer token.
    """

    name: str
    kind: str
    amount: int = DEFAULT_AMOUNT
    currency: str = DEFAULT_CURRENCY
    workspace_id: str | None = None
    api_base: str | None = None
    tokenization_url: str | None = None
    checkout_url: str | None = None
    payment_url: str | None = None
    form_id: str | None = None
    merchant_id: str | None = None
    api_key: str | None = field(default=None, repr=False)
    created_at: datetime | None = None


def _url(value: str | None, what: str) -> str:
    if not value:
        raise TargetError(f"a gateway target needs --{what.replace(' ', '-')}")
    try:
        return validate_http_url(value, what)
    except InvalidUrlError as error:
        raise TargetError(str(error)) from None


def _gateway_id(value: str | None, what: str) -> str:
    if not value or not _GATEWAY_ID.fullmatch(value):
        raise TargetError(f"a gateway target needs --{what}: 1-64 letters, digits, '.', '_' or '-'")
    return value


def validate_target(target: Target, engine: sa.Engine) -> Target:
    """`target` normalized, or a `TargetError` naming the first bad field."""
    if not WORKSPACE_ID_PATTERN.fullmatch(target.name):
        raise TargetError(
            f"invalid target name {target.name[:80]!r}: use 1-64 lowercase letters, digits,"
            " '-' or '_', starting with a letter or digit"
        )
    if target.kind not in TARGET_KINDS:
        raise TargetError(f"unknown target kind {target.kind[:20]!r}: use stripe or gateway")
    if not 1 <= target.amount <= MAX_AMOUNT:
        raise TargetError(f"the amount must be between 1 and {MAX_AMOUNT} (smallest unit)")
    currency = target.currency.lower()
    if not _CURRENCY.fullmatch(currency):
        raise TargetError("the currency must be a three-letter ISO code such as eur")
    if target.kind == "stripe":
        return _validate_stripe(replace(target, currency=currency), engine)
    return _validate_gateway(replace(target, currency=currency))


def _validate_stripe(target: Target, engine: sa.Engine) -> Target:
    if target.api_key is None:
        raise TargetError("a stripe target needs --api-key")
    validate_api_key(target.api_key)
    gateway_fields = (target.tokenization_url, target.checkout_url, target.payment_url)
    if any(gateway_fields) or target.form_id or target.merchant_id:
        raise TargetError("gateway URLs, --form-id and --merchant-id are for gateway targets")
    api_base = None if target.api_base is None else validate_api_base(target.api_base)
    if target.workspace_id is not None:
        config = workspace_payment_configurations
        with engine.connect() as connection:
            found = connection.execute(
                sa.select(config.c.id)
                .where(config.c.workspace_id == target.workspace_id)
                .where(config.c.provider == "stripe")
            ).first()
        if found is None:
            raise TargetError(
                f"no Stripe workspace {target.workspace_id[:64]!r} is configured; add it with"
                " `paysync workspace add` first"
            )
    return replace(target, api_base=api_base)


def _validate_gateway(target: Target) -> Target:
    if target.workspace_id is not None or target.api_base is not None:
        raise TargetError("--workspace and --api-base are for stripe targets")
    if target.api_key is not None and not _GATEWAY_KEY.fullmatch(target.api_key):
        raise TargetError("a gateway API key must be 8-256 printable characters without spaces")
    return replace(
        target,
        tokenization_url=_url(target.tokenization_url, "tokenization url"),
        checkout_url=_url(target.checkout_url, "checkout url"),
        payment_url=_url(target.payment_url, "payment url"),
        form_id=_gateway_id(target.form_id, "form-id"),
        merchant_id=_gateway_id(target.merchant_id, "merchant-id"),
    )


def save_target(engine: sa.Engine, vault: Vault, target: Target, *, replace: bool = False) -> None:
    """Store a validated target; an existing name is refused unless `replace`."""
    target = validate_target(target, engine)
    now = datetime.now(UTC)
    values = {
        "kind": target.kind,
        "workspace_id": target.workspace_id,
        "api_base": target.api_base,
        "tokenization_url": target.tokenization_url,
        "checkout_url": target.checkout_url,
        "payment_url": target.payment_url,
        "form_id": target.form_id,
        "merchant_id": target.merchant_id,
        "amount": target.amount,
        "currency": target.currency,
        "api_key_ciphertext": None
        if target.api_key is None
        else vault.encrypt(target.api_key, workspace_id=target.name, provider=VAULT_PROVIDER),
        "updated_at": now,
    }
    with engine.begin() as connection:
        exists = connection.execute(
            sa.select(_table.c.id).where(_table.c.name == target.name)
        ).first()
        if exists is not None and not replace:
            raise TargetError(
                f"target {target.name!r} already exists; pass --replace to overwrite it"
            )
        if exists is None:
            connection.execute(sa.insert(_table).values(name=target.name, created_at=now, **values))
        else:
            connection.execute(sa.update(_table).where(_table.c.id == exists.id).values(**values))


def _target(row: sa.Row, api_key: str | None) -> Target:
    return Target(
        name=row.name,
        kind=row.kind,
        amount=row.amount,
        currency=row.currency,
        workspace_id=row.workspace_id,
        api_base=row.api_base,
        tokenization_url=row.tokenization_url,
        checkout_url=row.checkout_url,
        payment_url=row.payment_url,
        form_id=row.form_id,
        merchant_id=row.merchant_id,
        api_key=api_key,
        created_at=row.created_at,
    )


def list_targets(engine: sa.Engine) -> list[Target]:
    """Every target, by name, without its secret."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(_table).order_by(_table.c.name)).all()
    return [_target(row, None) for row in rows]


def target_names(engine: sa.Engine) -> list[str]:
    """The configured targets' names, sorted: the `simulator_target` partitions."""
    with engine.connect() as connection:
        return list(connection.execute(sa.select(_table.c.name).order_by(_table.c.name)).scalars())


def load_target(engine: sa.Engine, vault: Vault, name: str) -> Target:
    """The target `name` with its API key decrypted; a clear error when there is none."""
    with engine.connect() as connection:
        row = connection.execute(sa.select(_table).where(_table.c.name == name)).first()
    if row is None:
        raise TargetError(
            f"no simulator target {name[:64]!r} is configured; add it with"
            " `paysync simulator target add`"
        )
    api_key = (
        None
        if row.api_key_ciphertext is None
        else vault.decrypt(row.api_key_ciphertext, workspace_id=row.name, provider=VAULT_PROVIDER)
    )
    return _target(row, api_key)


def remove_target(engine: sa.Engine, name: str) -> None:
    """Forget target `name` (its recorded runs stay)."""
    with engine.begin() as connection:
        removed = connection.execute(sa.delete(_table).where(_table.c.name == name)).rowcount
    if not removed:
        raise TargetError(f"no simulator target {name[:64]!r} is configured")


def rotate(connection: sa.Connection, vault: Vault) -> int:
    """Re-encrypt every target API key not under the vault's primary key; returns how many.

    Runs on the caller's connection so `paysync keys rotate` rotates every secret at once.
    """
    rotated = 0
    rows = connection.execute(
        sa.select(_table.c.id, _table.c.name, _table.c.api_key_ciphertext).where(
            _table.c.api_key_ciphertext.is_not(None)
        )
    ).all()
    for row in rows:
        if vault.needs_rotation(row.api_key_ciphertext):
            token = vault.reencrypt(
                row.api_key_ciphertext, workspace_id=row.name, provider=VAULT_PROVIDER
            )
            connection.execute(
                sa.update(_table).where(_table.c.id == row.id).values(api_key_ciphertext=token)
            )
            rotated += 1
    return rotated
