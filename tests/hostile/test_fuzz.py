"""Hypothesis fuzzing of every route of `paysync serve`, through a real server on each backend.

Whatever is sent (hostile JSON, NUL, huge numbers, deep nesting, broken signatures, invented
paths), no answer is a 5xx, and the database holds exactly what was acknowledged: an inbox row
per accepted webhook, canonical rows only from those events, M-Pesa credentials only for bars
whose settings were answered 200.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paysync_dagster.mpesa.bars import add_bar
from paysync_dagster.store.tables import CANONICAL_TABLES, mpesa_credentials, webhook_inbox
from paysync_dagster.store.tokens import create_token
from paysync_dagster.webhooks.events import InvalidEventError, parse_event
from paysync_dagster.webhooks.processor import Processor, ProcessorOptions
from paysync_dagster.webhooks.signature import sign_header
from paysync_dagster.webhooks.worker import worker_pool
from tests.hostile.helpers import nested
from tests.mpesa.helpers import settings_body
from tests.webhooks.helpers import add_webhook_workspace, fake_webhook_secret

# Bounded so `make test` stays fast: a few seconds per backend on this machine.
FUZZ = settings(
    max_examples=600,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_text = st.text(st.characters(codec="utf-8", include_characters="\x00"), max_size=12)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_json = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3),
    max_leaves=12,
)
_objects = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["cus_1", "prod_1", "in_1"]) | _text,
        "object": st.sampled_from(["customer", "product", "price", "subscription", "invoice", "x"]),
    },
    optional={
        "email": _json,
        "name": _json,
        "created": st.integers(min_value=-(10**12), max_value=10**16),
        "metadata": _json,
        "deleted": st.booleans(),
        "active": _json,
    },
)
_events = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["evt_1", "evt_2", "evt_3"])
        | st.uuids().map(lambda uuid: f"evt_{uuid.hex}")
        | _text,
        "object": st.sampled_from(["event", "event", "event", "other"]),
        "type": st.sampled_from(["customer.updated", "product.deleted", "invoice.paid", "x"])
        | _text,
        "created": st.just(int(time.time()))
        | st.just(int(time.time()))
        | st.integers(min_value=-5, max_value=10**16),
        "data": st.fixed_dictionaries({"object": _objects}),
    }
)
_bodies = (
    _events.map(lambda event: json.dumps(event).encode())
    | _events.map(lambda event: json.dumps(event).encode())
    | _json.map(lambda value: json.dumps(value).encode())
    | st.integers(min_value=30, max_value=1500).map(nested)
    | st.binary(max_size=64)
)
_path_ids = st.sampled_from(["acme", "acme", "nobody", "%00", "x" * 70]) | _text.map(
    lambda text: quote(text, safe="")
)
_bar_ids = (
    st.sampled_from(["1", "2", "0", "-1", "9223372036854775808", "5" * 5000, "abc"])
    | st.integers(min_value=-(10**30), max_value=10**30).map(str)
    | _text.map(lambda text: quote(text, safe="") or "x")
)


@st.composite
def _requests(draw: st.DrawFn) -> dict[str, Any]:
    route = draw(st.sampled_from(["webhook"] * 4 + ["mpesa"] * 2 + ["methods", "probe"]))
    if route == "webhook":
        return {
            "route": route,
            "path_id": draw(_path_ids),
            "body": draw(_bodies),
            "signature": draw(st.sampled_from(["valid", "valid", "valid", "wrong", "missing"])),
            "content_type": draw(st.sampled_from(["application/json"] * 4 + ["text/plain"])),
        }
    if route == "mpesa":
        fields = draw(st.dictionaries(st.sampled_from(list(settings_body(1))), _json, max_size=3))
        return {
            "route": route,
            "bar": draw(st.sampled_from([1, 2])),
            "enabled": draw(st.booleans()),
            "fields": fields,
            "raw": draw(st.none() | _bodies),
            "auth": draw(st.sampled_from(["valid", "valid", "missing", "bogus"])),
        }
    if route == "methods":
        return {"route": route, "bar_id": draw(_bar_ids)}
    return {
        "route": route,
        "path": draw(st.sampled_from(["/healthz", "/readyz", "/webhooks/stats"])),
    }


class _Ledger:
    """What the server acknowledged, to compare the database with at the end."""

    def __init__(self) -> None:
        self.events: set[tuple[str, str]] = set()
        self.objects: set[tuple[str, str]] = set()
        self.bars: set[int] = set()


def _send(client: httpx.Client, request: dict[str, Any], ctx: dict[str, Any], ledger: _Ledger):
    route = request["route"]
    if route == "webhook":
        body = request["body"]
        headers = {"Content-Type": request["content_type"]}
        if request["signature"] != "missing":
            secret = ctx["secret"] if request["signature"] == "valid" else fake_webhook_secret()
            headers["Stripe-Signature"] = sign_header(secret, body)
        response = client.post(
            f"/webhooks/stripe/{request['path_id']}", content=body, headers=headers
        )
        if response.status_code == 200:
            assert request["path_id"] == "acme"
            event = parse_event(body)
            key = ("acme", event.id)
            assert (key in ledger.events) == response.json()["duplicate"]
            ledger.events.add(key)
            payload = json.loads(event.body)
            obj = payload["data"]["object"]
            if isinstance(obj.get("id"), str):
                ledger.objects.add(("acme", obj["id"]))
        elif (
            response.status_code == 400
            and request["path_id"] == "acme"
            and headers.get("Stripe-Signature")
            and request["signature"] == "valid"
            and request["content_type"] == "application/json"
        ):
            # A signed body the receiver refused must be one the parser refuses too.
            with pytest.raises(InvalidEventError):
                parse_event(body)
        return response
    if route == "mpesa":
        bar_id = ctx["bars"][request["bar"] - 1]
        headers = {}
        if request["auth"] == "valid":
            headers["Authorization"] = f"Bearer {ctx['token']}"
        elif request["auth"] == "bogus":
            headers["Authorization"] = "Bearer pst_bogus"
        if request["raw"] is not None:
            content = request["raw"]
        else:
            body = {**settings_body(bar_id, request["enabled"]), **request["fields"]}
            content = json.dumps(body).encode()
        response = client.post("/api/mpesa-settings", content=content, headers=headers)
        if response.status_code == 200:
            ledger.bars.add(bar_id)
        return response
    if route == "methods":
        return client.get(f"/api/bars/{request['bar_id']}/payment-methods")
    return client.get(request["path"])


def _stored_events(engine: sa.Engine) -> set[tuple[str, str]]:
    inbox = webhook_inbox
    with engine.connect() as connection:
        return set(connection.execute(sa.select(inbox.c.workspace_id, inbox.c.provider_event_id)))


def _stored_objects(engine: sa.Engine) -> set[tuple[str, str]]:
    with engine.connect() as connection:
        return {
            tuple(row)
            for table in CANONICAL_TABLES.values()
            for row in connection.execute(sa.select(table.c.workspace_id, table.c.external_id))
        }


def test_fuzz_every_route_no_5xx_and_only_acknowledged_data(paysync_server, engine, vault):
    ctx = {
        "secret": add_webhook_workspace(engine, vault, "acme"),
        "token": create_token(engine, "fuzz", admin=True),
        "bars": [add_bar(engine, "One"), add_bar(engine, "Two")],
    }
    processor = Processor(engine, ProcessorOptions(max_attempts=2, backoff_base_seconds=0.01))
    base_url = paysync_server(services=worker_pool(processor, 1))
    ledger = _Ledger()
    statuses: list[int] = []

    with httpx.Client(base_url=base_url, timeout=10) as client:

        @FUZZ
        @given(request=_requests())
        def exchange(request: dict[str, Any]) -> None:
            response = _send(client, request, ctx, ledger)
            statuses.append(response.status_code)
            assert response.status_code < 500, (request, response.text[:300])

        exchange()

    assert _stored_events(engine) == ledger.events
    processor.drain("fuzz-check")
    assert _stored_objects(engine) <= ledger.objects
    with engine.connect() as connection:
        stored_bars = set(connection.scalars(sa.select(mpesa_credentials.c.bar_id)))
    assert stored_bars == ledger.bars
    # The examples reached past the cheap refusals: some events and settings were accepted.
    assert ledger.events
    assert 422 in statuses
