"""The seed's nine correctness properties, as hypothesis property tests on both backends.

Each test is named after its property and runs at least 100 examples against one migrated
database per backend (emptied between examples), through the real engine, and through a real
uvicorn server for the API and customer-view properties.
"""

from __future__ import annotations

import logging
import re
import string

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from paysync_dagster.mpesa import credentials
from paysync_dagster.mpesa.audit import audit
from paysync_dagster.mpesa.credentials import ENVIRONMENTS
from paysync_dagster.mpesa.drift import drifted_bars, find_drift
from paysync_dagster.mpesa.repair import repair_drift
from paysync_dagster.mpesa.retry import RetryPolicy
from paysync_dagster.mpesa.settings import apply_settings
from paysync_dagster.mpesa.validation import SECRET_FIELDS, MpesaSettings, MpesaSettingsRequest
from paysync_dagster.store.tables import mpesa_credentials, mpesa_repair_failures
from tests.mpesa.helpers import (
    flags,
    insert_bars,
    reset,
    set_faults,
    settings_body,
    snapshot,
)

PROPERTY = settings(max_examples=100, deadline=None)

bar_state = st.tuples(st.booleans(), st.one_of(st.none(), st.booleans()))
bar_states = st.lists(bar_state, max_size=12)


def expected_enabled(state: tuple[bool, bool | None]) -> bool:
    """The documented rule: follow `is_active`; no credentials means disabled."""
    return state[1] is True


def drifted_ids(state_by_id: dict[int, tuple[bool, bool | None]]) -> list[int]:
    return sorted(i for i, s in state_by_id.items() if s[0] != expected_enabled(s))


class _Sleeps:
    """Records backoff waits instead of spending them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@PROPERTY
@given(initial=bar_state, others=bar_states, enabled=st.booleans(),
       environment=st.sampled_from(ENVIRONMENTS))  # fmt: skip
def test_property_1_mpesa_status_synchronization(
    shared_engine, shared_vault, initial, others, enabled, environment
):
    reset(shared_engine)
    target, *rest = insert_bars(shared_engine, shared_vault, [initial, *others])
    before = flags(shared_engine)
    body = settings_body(target, enabled, mpesa_environment=environment)
    status = apply_settings(
        shared_engine, shared_vault, MpesaSettingsRequest.model_validate(body).settings()
    )
    after = flags(shared_engine)
    assert after[target] == (enabled, enabled)
    assert (status.credentials_updated, status.bar_status_updated) == (True, True)
    assert {i: after[i] for i in rest} == {i: before[i] for i in rest}


@PROPERTY
@given(states=bar_states)
def test_property_2_migration_consistency_detection(shared_engine, shared_vault, states):
    reset(shared_engine)
    insert_bars(shared_engine, shared_vault, states)
    expected = drifted_ids(flags(shared_engine))
    with shared_engine.connect() as connection:
        summary = find_drift(connection, sample_size=5)
        listed = drifted_bars(connection)
    assert summary.count == len(expected)
    assert list(summary.sample) == expected[:5]
    assert [bar.bar_id for bar in listed] == expected
    assert audit(shared_engine, shared_vault).drift.count == len(expected)


@PROPERTY
@given(states=bar_states, chunk_size=st.integers(1, 5))
def test_property_3_migration_correction_authority(shared_engine, shared_vault, states, chunk_size):
    reset(shared_engine)
    insert_bars(shared_engine, shared_vault, states)
    before = flags(shared_engine)
    report = repair_drift(shared_engine, chunk_size=chunk_size)
    after = flags(shared_engine)
    assert report.drifted == report.repaired == len(drifted_ids(before))
    assert report.failed == ()
    for bar_id, (_enabled, active) in before.items():
        assert after[bar_id] == (active is True, active)
    with shared_engine.connect() as connection:
        assert find_drift(connection).count == 0


@PROPERTY
@given(states=bar_states, chunk_size=st.integers(1, 6), data=st.data())
def test_property_4_migration_error_resilience(
    shared_engine, shared_vault, states, chunk_size, data
):
    reset(shared_engine)
    ids = insert_bars(shared_engine, shared_vault, states)
    poisoned = set(data.draw(st.sets(st.sampled_from(ids)) if ids else st.just(set())))
    set_faults(shared_engine, sorted(poisoned))
    before = flags(shared_engine)
    stuck = set(drifted_ids(before)) & poisoned

    report = repair_drift(shared_engine, chunk_size=chunk_size, retry=RetryPolicy(sleep=_Sleeps()))

    after = flags(shared_engine)
    for bar_id, (enabled, active) in before.items():
        assert after[bar_id] == ((enabled, active) if bar_id in stuck else (active is True, active))
    assert {bar.bar_id for bar in report.failed} == stuck
    assert report.repaired == len(drifted_ids(before)) - len(stuck)
    with shared_engine.connect() as connection:
        recorded = connection.execute(sa.select(mpesa_repair_failures)).all()
    assert {row.bar_id for row in recorded} == stuck
    assert all("injected test fault" in row.error for row in recorded)
    assert all(row.expected_enabled == expected_enabled(before[row.bar_id]) for row in recorded)


# How a bar's credentials look to the customer view: none, valid, or present but not valid.
CREDENTIALS = ("none", "valid", "other bar's ciphertext", "unknown environment")


@PROPERTY
@given(
    configurations=st.lists(
        st.tuples(st.booleans(), st.booleans(), st.sampled_from(CREDENTIALS)),
        min_size=1,
        max_size=6,
    )
)
def test_property_5_customer_app_payment_display(
    shared_engine, shared_vault, shared_api, configurations
):
    reset(shared_engine)
    ids = insert_bars(
        shared_engine,
        shared_vault,
        [(enabled, None if kind == "none" else active) for enabled, active, kind in configurations],
    )
    with shared_engine.begin() as connection:
        for bar_id, (_enabled, _active, kind) in zip(ids, configurations, strict=True):
            row = mpesa_credentials.c.bar_id == bar_id
            if kind == "other bar's ciphertext":
                copied = credentials.encrypt(
                    shared_vault,
                    MpesaSettings(bar_id + 1, True, "sandbox", "174379", "k", "s", "p"),
                )
                connection.execute(sa.update(mpesa_credentials).where(row).values(**copied))
            elif kind == "unknown environment":
                connection.execute(
                    sa.update(mpesa_credentials).where(row).values(environment="staging")
                )
    for bar_id, (enabled, _active, kind) in zip(ids, configurations, strict=True):
        response = shared_api.payment_methods(bar_id)
        assert response.status_code == 200
        offered = "mpesa" in response.json()["payment_methods"]
        assert offered == (enabled and kind == "valid")


@PROPERTY
@given(
    initial=bar_state,
    others=bar_states,
    enabled=st.booleans(),
    shortcode=st.from_regex(r"\A[0-9]{5,7}\Z"),
    fail=st.booleans(),
)
def test_property_6_api_atomic_operations(
    shared_engine, shared_vault, shared_api, initial, others, enabled, shortcode, fail
):
    reset(shared_engine)
    bar_id, *_ = insert_bars(shared_engine, shared_vault, [initial, *others])
    if fail:
        # The bar's UPDATE fails after the credentials were written in the same transaction.
        set_faults(shared_engine, [bar_id])
    before = snapshot(shared_engine)
    response = shared_api.save(settings_body(bar_id, enabled, mpesa_business_shortcode=shortcode))
    if fail:
        assert response.status_code == 503
        assert response.json()["success"] is False
        assert response.json()["sync_status"] == {
            "credentials_updated": False,
            "bar_status_updated": False,
        }
        assert snapshot(shared_engine) == before
    else:
        assert response.status_code == 200
        assert response.json()["success"] is True
        assert response.json()["sync_status"] == {
            "credentials_updated": True,
            "bar_status_updated": True,
        }
        assert flags(shared_engine)[bar_id] == (enabled, enabled)
        bars_after, credentials_after = snapshot(shared_engine)
        assert bars_after[1:] == before[0][1:]
        (saved,) = [row for row in credentials_after if row["bar_id"] == bar_id]
        assert saved["business_shortcode"] == shortcode


MISSING = object()
_printable = st.characters(codec="utf-8", categories=["L", "N", "P"])
INVALID_VALUES = {
    "barId": st.one_of(
        st.none(),
        st.booleans(),
        st.integers(max_value=0),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20).filter(lambda s: not re.fullmatch(r"[1-9][0-9]{0,17}", s)),
    ),
    "mpesa_enabled": st.one_of(
        st.none(), st.integers(), st.sampled_from(["true", "false", "yes", ""])
    ),
    "mpesa_environment": st.one_of(
        st.none(),
        st.integers(),
        st.sampled_from(["Sandbox", "PRODUCTION", "live", ""]),
        st.text(max_size=20).filter(lambda s: s not in ENVIRONMENTS),
    ),
    "mpesa_business_shortcode": st.one_of(
        st.none(),
        st.integers(),
        st.text(alphabet=string.digits, max_size=4),
        st.text(alphabet=string.digits, min_size=8, max_size=12),
        st.text(min_size=1, max_size=10).filter(lambda s: not re.fullmatch("[0-9]{5,7}", s)),
    ),
    **{
        name: st.one_of(
            st.none(),
            st.integers(),
            st.sampled_from(["", "   ", " padded", "padded ", "tab\tinside", "line\nbreak"]),
            st.text(_printable, min_size=257, max_size=300),
        )
        for name in SECRET_FIELDS
    },
}


@PROPERTY
@given(states=st.lists(bar_state, min_size=1, max_size=4), data=st.data())
def test_property_7_api_input_validation(shared_engine, shared_vault, shared_api, states, data):
    reset(shared_engine)
    ids = insert_bars(shared_engine, shared_vault, states)
    body = settings_body(data.draw(st.sampled_from(ids)), data.draw(st.booleans()))
    broken = data.draw(st.sets(st.sampled_from(sorted(INVALID_VALUES)), min_size=1))
    for name in broken:
        value = data.draw(st.one_of(st.just(MISSING), INVALID_VALUES[name]), label=name)
        if value is MISSING:
            del body[name]
        else:
            body[name] = value
    if data.draw(st.booleans(), label="unexpected field"):
        body["mpesa_extra"] = "x"
        broken.add("mpesa_extra")
    before = snapshot(shared_engine)

    response = shared_api.save(body)

    assert response.status_code == 422
    assert response.json()["success"] is False
    assert set(response.json()["errors"]) == broken
    assert snapshot(shared_engine) == before
    for name in SECRET_FIELDS:
        value = body.get(name)
        if isinstance(value, str) and len(value) >= 8:
            assert value not in response.text


@PROPERTY
@given(states=bar_states, persists=st.integers(0, 6), active=st.booleans())
def test_property_8_sync_manager_error_handling(
    shared_engine, shared_vault, states, persists, active
):
    reset(shared_engine)
    target, *_ = insert_bars(shared_engine, shared_vault, [(not active, active), *states])
    before = flags(shared_engine)
    set_faults(shared_engine, [target] if persists else [])
    sleeps = _Sleeps()

    def sleep(seconds: float) -> None:
        # The fault clears during the backoff before attempt `persists + 1`.
        sleeps(seconds)
        if len(sleeps.waits) == persists:
            set_faults(shared_engine, [])

    logged: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = logged.append  # type: ignore[method-assign]
    logger = logging.getLogger("paysync.mpesa")
    logger.addHandler(handler)
    try:
        report = repair_drift(
            shared_engine, retry=RetryPolicy(max_retries=3, base_seconds=0.5, sleep=sleep)
        )
    finally:
        logger.removeHandler(handler)

    after = flags(shared_engine)
    for bar_id, (_enabled, state_active) in before.items():
        if bar_id != target or persists <= 3:
            assert after[bar_id] == (state_active is True, state_active)
    assert sleeps.waits == [0.5, 1.0, 2.0][: min(persists, 3)]
    with shared_engine.connect() as connection:
        recorded = connection.execute(sa.select(mpesa_repair_failures)).all()
    if persists <= 3:
        assert report.failed == ()
        assert recorded == []
    else:
        assert after[target] == (not active, active)
        assert [(r.bar_id, r.attempts, r.resolved_at) for r in recorded] == [(target, 4, None)]
        assert any(
            r.levelno == logging.ERROR and f"bar {target} " in r.getMessage() for r in logged
        )


@PROPERTY
@given(states=bar_states)
def test_property_9_conflict_resolution_authority(shared_engine, shared_vault, states):
    reset(shared_engine)
    insert_bars(shared_engine, shared_vault, states)
    bars_before, credentials_before = snapshot(shared_engine)
    drifted = set(drifted_ids(flags(shared_engine)))

    repair_drift(shared_engine)

    bars_after, credentials_after = snapshot(shared_engine)
    assert credentials_after == credentials_before  # the source of truth is never written
    active = {row["bar_id"]: row["is_active"] for row in credentials_after}
    for old, new in zip(bars_before, bars_after, strict=True):
        if old["id"] in drifted:
            assert new["mpesa_enabled"] == (active.get(old["id"]) is True)
        else:
            assert new == old  # consistent bars are not touched at all
