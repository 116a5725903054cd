"""What a PayFit sandbox serves: the generated company, runtime mutations and a request log.

Mutations are an overlay over the deterministic dataset: created collaborators get the
indexes after the generated ones (and list after them), and updates are field patches by
index, so the generated data stays O(page) and is untouched by a test's writes. Setting a
`terminationDate` also finishes the collaborator's active contracts on that date, in the
collaborator's `contracts` and in the contract list alike.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from datetime import date
from typing import Any

from .dataset import ACTIVE, CONTRACT_SLOTS, FINISHED, PayfitDataset
from .errors import PayfitError, bad_request, not_found
from .tokens import PageTokens

DEFAULT_MAX_RESULTS = 10
MAX_RESULTS = 50
MAX_CREATED = 100_000
MAX_LOGGED_REQUESTS = 200_000
_STRING_FIELDS = {
    "firstName": 255,
    "lastName": 255,
    "birthName": 255,
    "gender": 32,
    "nationality": 8,
    "countryOfBirth": 8,
    "teamName": 255,
    "managerId": 64,
    "matricule": 64,
    "socialSecurityNumber": 32,
    "iban": 64,
    "bic": 16,
}
_DATE_FIELDS = ("birthDate", "terminationDate")
_LIST_FIELDS = ("emails", "phoneNumbers", "addresses")
_MAX_LIST = 10
_MAX_ENTRY_VALUE = 255
_REQUIRED_ON_CREATE = ("firstName", "lastName")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _validated(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The writable collaborator fields of a request body, checked; raises a 400 otherwise."""
    patch: dict[str, Any] = {}
    for name, value in fields.items():
        if name in _STRING_FIELDS:
            if value is not None and not (
                isinstance(value, str) and len(value) <= _STRING_FIELDS[name]
            ):
                raise bad_request(f"{name} must be a string of at most {_STRING_FIELDS[name]}")
        elif name in _DATE_FIELDS:
            if value is not None:
                if not isinstance(value, str) or not _DATE.fullmatch(value):
                    raise bad_request(f"{name} must be a YYYY-MM-DD date")
                try:
                    date.fromisoformat(value)
                except ValueError:
                    raise bad_request(f"{name} must be a valid date") from None
        elif name in _LIST_FIELDS:
            if not isinstance(value, list) or len(value) > _MAX_LIST:
                raise bad_request(f"{name} must be a list of at most {_MAX_LIST} objects")
            for entry in value:
                if not isinstance(entry, dict) or not all(
                    isinstance(k, str)
                    and len(k) <= 64
                    and (v is None or (isinstance(v, str) and len(v) <= _MAX_ENTRY_VALUE))
                    for k, v in entry.items()
                ):
                    raise bad_request(f"{name} entries must be objects of short strings")
        else:
            raise bad_request(f"unknown or read-only collaborator field {name[:64]!r}")
        patch[name] = value
    return patch


def _finished(contract: dict[str, Any], termination: str) -> dict[str, Any]:
    """`contract` as a termination on `termination` leaves it: an active one ends then."""
    if contract["status"] != ACTIVE:
        return contract
    return {**contract, "status": FINISHED, "endDate": termination}


class PayfitState:
    """The sandbox's company: generated data, overlay, page tokens and (optionally) a log."""

    def __init__(self, dataset: PayfitDataset, *, record_requests: bool = False) -> None:
        self.dataset = dataset
        self.tokens = PageTokens()
        self._created: list[dict[str, Any]] = []
        self._patches: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._record = record_requests
        self._log: list[dict[str, Any]] = []

    # -- request log ------------------------------------------------------------------------

    def record(self, entry: dict[str, Any]) -> None:
        """Log one request (method, path, query, status), when recording is on."""
        if self._record:
            with self._lock:
                if len(self._log) < MAX_LOGGED_REQUESTS:
                    self._log.append(entry)

    def requests(self) -> list[dict[str, Any]]:
        """Every request logged so far, oldest first."""
        with self._lock:
            return list(self._log)

    def clear_requests(self) -> None:
        """Forget the logged requests."""
        with self._lock:
            self._log.clear()

    # -- collaborators ----------------------------------------------------------------------

    @property
    def collaborator_count(self) -> int:
        """Generated plus created collaborators."""
        return self.dataset.collaborators + len(self._created)

    def collaborator(self, index: int) -> dict[str, Any]:
        """Collaborator `index` as currently served (generated or created, then patched)."""
        generated = self.dataset.collaborators
        base = (
            self.dataset.collaborator(index)
            if index < generated
            else self._created[index - generated]
        )
        patch = self._patches.get(index)
        if patch is None:
            return base
        served = {**base, **patch}
        ended = patch.get("terminationDate")
        if ended is not None:
            served["contracts"] = [_finished(contract, ended) for contract in base["contracts"]]
        return served

    def find_collaborator(self, collaborator_id: str) -> int:
        """The index of a served collaborator id; 404 when there is none."""
        index = self.dataset.collaborator_index(collaborator_id)
        if index is None or index >= self.collaborator_count:
            raise not_found(f"Collaborator {collaborator_id[:64]} not found")
        return index

    def create_collaborator(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Add a collaborator (no contracts yet); it lists after every existing one."""
        patch = _validated(fields)
        missing = [name for name in _REQUIRED_ON_CREATE if not patch.get(name)]
        if missing:
            raise bad_request(f"missing required fields: {', '.join(missing)}")
        with self._lock:
            if len(self._created) >= MAX_CREATED:
                raise PayfitError(409, "the sandbox holds no more created collaborators")
            index = self.collaborator_count
            record: dict[str, Any] = {
                "id": self.dataset.collaborator_id(index),
                **{name: None for name in (*_STRING_FIELDS, *_DATE_FIELDS)},
                **{name: [] for name in _LIST_FIELDS},
                "contracts": [],
                **patch,
            }
            self._created.append(record)
        return record

    def update_collaborator(
        self, collaborator_id: str, fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Patch a collaborator's writable fields; returns it as now served."""
        patch = _validated(fields)
        with self._lock:
            index = self.find_collaborator(collaborator_id)
            self._patches[index] = {**self._patches.get(index, {}), **patch}
        return self.collaborator(index)

    # -- listings ---------------------------------------------------------------------------

    def _position(self, entity: str, token: str | None) -> int:
        if token is None:
            return 0
        position = self.tokens.position(entity, token)
        if position is None:
            raise PayfitError(
                400,
                "The nextPageToken is invalid or has expired; restart from the first page",
                code="invalid_page_token",
            )
        return position

    def list_collaborators(self, token: str | None, limit: int) -> dict[str, Any]:
        """A page of collaborators in index order, PayFit's list shape."""
        start = self._position("collaborators", token)
        total = self.collaborator_count
        end = min(total, start + limit)
        page = [self.collaborator(index) for index in range(start, end)]
        meta: dict[str, Any] = {}
        if end < total:
            meta["nextPageToken"] = self.tokens.issue("collaborators", end)
        return {"collaborators": page, "meta": meta}

    def list_contracts(self, token: str | None, limit: int) -> dict[str, Any]:
        """A page of contracts in slot order; every generated collaborator fills slot 0, so
        the scan for a page and for the next one's start touches at most 3 slots per item."""
        slot = self._position("contracts", token)
        slots = self.dataset.collaborators * CONTRACT_SLOTS
        page: list[dict[str, Any]] = []
        while slot < slots and len(page) < limit:
            contract = self.dataset.contract(slot)
            if contract is not None:
                ended = self._patches.get(slot // CONTRACT_SLOTS, {}).get("terminationDate")
                page.append(contract if ended is None else _finished(contract, ended))
            slot += 1
        while slot < slots and self.dataset.contract(slot) is None:
            slot += 1
        meta: dict[str, Any] = {}
        if slot < slots:
            meta["nextPageToken"] = self.tokens.issue("contracts", slot)
        return {"contracts": page, "meta": meta}
