"""Settings updates through the real API interleaved with repair runs end without drift."""

from __future__ import annotations

import random
import threading

import httpx
import sqlalchemy as sa

from paysync_dagster.mpesa.drift import find_drift
from paysync_dagster.mpesa.repair import repair_drift
from paysync_dagster.store.tables import bars
from paysync_dagster.store.tokens import create_token
from tests.mpesa.helpers import flags, insert_bars, settings_body

BARS = 40
UPDATES_PER_WORKER = 15
WORKERS = 4


def test_settings_updates_interleaved_with_repair_leave_no_drift(paysync_server, engine, vault):
    url = paysync_server()
    headers = {"Authorization": f"Bearer {create_token(engine, 'staff', admin=True)}"}
    rng = random.Random(4)
    ids = insert_bars(
        engine, vault, [(rng.random() < 0.5, rng.choice([None, True, False])) for _ in range(BARS)]
    )
    errors: list[str] = []
    stop_drifting = threading.Event()

    def staff(seed: int) -> None:
        local = random.Random(seed)
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            for _ in range(UPDATES_PER_WORKER):
                body = settings_body(local.choice(ids), local.random() < 0.5)
                response = client.post("/api/mpesa-settings", json=body)
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text}")

    def drift_by_direct_sql() -> None:
        # Someone flips flags behind the API's back while it and the repair are running.
        local = random.Random(99)
        while not stop_drifting.is_set():
            with engine.begin() as connection:
                connection.execute(
                    sa.update(bars)
                    .where(bars.c.id == local.choice(ids))
                    .values(mpesa_enabled=sa.not_(bars.c.mpesa_enabled))
                )
            stop_drifting.wait(0.005)

    def repairer() -> None:
        for _ in range(5):
            repair_drift(engine, chunk_size=7)

    threads = [threading.Thread(target=staff, args=(seed,)) for seed in range(WORKERS)]
    threads += [threading.Thread(target=repairer), threading.Thread(target=drift_by_direct_sql)]
    for thread in threads:
        thread.start()
    for thread in threads[:-1]:
        thread.join()
    stop_drifting.set()
    threads[-1].join()

    assert errors == []
    report = repair_drift(engine)  # the drift injected after the last repair round
    assert report.failed == ()
    with engine.connect() as connection:
        assert find_drift(connection).count == 0
    assert all(enabled == (active is True) for enabled, active in flags(engine).values())
