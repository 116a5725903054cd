"""Process-wide settings read from the environment, with local defaults that need no setup."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = Path(".paysync")
ENV_MODE = "PAYSYNC_ENV"
# Known deployment environments; only production changes behaviour (keys are required).
ENVIRONMENTS = ("development", "test", "production")
DEFAULT_ENVIRONMENT = "development"
DAGSTER_URL_ENV = "PAYSYNC_DAGSTER_URL"


class SettingsError(ValueError):
    """An environment variable holds a value paysync does not accept; the message names it."""


def environment(environ: Mapping[str, str]) -> str:
    """`PAYSYNC_ENV`, case-insensitively one of `ENVIRONMENTS` (unset or empty: development).

    Anything else is refused rather than treated as development: `prod` or `Production`
    meant production, and silently running without its safeguards would lose secrets.
    """
    value = environ.get(ENV_MODE) or DEFAULT_ENVIRONMENT
    if value.lower() not in ENVIRONMENTS:
        raise SettingsError(
            f"{ENV_MODE} must be one of {', '.join(ENVIRONMENTS)} (any case), got {value[:40]!r}"
        )
    return value.lower()


@dataclass(frozen=True)
class Settings:
    """Where paysync keeps its data.

    `home` holds the default SQLite file and the local key file; `database_url` is any
    SQLAlchemy URL (SQLite by default, PostgreSQL in production).
    """

    home: Path
    database_url: str
    production: bool
    # The Dagster webserver (`PAYSYNC_DAGSTER_URL`), when one is running: partitions are
    # registered through it, and the control API launches runs through it.
    dagster_url: str | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read `PAYSYNC_HOME`, `PAYSYNC_DATABASE_URL`, `PAYSYNC_ENV` (default: local) and
        `PAYSYNC_DAGSTER_URL`.

        Raises `SettingsError` for an unknown `PAYSYNC_ENV`.
        """
        env = os.environ if environ is None else environ
        production = environment(env) == "production"
        home = Path(env.get("PAYSYNC_HOME") or DEFAULT_HOME).resolve()
        url = env.get("PAYSYNC_DATABASE_URL") or f"sqlite:///{home / 'paysync.db'}"
        dagster_url = (env.get(DAGSTER_URL_ENV) or "").rstrip("/") or None
        return cls(home=home, database_url=url, production=production, dagster_url=dagster_url)
