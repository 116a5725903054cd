"""Write transactions that serialize with every other writer of a bar's M-Pesa flags.

The settings API and the repair both lock a bar before reading its credentials, so a repair
never writes a flag computed from credentials that a concurrent settings request is changing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa

from paysync_dagster.store.tables import bars


@contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction committed on success and rolled back on any error.

    On SQLite it starts with `BEGIN IMMEDIATE`, taking the database's write lock up front:
    a deferred transaction that reads and then writes can fail with SQLITE_BUSY when another
    writer got there in between, while an immediate one queues on the busy timeout instead.
    """
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.rollback()
            raise
        connection.commit()


def lock_bars(connection: sa.Connection, bar_ids: Sequence[int]) -> set[int]:
    """Lock the given bars until the transaction ends; returns the ids that exist.

    PostgreSQL takes row locks (`SELECT … FOR UPDATE`, in id order so two lockers never
    deadlock); SQLite already holds the database write lock from `write_transaction`.
    """
    query = sa.select(bars.c.id).where(bars.c.id.in_(bar_ids)).order_by(bars.c.id)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    return set(connection.scalars(query))
