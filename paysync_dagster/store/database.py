"""Engine creation and schema migrations for SQLite (local default) and PostgreSQL."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The databases paysync runs on, by SQLAlchemy driver name (a bare name: the default driver).
SUPPORTED_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg2")


class DatabaseUrlError(ValueError):
    """`PAYSYNC_DATABASE_URL` is not a URL paysync can use; never repeats it (a password)."""


def parse_url(url: str) -> sa.URL:
    """`url` parsed, if it names a supported database; `DatabaseUrlError` otherwise."""
    hint = "expected sqlite:///path/to/file.db or postgresql://user@host:5432/database"
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise DatabaseUrlError(f"PAYSYNC_DATABASE_URL is not a database URL; {hint}") from None
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise DatabaseUrlError(
            f"PAYSYNC_DATABASE_URL names an unsupported database {parsed.drivername[:40]!r}; {hint}"
        )
    return parsed


class SerializedJson(str):
    """JSON text that is already serialized; written to a JSON column as is.

    The sync hot path serializes each provider object once to hash it, and passing the text
    through avoids serializing it a second time on insert.
    """

    __slots__ = ()


def _serialize_json(value: Any) -> str:
    if isinstance(value, SerializedJson):
        return value
    return json.dumps(value, separators=(",", ":"), default=str)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (the Dagster UI, checks) run while a sync writes; busy_timeout makes
    # concurrent writers in one run wait for each other instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _configure_postgresql(dbapi_connection: Any, _record: Any) -> None:
    # `raw` holds provider objects of several kilobytes, which PostgreSQL compresses on write.
    # lz4 does that several times faster than the default pglz: measured here, a batch of
    # invoices cost the server about a third less. Servers built without lz4 keep pglz.
    cursor = dbapi_connection.cursor()
    cursor.execute(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    )
    row = cursor.fetchone()
    if row is not None and row[0]:
        cursor.execute("SET default_toast_compression = 'lz4'")
    cursor.close()
    # The pool rolls back what a connection leaves open, which would undo the SET.
    dbapi_connection.commit()


def create_engine(url: str, *, pool_size: int | None = None) -> sa.Engine:
    """An engine for `url`; a SQLite file's folder is created if missing.

    Raises `DatabaseUrlError` for a URL that does not name a supported database.

    `pool_size` fixes the pool at that many connections, for a server that knows how many
    threads use the database at once. The default pool opens "overflow" connections past 5
    and closes each as it is returned, and under 100 concurrent pollers that churn (a new
    PostgreSQL backend per request) made the control API's p50 latency 275 ms instead of 17.

    A bare `postgresql://` URL uses psycopg2: its C-side parameter interpolation keeps the
    batched multi-row upserts cheap, where psycopg 3 (SQLAlchemy 2.1's default) re-parses
    each batch's statement and spent over a third of a sync doing so here.
    """
    parsed = parse_url(url)
    pool: dict[str, int] = {} if pool_size is None else {"pool_size": pool_size, "max_overflow": 0}
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg2")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, json_serializer=_serialize_json, **pool)
        sa.event.listen(engine, "connect", _configure_sqlite)
        return engine
    engine = sa.create_engine(parsed, json_serializer=_serialize_json, pool_pre_ping=True, **pool)
    sa.event.listen(engine, "connect", _configure_postgresql)
    return engine


_SQLITE_WRITE_TURNS: dict[str, threading.Lock] = {}
_SQLITE_WRITE_TURNS_GUARD = threading.Lock()


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """`engine.begin()`, taken in turn by this process's threads on a SQLite file.

    SQLite has one writer at a time, and a writer that finds the file locked waits in SQLite's
    busy handler, which sleeps in steps of up to 100 ms: the webhook receiver's inbox commits
    queued behind the processor's settle that way and their acknowledgements took 250 ms. A
    Python lock per file wakes the next writer of this process the moment the last commits;
    other processes still meet the busy handler. PostgreSQL locks rows, so it takes no turn.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            yield connection
        return
    with _SQLITE_WRITE_TURNS_GUARD:
        turn = _SQLITE_WRITE_TURNS.setdefault(str(engine.url.database), threading.Lock())
    with turn, engine.begin() as connection:
        yield connection


# Alembic is imported where migrations run: it costs a tenth of a second that commands like
# `workspace add` would otherwise pay on every start.
def _alembic_config(connection: sa.Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` (idempotent: a current database is left as is)."""
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)


@functools.cache
def _head_revisions() -> frozenset[str]:
    """The newest revisions of the migrations this package ships.

    Read once per process: Alembic loads every migration file to find them (some 17 ms), and
    `DatabaseResource` asks on each sensor tick and run.
    """
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def is_current(engine: sa.Engine) -> bool:
    """Whether the database is migrated to the newest revision."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == _head_revisions()
