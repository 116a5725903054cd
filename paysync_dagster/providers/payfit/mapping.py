"""Mapping of PayFit collaborators and contracts to `employees` and `employment_contracts` rows.

Personal identifiers never reach the mirror: `PERSONAL_FIELDS` (social security number, IBAN,
BIC, birth date and birth name) are removed from the object before it is serialized as `raw`,
and no typed column holds them. `raw` keeps only the names of the removed fields that were
present, under `REMOVED_FIELDS_KEY`, so a reader can tell "PayFit had an IBAN" from "PayFit
had none" without the value.

PayFit's objects carry no update timestamp, so `source_ts` is the page's fetch time, as for
Stripe objects. A malformed object raises `MappingError` naming the object and the field (never
a value), so the sync records and skips that record while the others continue.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import orjson

from paysync_dagster.providers.base import MappingError, Row
from paysync_dagster.store.database import SerializedJson

# The one list of collaborator fields that are never stored, in any column or in `raw`.
PERSONAL_FIELDS: tuple[str, ...] = (
    "socialSecurityNumber",
    "iban",
    "bic",
    "birthDate",
    "birthName",
)
REMOVED_FIELDS_KEY = "_paysyncRemovedFields"
# Longest values the typed columns take (`store/tables.py`); longer ones fail the record.
_MAX_ID = 255
_MAX_NAME = 255
_MAX_EMAIL = 320
_MAX_STATUS = 32
_ACTIVE = "active"


def _field(
    obj: Mapping[str, Any],
    name: str,
    kind: type | tuple[type, ...],
    *,
    required: bool,
    max_length: int | None = None,
) -> Any:
    value = obj.get(name)
    if value is None:
        if required:
            raise MappingError(_object_id(obj), f"missing required field {name!r}")
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise MappingError(
            _object_id(obj),
            f"field {name!r} should be {_kind_name(kind)}, got {type(value).__name__}",
        )
    if max_length is not None and isinstance(value, str) and len(value) > max_length:
        raise MappingError(
            _object_id(obj), f"field {name!r} is longer than {max_length} characters"
        )
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


def _object_id(obj: Mapping[str, Any]) -> str | None:
    value = obj.get("id")
    return value if isinstance(value, str) and 0 < len(value) <= _MAX_ID else None


def _date(obj: Mapping[str, Any], name: str) -> date | None:
    """A `YYYY-MM-DD` field (PayFit may append a time, which is dropped)."""
    value = _field(obj, name, str, required=False, max_length=40)
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise MappingError(_object_id(obj), f"field {name!r} is not a YYYY-MM-DD date") from None


def _spine(obj: Any, kind: str, source_ts: datetime, *, personal: bool) -> Row:
    """The shared columns; `raw` is the object without its personal fields."""
    if not isinstance(obj, Mapping):
        raise MappingError(None, f"expected a PayFit {kind} object, got {type(obj).__name__}")
    external_id = _field(obj, "id", str, required=True, max_length=_MAX_ID)
    if not external_id:
        raise MappingError(None, "field 'id' is empty")
    kept = dict(obj)
    if personal:
        removed = sorted(name for name in PERSONAL_FIELDS if kept.pop(name, None) is not None)
        if removed:
            kept[REMOVED_FIELDS_KEY] = removed
    try:
        raw = orjson.dumps(kept)
    except TypeError:
        raise MappingError(external_id, "object is not JSON-serializable") from None
    return {
        "external_id": external_id,
        "created_at": None,
        "raw": SerializedJson(raw.decode()),
        "raw_hash": hashlib.blake2b(raw, digest_size=16).hexdigest(),
        "source_ts": source_ts,
        "deleted_at": None,
    }


def _primary_email(obj: Mapping[str, Any]) -> str | None:
    """The professional email if there is one, else the first email listed."""
    emails = _field(obj, "emails", list, required=False) or []
    chosen: str | None = None
    for entry in emails:
        if not isinstance(entry, Mapping):
            raise MappingError(_object_id(obj), "field 'emails' should hold objects")
        email = _field(entry, "email", str, required=False, max_length=_MAX_EMAIL)
        if email is None:
            continue
        if entry.get("type") == "professional":
            return email
        chosen = chosen or email
    return chosen


def _employee_status(obj: Mapping[str, Any]) -> str:
    """`active` with an active contract, `terminated` with a termination date, else `inactive`.

    PayFit sets `terminationDate` to the end of the last contract, which for a fixed-term
    contract still running lies in the future: the contract's status decides first.
    """
    contracts = _field(obj, "contracts", list, required=False) or []
    for contract in contracts:
        if not isinstance(contract, Mapping):
            raise MappingError(_object_id(obj), "field 'contracts' should hold objects")
        status = contract.get("status")
        if isinstance(status, str) and status.lower() == _ACTIVE:
            return "active"
    if _date(obj, "terminationDate") is not None:
        return "terminated"
    return "inactive"


def map_collaborator(obj: Mapping[str, Any], source_ts: datetime) -> Row:
    """A PayFit collaborator as an `employees` row, without its personal identifiers."""
    return {
        **_spine(obj, "collaborator", source_ts, personal=True),
        "first_name": _field(obj, "firstName", str, required=False, max_length=_MAX_NAME),
        "last_name": _field(obj, "lastName", str, required=False, max_length=_MAX_NAME),
        "email": _primary_email(obj),
        "status": _employee_status(obj),
    }


def map_contract(obj: Mapping[str, Any], source_ts: datetime) -> Row:
    """A PayFit contract as an `employment_contracts` row; `collaboratorId` is required.

    PayFit's contract list gives no contract type (CDI, CDD, ...), so `contract_type` stays
    empty; `jobName` is kept in `raw`. The status is PayFit's, lower-cased (`active`, ...).
    """
    status = _field(obj, "status", str, required=False, max_length=_MAX_STATUS)
    return {
        # Contracts carry no personal identifiers, but one that did would still lose them.
        **_spine(obj, "contract", source_ts, personal=True),
        "employee_external_id": _field(
            obj, "collaboratorId", str, required=True, max_length=_MAX_ID
        ),
        "contract_type": None,
        "start_date": _date(obj, "startDate"),
        "end_date": _date(obj, "endDate"),
        "status": None if status is None else status.lower(),
    }


MAPPERS: dict[str, Callable[[Mapping[str, Any], datetime], Row]] = {
    "collaborators": map_collaborator,
    "contracts": map_contract,
}
