"""Process-wide settings read from the environment, with local defaults that need no setup."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path(".paysync")


@dataclass(frozen=True)
class Settings:
    """Where paysync keeps its data.

    `home` holds the default SQLite file and the local key file; `database_url` is any
    SQLAlchemy URL (SQLite by default, PostgreSQL in production).
    """

    home: Path
    database_url: str
    production: bool

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read `PAYSYNC_HOME`, `PAYSYNC_DATABASE_URL` and `PAYSYNC_ENV` (default: local)."""
        env = os.environ if environ is None else environ
        home = Path(env.get("PAYSYNC_HOME") or DEFAULT_HOME).resolve()
        url = env.get("PAYSYNC_DATABASE_URL") or f"sqlite:///{home / 'paysync.db'}"
        return cls(home=home, database_url=url, production=env.get("PAYSYNC_ENV") == "production")
