"""A poison event among normal ones: the normal ones are applied at once, the poison one is
dead-lettered, through a real server with its webhook worker on each backend."""

from __future__ import annotations

import time

from paysync_dagster.webhooks.processor import Processor, ProcessorOptions
from paysync_dagster.webhooks.worker import worker_pool
from tests.hostile.helpers import deep_event_body, inbox_states, store_unchecked
from tests.webhooks.helpers import add_webhook_workspace, customer_event, customer_row, deliver


def test_poison_event_is_dead_lettered_and_normal_events_are_applied_within_a_second(
    paysync_server, engine, vault
) -> None:
    secret = add_webhook_workspace(engine, vault, "acme")
    options = ProcessorOptions(max_attempts=3, backoff_base_seconds=0.05)
    base_url = paysync_server(services=worker_pool(Processor(engine, options), 1))
    # First in the inbox, so every claim sees it before the normal events.
    store_unchecked(engine, "acme", "evt_poison", deep_event_body("evt_poison"))
    created = int(time.time())
    started = time.monotonic()
    for n in range(10):
        body = customer_event(f"evt_{n}", f"cus_{n}", created=created, email=f"c{n}@x.test")
        assert deliver(base_url, "acme", body, secret).status_code == 200
    deadline = started + 1.0
    while not all(customer_row(engine, "acme", f"cus_{n}") for n in range(10)):
        assert time.monotonic() < deadline, "normal events were not applied within a second"
        time.sleep(0.01)
    deadline = time.monotonic() + 5.0
    while inbox_states(engine)["evt_poison"].status != "dead":
        assert time.monotonic() < deadline, "the poison event was not dead-lettered"
        time.sleep(0.01)
    states = inbox_states(engine)
    assert states["evt_poison"].attempts == options.max_attempts
    assert states["evt_poison"].last_error.startswith("unreadable payload: JSON nests deeper")
    assert {states[f"evt_{n}"].status for n in range(10)} == {"applied"}
