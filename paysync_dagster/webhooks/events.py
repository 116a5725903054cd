"""Stripe events as the pipeline sees them: validated on receipt, routed to a canonical table.

An event's `data.object` is the object after the change. Which table it belongs to follows
from the object's own `object` field, not from the event type's prefix: `customer.discount.*`
and `customer.tax_id.*` carry discounts and tax ids, not customers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from paysync_dagster import bounds
from paysync_dagster.providers.stripe.entities import OBJECT_NAMES

MAX_EVENT_ID_LENGTH = 255
MAX_EVENT_TYPE_LENGTH = 128

# Stripe object name -> canonical table.
ENTITY_BY_OBJECT = {name: entity for entity, name in OBJECT_NAMES.items()}
# `customer.subscription.deleted` means the subscription ended: Stripe keeps it, lists it as
# canceled, and the full sync mirrors it, so it is an update, not a deletion.
_DELETED_BUT_KEPT = {"customer.subscription.deleted"}


class InvalidEventError(ValueError):
    """A body that is not a usable Stripe event; the message names the bad field."""


@dataclass(frozen=True)
class StripeEvent:
    """The fields of a Stripe event the pipeline needs, plus its verbatim JSON body."""

    id: str
    type: str
    created: datetime
    body: bytes


def parse_event(body: bytes) -> StripeEvent:
    """Validate a webhook body: a JSON object with `id`, `type`, `created` and `data.object`,
    within the input bounds (`paysync_dagster.bounds`).

    The returned body is what the inbox stores: the verbatim body, or, when a string held
    U+0000, the body re-encoded with it escaped, so PostgreSQL can store it and the
    processor reads back exactly what was checked here.
    """
    try:
        event = bounds.loads_bounded(body)
    except bounds.InputLimitError as error:
        raise InvalidEventError(str(error)) from None
    if not isinstance(event, dict):
        raise InvalidEventError("body is not a JSON object")
    event_id, event_type = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID_LENGTH:
        raise InvalidEventError("field 'id' should be a non-empty string")
    if event.get("object") != "event":
        raise InvalidEventError("field 'object' should be 'event'")
    if not isinstance(event_type, str) or not 0 < len(event_type) <= MAX_EVENT_TYPE_LENGTH:
        raise InvalidEventError("field 'type' should be a non-empty string")
    try:
        created = bounds.timestamp(event.get("created"), "created")
    except bounds.InputLimitError as error:
        raise InvalidEventError(str(error)) from None
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise InvalidEventError("field 'data.object' should be an object")
    if b"\\u0000" in body:
        body = orjson.dumps(event)
    return StripeEvent(event_id, event_type, created, body)


def entity_of(payload: Mapping[str, Any]) -> str | None:
    """The canonical table an event's object belongs to, or None for types paysync ignores."""
    obj = payload.get("data", {}).get("object", {})
    return ENTITY_BY_OBJECT.get(obj.get("object")) if isinstance(obj, Mapping) else None


def is_deletion(event_type: str) -> bool:
    """Whether the event removes its object at the provider."""
    return event_type.endswith(".deleted") and event_type not in _DELETED_BUT_KEPT


def source_ts(created: datetime) -> datetime:
    """The ordering timestamp of an event's object.

    Stripe's `created` is whole seconds, while a full sync stamps rows with sub-second fetch
    times. The change happened somewhere in that second; taking its end means an event is
    never ranked older than a listing fetched in the same second before the change.
    """
    return created + timedelta(seconds=1, microseconds=-1)
