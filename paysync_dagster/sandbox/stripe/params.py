"""Parsing and validation of Stripe request parameters: list queries and form bodies."""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from .errors import invalid_request, unknown_parameter

MAX_FORM_FIELDS = 200
_INTEGER = re.compile(r"-?[0-9]{1,18}")
_FORM_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[[^\[\]]+\])*)")
_CREATED_BOUNDS = {"created[gt]", "created[gte]", "created[lt]", "created[lte]"}
_SUBSCRIPTION_STATUSES = (
    "active",
    "all",
    "canceled",
    "ended",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
)
_INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")

Predicate = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A validated list request: page size, one cursor, inclusive `created` bounds, filter.

    `predicate` None lists every object; Stripe's default filters (such as subscriptions
    without `status` leaving out canceled ones) are added by `parse_list_query`.
    """

    limit: int = 10
    starting_after: str | None = None
    ending_before: str | None = None
    created_gte: int | None = None
    created_lte: int | None = None
    predicate: Predicate | None = None


def _integer(param: str, value: str) -> int:
    if not _INTEGER.fullmatch(value):
        raise invalid_request(
            f"Invalid integer: {value}", param=param, code="parameter_invalid_integer"
        )
    return int(value)


def _subscription_status(value: str) -> Predicate | None:
    if value == "all":
        return None
    if value == "ended":
        return lambda obj: obj["status"] in ("canceled", "incomplete_expired")
    return lambda obj: obj["status"] == value


def _event_type(value: str) -> Predicate:
    # Stripe accepts a trailing wildcard such as `customer.*`.
    if value.endswith("*"):
        prefix = value[:-1]
        return lambda obj: obj["type"].startswith(prefix)
    return lambda obj: obj["type"] == value


def _filter(entity: str, param: str, value: str) -> Predicate | None:
    """The predicate of an entity-specific filter parameter; raises if there is none."""
    if param == "status" and entity in ("subscriptions", "invoices"):
        allowed = _SUBSCRIPTION_STATUSES if entity == "subscriptions" else _INVOICE_STATUSES
        if value not in allowed:
            raise invalid_request(
                f"Invalid status: must be one of {', '.join(allowed)}", param="status"
            )
        if entity == "subscriptions":
            return _subscription_status(value)
        return lambda obj: obj["status"] == value
    if param == "type" and entity == "events":
        return _event_type(value)
    raise unknown_parameter(param)


def parse_list_query(entity: str, items: Iterable[tuple[str, str]]) -> ListQuery:
    """Validate the query string of `GET /v1/<entity>` the way Stripe does."""
    limit = 10
    cursors: dict[str, str] = {}
    gte: int | None = None
    lte: int | None = None
    # Like Stripe, subscriptions that are not asked for by status exclude canceled ones.
    predicate = (lambda obj: obj["status"] != "canceled") if entity == "subscriptions" else None
    for param, value in items:
        if param == "limit":
            limit = _integer(param, value)
            if not 1 <= limit <= 100:
                bound = "greater than or equal to 1" if limit < 1 else "less than or equal to 100"
                raise invalid_request(f"This value must be {bound}.", param="limit")
        elif param in ("starting_after", "ending_before"):
            if value:
                cursors[param] = value
        elif param == "created":
            gte = lte = _integer(param, value)
        elif param in _CREATED_BOUNDS:
            bound_value = _integer(param, value)
            if param in ("created[gt]", "created[gte]"):
                low = bound_value + (param == "created[gt]")
                gte = low if gte is None else max(gte, low)
            else:
                high = bound_value - (param == "created[lt]")
                lte = high if lte is None else min(lte, high)
        else:
            predicate = _filter(entity, param, value)
    if len(cursors) > 1:
        raise invalid_request(
            "You may only specify one of these parameters: starting_after, ending_before.",
            param="ending_before",
        )
    return ListQuery(
        limit=limit,
        starting_after=cursors.get("starting_after"),
        ending_before=cursors.get("ending_before"),
        created_gte=gte,
        created_lte=lte,
        predicate=predicate,
    )


def reject_parameters(items: Iterable[tuple[str, str]]) -> None:
    """For endpoints that take no query parameters: fail on the first one given."""
    for param, _ in items:
        raise unknown_parameter(param)


def decode_form(body: bytes) -> dict[str, Any]:
    """Decode Stripe's form encoding (`metadata[tier]=gold`) into nested dicts."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid_request(
            f"Invalid request body: expected at most {MAX_FORM_FIELDS} UTF-8 form fields"
        ) from exc
    decoded: dict[str, Any] = {}
    for key, value in pairs:
        match = _FORM_KEY.fullmatch(key)
        if match is None:
            raise invalid_request(f"Invalid parameter name: {key[:100]}", param=key[:100])
        path = [match.group(1), *re.findall(r"\[([^\[\]]+)\]", match.group(2))]
        node = decoded
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise invalid_request(f"Invalid parameter: {key}", param=path[0])
            node = child
        if isinstance(node.get(path[-1]), dict):
            raise invalid_request(f"Invalid parameter: {key}", param=path[0])
        node[path[-1]] = value
    return decoded
