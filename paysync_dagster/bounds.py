"""Bounds on input from outside, and the bounded JSON loader every HTTP body goes through.

One home for the limits, so the receiver, the inbox, the processor and the M-Pesa API agree
on what a readable document is. A document within these bounds can be stored, read back by
any JSON decoder on the path (orjson, the standard library's recursive `json`, PostgreSQL's
`jsonb`) and written to a text column, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson

# Stripe objects nest a few levels (an event, its object, an expanded reference, its
# metadata); 32 leaves room for that and stays far below the ~1000 frames at which the
# standard library's recursive decoder, used when SQLAlchemy reads a JSON column, fails.
MAX_JSON_DEPTH = 32
# The database's BIGINT: every integer a typed column or a JSON consumer may have to hold.
MIN_INTEGER = -(2**63)
MAX_INTEGER = 2**63 - 1
MAX_STRING_LENGTH = 64 * 1024
# Unix timestamps from providers: none before 1970, none after 2100 (Python's datetime
# ends at year 9999, and a `created` beyond it used to fail as a 500).
MIN_TIMESTAMP = 0
MAX_TIMESTAMP = 4_102_444_800
# PostgreSQL cannot hold U+0000 in text or jsonb. It is stored as these six characters
# instead, in `raw` and the typed columns alike, so the two always agree.
NUL_ESCAPE = "\\u0000"


class InputLimitError(ValueError):
    """Input outside a bound; the message names the limit, never the offending value."""


def loads_bounded(body: bytes | str) -> Any:
    """Decode JSON within every bound; U+0000 in strings and keys becomes `NUL_ESCAPE`.

    Raises `InputLimitError` for invalid JSON (including numbers beyond a double, which
    orjson refuses) or a document outside the bounds.
    """
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        # orjson's message names the position and the rule, never the content.
        raise InputLimitError(f"body is not valid JSON ({error})") from None
    return bounded(value)


def bounded(value: Any, depth: int = 0) -> Any:
    """`value` (decoded JSON) checked against the bounds, with U+0000 escaped."""
    if isinstance(value, str):
        return _bounded_string(value)
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        if not MIN_INTEGER <= value <= MAX_INTEGER:
            raise InputLimitError(
                f"integers must be between {MIN_INTEGER} and {MAX_INTEGER} (64-bit)"
            )
        return value
    if depth >= MAX_JSON_DEPTH:
        raise InputLimitError(f"JSON nests deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, list):
        return [bounded(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {_bounded_string(key): bounded(item, depth + 1) for key, item in value.items()}
    raise InputLimitError(f"unsupported JSON value of type {type(value).__name__}")


def _bounded_string(value: str) -> str:
    if len(value) > MAX_STRING_LENGTH:
        raise InputLimitError(f"strings must be at most {MAX_STRING_LENGTH} characters")
    return value.replace("\x00", NUL_ESCAPE) if "\x00" in value else value


def timestamp(value: Any, what: str) -> datetime:
    """A unix timestamp within `MIN_TIMESTAMP`..`MAX_TIMESTAMP` as a UTC datetime."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputLimitError(f"field {what!r} should be a unix timestamp (an integer)")
    if not MIN_TIMESTAMP <= value <= MAX_TIMESTAMP:
        raise InputLimitError(
            f"field {what!r} should be a unix timestamp between {MIN_TIMESTAMP}"
            f" and {MAX_TIMESTAMP} (year 2100)"
        )
    return datetime.fromtimestamp(value, UTC)


def fields_out_of_bounds(body: bytes | str) -> dict[str, str]:
    """For a JSON object refused by `loads_bounded`, the top-level fields at fault and why,
    so a 422 can name each bad field; empty when the body is not such an object."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(document, dict):
        return {}
    errors: dict[str, str] = {}
    for name, value in document.items():
        try:
            bounded(value, depth=1)
        except (InputLimitError, RecursionError) as error:
            errors[str(name)[:64]] = str(error)
    return errors
