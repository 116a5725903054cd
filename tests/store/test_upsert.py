"""The one write path: classification, ordering guard, soft deletes, on every backend."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from paysync_dagster.store.database import SerializedJson
from paysync_dagster.store.tables import customers
from paysync_dagster.store.upsert import as_utc, mark_unlisted_as_deleted, upsert_rows

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _row(external_id: str, email: str, source_ts: datetime, **extra) -> dict:
    raw = json.dumps({"id": external_id, "email": email})
    return {
        "external_id": external_id,
        "email": email,
        "name": None,
        "phone": None,
        "currency": None,
        "balance": None,
        "delinquent": None,
        "created_at": None,
        "raw": SerializedJson(raw),
        "raw_hash": hashlib.blake2b(raw.encode(), digest_size=16).hexdigest(),
        "source_ts": source_ts,
        "deleted_at": None,
        **extra,
    }


def _upsert(
    engine: sa.Engine, rows: list[dict], *, synced_at: datetime | None = None, ws: str = "acme"
):
    """One batch, stamped like a real one with the time it is written unless told otherwise."""
    with engine.begin() as connection:
        return upsert_rows(
            connection,
            customers,
            rows,
            workspace_id=ws,
            provider="stripe",
            synced_at=synced_at or datetime.now(UTC),
        )


def _emails(engine: sa.Engine, ws: str = "acme") -> dict[str, str]:
    with engine.connect() as connection:
        return dict(
            connection.execute(
                sa.select(customers.c.external_id, customers.c.email).where(
                    customers.c.workspace_id == ws
                )
            ).all()
        )


def test_insert_then_rerun_is_unchanged(engine):
    rows = [_row(f"cus_{i}", f"{i}@example.com", T0) for i in range(3)]
    first = _upsert(engine, rows)
    second = _upsert(engine, rows)
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 3)
    assert len(_emails(engine)) == 3


def test_write_time_stamps_written_rows_and_touches_the_rest(engine):
    """Every row of a batch carries the batch's write time in `synced_at`; `first_synced_at`
    keeps the time a row was first inserted, whether the row was rewritten or only touched."""
    t1, t2, t3 = (datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=m) for m in (0, 1, 2))
    _upsert(
        engine,
        [_row("cus_a", "a@example.com", T0), _row("cus_b", "b@example.com", T0)],
        synced_at=t1,
    )
    _upsert(
        engine,
        [
            _row("cus_a", "a@example.com", T0),
            _row("cus_b", "new@example.com", T0 + timedelta(seconds=1)),
        ],
        synced_at=t2,
    )
    _upsert(engine, [_row("cus_c", "c@example.com", T0)], synced_at=t3)
    with engine.connect() as connection:
        stamps = {
            row.external_id: (as_utc(row.synced_at), as_utc(row.first_synced_at))
            for row in connection.execute(
                sa.select(
                    customers.c.external_id, customers.c.synced_at, customers.c.first_synced_at
                )
            )
        }
    assert stamps == {"cus_a": (t2, t1), "cus_b": (t2, t1), "cus_c": (t3, t3)}


def test_newer_data_updates_and_raw_json_round_trips(engine):
    _upsert(engine, [_row("cus_1", "old@example.com", T0)])
    counts = _upsert(engine, [_row("cus_1", "new@example.com", T0 + timedelta(seconds=1))])
    assert counts.updated == 1
    assert _emails(engine) == {"cus_1": "new@example.com"}
    with engine.connect() as connection:
        raw = connection.execute(sa.select(customers.c.raw)).scalar_one()
    assert raw == {"id": "cus_1", "email": "new@example.com"}


def test_ordering_guard_keeps_newer_row(engine):
    _upsert(engine, [_row("cus_1", "newer@example.com", T0 + timedelta(hours=1))])
    counts = _upsert(engine, [_row("cus_1", "older@example.com", T0)])
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 0, 1)
    assert _emails(engine) == {"cus_1": "newer@example.com"}


def test_equal_source_ts_may_overwrite(engine):
    _upsert(engine, [_row("cus_1", "a@example.com", T0)])
    counts = _upsert(engine, [_row("cus_1", "b@example.com", T0)])
    assert counts.updated == 1
    assert _emails(engine) == {"cus_1": "b@example.com"}


def test_duplicates_within_a_batch_keep_the_newest(engine):
    rows = [
        _row("cus_1", "second@example.com", T0 + timedelta(seconds=2)),
        _row("cus_1", "first@example.com", T0 + timedelta(seconds=1)),
    ]
    counts = _upsert(engine, rows)
    assert counts.inserted == 1
    assert _emails(engine) == {"cus_1": "second@example.com"}


def test_workspaces_are_isolated(engine):
    _upsert(engine, [_row("cus_1", "a@example.com", T0)], ws="acme")
    _upsert(engine, [_row("cus_1", "b@example.com", T0)], ws="globex")
    assert _emails(engine, "acme") == {"cus_1": "a@example.com"}
    assert _emails(engine, "globex") == {"cus_1": "b@example.com"}


def test_unlisted_rows_are_soft_deleted_and_come_back(engine):
    _upsert(engine, [_row(f"cus_{i}", "x@example.com", T0) for i in range(3)], synced_at=T0)
    listing_started = T0 + timedelta(hours=1)
    _upsert(
        engine,
        [_row("cus_0", "x@example.com", listing_started), _row("cus_2", "x@example.com", T0)],
        synced_at=listing_started,
    )
    with engine.begin() as connection:
        deleted = mark_unlisted_as_deleted(
            connection,
            customers,
            workspace_id="acme",
            provider="stripe",
            listed_since=listing_started,
            deleted_at=listing_started,
        )
    assert deleted == 1
    with engine.connect() as connection:
        gone = connection.scalars(
            sa.select(customers.c.external_id).where(customers.c.deleted_at.is_not(None))
        ).all()
    assert gone == ["cus_1"]

    restored = _upsert(engine, [_row("cus_1", "x@example.com", T0 + timedelta(hours=2))])
    assert restored.updated == 1
    with engine.connect() as connection:
        assert (
            connection.scalar(sa.select(sa.func.count()).where(customers.c.deleted_at.is_not(None)))
            == 0
        )


def test_awkward_values_round_trip_exactly(engine):
    """Tabs, newlines, backslashes, a literal `\\N`, empty strings, NULLs and non-ASCII text
    come back as written (PostgreSQL receives batches through COPY's text format)."""
    awkward = {
        "cus_tab": "a\tb",
        "cus_newline": "line1\nline2\r\n",
        "cus_backslash": "C:\\path\\N",
        "cus_null_marker": "\\N",
        "cus_empty": "",
        "cus_unicode": "Zoë ✓ 東京",
    }
    rows = [
        _row(external_id, email, T0, name=email, balance=-5, delinquent=False)
        for external_id, email in awkward.items()
    ]
    rows.append(_row("cus_none", "none@example.com", T0, name=None))
    _upsert(engine, rows)
    with engine.connect() as connection:
        stored = {
            row.external_id: row
            for row in connection.execute(
                sa.select(
                    customers.c.external_id,
                    customers.c.name,
                    customers.c.balance,
                    customers.c.delinquent,
                    customers.c.raw,
                )
            )
        }
    assert {key: stored[key].name for key in awkward} == awkward
    assert stored["cus_none"].name is None
    assert {(row.balance, row.delinquent) for key, row in stored.items() if key in awkward} == {
        (-5, False)
    }
    assert stored["cus_tab"].raw == {"id": "cus_tab", "email": "a\tb"}
