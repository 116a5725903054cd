"""Engine set-up that is specific to a backend."""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from paysync_dagster.store.database import SerializedJson, create_engine, write_transaction
from paysync_dagster.store.tables import invoices
from paysync_dagster.store.upsert import upsert_rows


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_postgresql_compresses_large_raw_objects_with_lz4_when_the_server_can(engine):
    """A large `raw` written through the sync's upsert is stored lz4-compressed when the
    server was built with lz4, and with the server's default otherwise."""
    with engine.connect() as connection:
        lz4_available = connection.scalar(
            sa.text(
                "SELECT 'lz4' = ANY(enumvals) FROM pg_settings"
                " WHERE name = 'default_toast_compression'"
            )
        )
        server_default = connection.scalar(
            sa.text("SELECT boot_val FROM pg_settings WHERE name = 'default_toast_compression'")
        )
    # Repetitive enough to compress, large enough (over 2 kB) to be compressed at all.
    raw = '{"id":"in_big","lines":[' + ",".join(['{"amount":100,"currency":"usd"}'] * 400) + "]}"
    now = datetime.now(UTC)
    with engine.begin() as connection:
        upsert_rows(
            connection,
            invoices,
            [
                {
                    "external_id": "in_big",
                    "customer_external_id": "cus_1",
                    "raw": SerializedJson(raw),
                    "raw_hash": secrets.token_hex(16),
                    "source_ts": now,
                }
            ],
            workspace_id="acme",
            provider="stripe",
            synced_at=now,
        )
    with engine.connect() as connection:
        method = connection.scalar(sa.select(sa.func.pg_column_compression(invoices.c.raw)))
    assert method == ("lz4" if lz4_available else server_default)


def test_sqlite_write_transactions_of_one_process_take_turns(tmp_path):
    """The second writer enters only after the first committed, and sees its row."""
    engine = create_engine(f"sqlite:///{tmp_path / 'turns.db'}")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE t (n INTEGER)"))
    first_inside, second_inside, release = threading.Event(), threading.Event(), threading.Event()
    seen_by_second: list[int] = []

    def first() -> None:
        with write_transaction(engine) as connection:
            connection.execute(sa.text("INSERT INTO t VALUES (1)"))
            first_inside.set()
            release.wait(10)

    def second() -> None:
        first_inside.wait(10)
        with write_transaction(engine) as connection:
            second_inside.set()
            seen_by_second.append(connection.scalar(sa.text("SELECT count(*) FROM t")))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert first_inside.wait(10)
    assert not second_inside.wait(0.3), "the second writer entered while the first held its turn"
    release.set()
    for thread in threads:
        thread.join(10)
    assert seen_by_second == [1]
    engine.dispose()
