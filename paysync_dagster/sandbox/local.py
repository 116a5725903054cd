"""Which workspaces point at a local sandbox, and what that sandbox serves.

`paysync demo` records its sandboxes here (`<paysync home>/sandboxes.json`) so that
`paysync dev` can start them again, on the ports in the workspaces' API base URLs, with the
same data. Keys are never written here: they stay in the workspaces' encrypted credentials.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from paysync_dagster.providers.base import Credentials

RECORD_FILE = "sandboxes.json"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class SandboxRecord:
    """The dataset a workspace's sandbox serves: which provider, its size and its seed."""

    provider: str
    size: int
    seed: int


def local_port(api_base: str | None) -> int | None:
    """The port of a loopback API base (a local sandbox), else None."""
    if not api_base:
        return None
    parts = urlsplit(api_base)
    if parts.hostname not in LOCAL_HOSTS or parts.port is None:
        return None
    return parts.port


def recorded_sandboxes(home: Path) -> dict[str, SandboxRecord]:
    """Workspace id -> the sandbox recorded for it (empty when nothing was recorded)."""
    path = home / RECORD_FILE
    if not path.exists():
        return {}
    raw = json.loads(path.read_text())
    return {workspace_id: SandboxRecord(**record) for workspace_id, record in raw.items()}


def record_sandbox(home: Path, workspace_id: str, record: SandboxRecord) -> None:
    """Remember the sandbox `workspace_id` points at, replacing an earlier record."""
    records = recorded_sandboxes(home)
    records[workspace_id] = record
    home.mkdir(parents=True, exist_ok=True)
    payload = {ws: asdict(r) for ws, r in sorted(records.items())}
    (home / RECORD_FILE).write_text(json.dumps(payload, indent=2) + "\n")


def stripe_sandbox(
    record: SandboxRecord,
    credentials: Credentials,
    port: int,
    webhook_secret: str | None,
    webhook_url: str,
) -> AbstractContextManager[str]:
    """The Stripe sandbox a workspace points at, delivering webhooks when it has a secret."""
    from paysync_dagster.sandbox.stripe import StripeSandboxSettings, running_sandbox

    settings = StripeSandboxSettings(
        customers=record.size,
        seed=record.seed,
        api_key=credentials.api_key,
        webhook_urls=(webhook_url,) if webhook_secret else (),
        webhook_secret=webhook_secret,
    )
    return running_sandbox(settings, port=port)


def payfit_sandbox(
    record: SandboxRecord,
    credentials: Credentials,
    port: int,
    _webhook_secret: str | None,
    _webhook_url: str,
) -> AbstractContextManager[str]:
    """The PayFit sandbox a workspace points at (PayFit sends no webhooks)."""
    from paysync_dagster.sandbox.payfit import PayfitSandboxSettings, running_sandbox

    settings = PayfitSandboxSettings(
        collaborators=record.size,
        seed=record.seed,
        api_key=credentials.api_key,
        company_id=credentials.options.get("company_id", "sandbox-company"),
    )
    return running_sandbox(settings, port=port)


# How `paysync dev` starts each provider's sandbox, and what a record's `size` counts.
SANDBOXES = {"stripe": stripe_sandbox, "payfit": payfit_sandbox}
SIZE_NOUNS = {"stripe": "customers", "payfit": "collaborators"}
