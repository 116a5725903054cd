"""What a sandbox serves: the generated dataset, runtime mutations and the events they record."""

import re
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from itertools import islice
from typing import Any

from .collection import Collection
from .dataset import ANCHOR, ENTITIES, OBJECT_NAMES, StripeDataset
from .errors import StripeError, invalid_request, resource_missing, unknown_parameter
from .hashing import stream_key
from .ids import IdCodec
from .params import ListQuery
from .payments import (
    TEST_PAYMENT_METHODS,
    card_error,
    charge,
    parse_confirm,
    parse_create,
    payment_intent,
)

API_VERSION = "2026-10-28.endive"
# Entities that only hold objects created at runtime, with their id prefixes.
RUNTIME_ENTITIES = {"payment_intents": "pi", "charges": "ch", "events": "evt"}
LISTABLE = (*ENTITIES, *RUNTIME_ENTITIES)
_OBJECT_NAMES = {
    **OBJECT_NAMES,
    "payment_intents": "payment_intent",
    "charges": "charge",
    "events": "event",
}
# Longest value Stripe accepts for each writable customer field.
_CUSTOMER_FIELDS = {"email": 512, "name": 256, "phone": 20, "description": 350}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_METADATA_KEYS = 50
_METADATA_KEY_LENGTH = 40
_METADATA_VALUE_LENGTH = 500

EventSubscriber = Callable[[dict[str, Any]], None]


def _customer_fields(params: Mapping[str, Any]) -> tuple[dict[str, str | None], Any]:
    """Validated scalar fields (empty string unsets, as in Stripe) and the raw metadata."""
    fields: dict[str, str | None] = {}
    for param, value in params.items():
        if param == "metadata":
            continue
        limit = _CUSTOMER_FIELDS.get(param)
        if limit is None:
            raise unknown_parameter(str(param))
        if not isinstance(value, str):
            raise invalid_request(f"Invalid string: {value!r}", param=param)
        if len(value) > limit:
            raise invalid_request(
                f"Invalid {param}: must be at most {limit} characters", param=param
            )
        if param == "email" and value and not _EMAIL.fullmatch(value):
            raise invalid_request(
                f"Invalid email address: {value}", param="email", code="email_invalid"
            )
        fields[param] = value or None
    return fields, params.get("metadata")


def _merge_metadata(current: dict[str, str], patch: Any) -> dict[str, str]:
    """Stripe's metadata update: `""` clears everything, a key set to `""` is removed."""
    if patch is None:
        return current
    if patch == "":
        return {}
    if not isinstance(patch, Mapping):
        raise invalid_request("Invalid metadata: must be a hash of strings", param="metadata")
    merged = dict(current)
    for key, value in patch.items():
        if not isinstance(key, str) or not 1 <= len(key) <= _METADATA_KEY_LENGTH:
            raise invalid_request(
                f"Metadata keys must be 1 to {_METADATA_KEY_LENGTH} characters", param="metadata"
            )
        if not isinstance(value, str) or len(value) > _METADATA_VALUE_LENGTH:
            raise invalid_request(
                f"Metadata values must be strings of at most {_METADATA_VALUE_LENGTH} characters",
                param=f"metadata[{key}]",
            )
        if value:
            merged[key] = value
        else:
            merged.pop(key, None)
    if len(merged) > _METADATA_KEYS:
        raise invalid_request(f"Metadata can have at most {_METADATA_KEYS} keys", param="metadata")
    return merged


class SandboxState:
    """The account a sandbox serves, shared by its HTTP routes and by tests in Python.

    Generated objects come from the dataset on demand; creates, updates and deletes live in
    small per-entity overlays. Every mutation records a Stripe event in `_record_event`, the
    one place events are made, and then hands it to the subscribers (see `subscribe`).
    Methods are thread-safe: the server thread and a test thread may call them concurrently.
    """

    def __init__(self, dataset: StripeDataset, *, clock: Callable[[], float] = time.time) -> None:
        self.dataset = dataset
        self._clock = clock
        self._lock = threading.RLock()
        self._collections = {
            entity: Collection(
                dataset.count(entity),
                partial(dataset.get, entity),
                partial(dataset.index_range, entity),
            )
            for entity in ENTITIES
        }
        self._runtime_ids = {
            entity: IdCodec(prefix, stream_key(dataset.seed, f"id:{entity}"))
            for entity, prefix in RUNTIME_ENTITIES.items()
        }
        for entity in RUNTIME_ENTITIES:
            self._collections[entity] = Collection()
        self._subscribers: list[EventSubscriber] = []
        self._last_created = ANCHOR

    def subscribe(self, subscriber: EventSubscriber) -> Callable[[], None]:
        """Call `subscriber(event)` after each recorded event; returns an unsubscribe function.

        Subscribers run on the thread that made the change, in event order, while the state
        is locked: they should hand the event on (e.g. to a webhook delivery queue) and return.
        """
        with self._lock:
            self._subscribers.append(subscriber)
        return partial(self._unsubscribe, subscriber)

    def _unsubscribe(self, subscriber: EventSubscriber) -> None:
        with self._lock:
            self._subscribers.remove(subscriber)

    # -- reads ------------------------------------------------------------------------------

    def list_objects(self, entity: str, query: ListQuery) -> dict[str, Any]:
        """One page of `GET /v1/<entity>`: newest first, `has_more` as Stripe computes it."""
        with self._lock:
            collection = self._collection(entity)
            backward = query.ending_before is not None
            if query.ending_before is not None:
                index = self._index(entity, query.ending_before, "ending_before")
                start = collection.position(index) - 1
            elif query.starting_after is not None:
                index = self._index(entity, query.starting_after, "starting_after")
                start = collection.position(index) + 1
            else:
                start = 0
            objects = collection.walk(
                start, backward=backward, gte=query.created_gte, lte=query.created_lte
            )
            if query.predicate is not None:
                objects = filter(query.predicate, objects)
            page = list(islice(objects, query.limit + 1))
        has_more = len(page) > query.limit
        del page[query.limit :]
        if backward:
            page.reverse()
        return {"object": "list", "data": page, "has_more": has_more, "url": f"/v1/{entity}"}

    def retrieve(self, entity: str, object_id: str) -> dict[str, Any]:
        """`GET /v1/<entity>/<id>`; a deleted object answers `{"id", "object", "deleted"}`."""
        with self._lock:
            collection = self._collection(entity)
            index = self._index(entity, object_id, "id")
            if index in collection.deleted:
                return {"id": object_id, "object": _OBJECT_NAMES[entity], "deleted": True}
            return collection.current(index)

    # -- customer mutations -----------------------------------------------------------------

    def create_customer(
        self,
        params: Mapping[str, Any],
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """`POST /v1/customers`: email, name, phone, description, metadata."""
        fields, metadata_patch = _customer_fields(params)
        metadata = _merge_metadata({}, metadata_patch)
        with self._lock:
            customers = self._collections["customers"]
            customer = self.dataset.new_customer(
                customers.next_index,
                self._now(),
                email=fields.get("email"),
                name=fields.get("name"),
                phone=fields.get("phone"),
                description=fields.get("description"),
                metadata=metadata,
            )
            customers.append(customer)
            self._record_event("customer.created", customer, None, request_id, idempotency_key)
        return customer

    def update_customer(
        self,
        customer_id: str,
        params: Mapping[str, Any],
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """`POST /v1/customers/<id>`: set fields, merge metadata; no-op updates record no event."""
        fields, metadata_patch = _customer_fields(params)
        with self._lock:
            customers, index, current = self._live_customer(customer_id)
            changes: dict[str, Any] = {
                field: value for field, value in fields.items() if current[field] != value
            }
            previous: dict[str, Any] = {field: current[field] for field in changes}
            metadata = _merge_metadata(current["metadata"], metadata_patch)
            if metadata != current["metadata"]:
                changes["metadata"] = metadata
                previous["metadata"] = {
                    key: current["metadata"].get(key)
                    for key in metadata.keys() | current["metadata"].keys()
                    if metadata.get(key) != current["metadata"].get(key)
                }
            if not changes:
                return current
            updated = {**current, **changes}
            customers.overrides[index] = updated
            self._record_event("customer.updated", updated, previous, request_id, idempotency_key)
        return updated

    def delete_customer(
        self,
        customer_id: str,
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """`DELETE /v1/customers/<id>`: gone from lists; retrieve answers a deleted stub."""
        with self._lock:
            customers, index, current = self._live_customer(customer_id)
            customers.deleted.add(index)
            self._record_event("customer.deleted", current, None, request_id, idempotency_key)
        return {"id": customer_id, "object": "customer", "deleted": True}

    # -- payments ---------------------------------------------------------------------------

    def create_payment_intent(
        self,
        params: Mapping[str, Any],
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """`POST /v1/payment_intents`: amount, currency, payment_method, payment_method_types,
        metadata; records `payment_intent.created`."""
        parsed = parse_create(params)
        metadata = _merge_metadata({}, params.get("metadata"))
        with self._lock:
            intents = self._collections["payment_intents"]
            index = intents.next_index
            intent = payment_intent(
                object_id=self._runtime_ids["payment_intents"].encode(index),
                created=self._now(),
                params=parsed,
                metadata=metadata,
                secret=f"{stream_key(self.dataset.seed, f'pi-secret:{index}'):016x}",
            )
            intents.append(intent)
            self._record_event("payment_intent.created", intent, None, request_id, idempotency_key)
        return intent

    def confirm_payment_intent(
        self,
        intent_id: str,
        params: Mapping[str, Any],
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """`POST /v1/payment_intents/<id>/confirm`: charge the payment method.

        Succeeds (`charge.succeeded`, `payment_intent.succeeded`), declines with a 402
        card_error (`charge.failed`, `payment_intent.payment_failed`), or leaves the intent in
        `requires_action` for 3-D Secure cards (no charge, no event, as in Stripe).
        """
        method_override = parse_confirm(params)
        with self._lock:
            intents = self._collections["payment_intents"]
            index = self._index("payment_intents", intent_id, "id")
            current = intents.current(index)
            if current["status"] not in ("requires_confirmation", "requires_payment_method"):
                raise StripeError(
                    400,
                    "This PaymentIntent's status is "
                    f"{current['status']}, so it cannot be confirmed.",
                    code="payment_intent_unexpected_state",
                )
            method_id = method_override or current["payment_method"]
            if method_id is None:
                raise invalid_request(
                    "You cannot confirm this PaymentIntent because it's missing a payment method.",
                    param="payment_method",
                    code="payment_intent_unexpected_state",
                )
            method = TEST_PAYMENT_METHODS[method_id]
            if method.requires_action:
                updated = {
                    **current,
                    "payment_method": method_id,
                    "status": "requires_action",
                    "next_action": {"type": "use_stripe_sdk", "use_stripe_sdk": {}},
                }
                intents.overrides[index] = updated
                return updated
            return self._charge(intents, index, current, method_id, request_id, idempotency_key)

    def _charge(
        self,
        intents: Collection,
        index: int,
        current: dict[str, Any],
        method_id: str,
        request_id: str | None,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        """Create the charge of a confirm and move the intent on; called with the lock held."""
        charges = self._collections["charges"]
        created = charge(
            object_id=self._runtime_ids["charges"].encode(charges.next_index),
            created=self._now(),
            intent=current,
            method_id=method_id,
        )
        charges.append(created)
        succeeded = created["status"] == "succeeded"
        updated = {
            **current,
            "latest_charge": created["id"],
            "payment_method": method_id if succeeded else None,
            "status": "succeeded" if succeeded else "requires_payment_method",
            "amount_received": current["amount"] if succeeded else 0,
            "last_payment_error": None
            if succeeded
            else {
                "type": "card_error",
                "code": created["failure_code"],
                "decline_code": created["outcome"]["reason"],
                "message": created["failure_message"],
                "charge": created["id"],
            },
        }
        intents.overrides[index] = updated
        outcome = "succeeded" if succeeded else "failed"
        self._record_event(f"charge.{outcome}", created, None, request_id, idempotency_key)
        self._record_event(
            "payment_intent.succeeded" if succeeded else "payment_intent.payment_failed",
            updated,
            None,
            request_id,
            idempotency_key,
        )
        if not succeeded:
            raise card_error(updated, created["id"], method_id)
        return updated

    # -- internals --------------------------------------------------------------------------

    def _collection(self, entity: str) -> Collection:
        collection = self._collections.get(entity)
        if collection is None:
            raise StripeError(404, f"Unrecognized request URL: /v1/{entity}")
        return collection

    def _index(self, entity: str, object_id: str, param: str) -> int:
        """Index of `object_id` in its collection; resource_missing naming `param` if none."""
        codec = self._runtime_ids.get(entity)
        if codec is not None:
            index = codec.decode(object_id)
        else:
            index = self.dataset.index_of(entity, object_id)
        if index is None or not self._collections[entity].exists(index):
            raise resource_missing(_OBJECT_NAMES[entity], object_id, param=param)
        return index

    def _live_customer(self, customer_id: str) -> tuple[Collection, int, dict[str, Any]]:
        customers = self._collections["customers"]
        index = self._index("customers", customer_id, "id")
        if index in customers.deleted:
            raise resource_missing("customer", customer_id)
        return customers, index, customers.current(index)

    def _now(self) -> int:
        """Creation time for runtime objects: after every generated object, never decreasing."""
        self._last_created = max(self._last_created, int(self._clock()), ANCHOR + 1)
        return self._last_created

    def _record_event(
        self,
        event_type: str,
        obj: dict[str, Any],
        previous_attributes: dict[str, Any] | None,
        request_id: str | None,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        """Append the event of a mutation to `/v1/events` and hand it to the subscribers.

        Called with the lock held, so subscribers see events in the order they were recorded.
        """
        events = self._collections["events"]
        data: dict[str, Any] = {"object": obj}
        if previous_attributes is not None:
            data["previous_attributes"] = previous_attributes
        event = {
            "id": self._runtime_ids["events"].encode(events.next_index),
            "object": "event",
            "api_version": API_VERSION,
            "created": self._now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": {"id": request_id, "idempotency_key": idempotency_key},
            "type": event_type,
        }
        events.append(event)
        for subscriber in self._subscribers:
            subscriber(event)
        return event
