"""Which workspaces point at a local sandbox, and what that sandbox serves.

`paysync demo` records its sandboxes here (`<paysync home>/sandboxes.json`) so that
`paysync dev` can start them again, on the ports in the workspaces' API base URLs, with the
same data. Keys are never written here: they stay in the workspaces' encrypted credentials.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

RECORD_FILE = "sandboxes.json"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class SandboxRecord:
    """The dataset a workspace's sandbox serves: its size and seed."""

    customers: int
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
