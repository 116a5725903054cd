"""Deterministic French payroll data: collaborator `i` is a pure function of (seed, i).

Nothing is generated up front, so any page costs time proportional to its size whatever the
company's size. Faker's `fr_FR` locale, re-seeded per collaborator index, gives names,
addresses, phone numbers, social security numbers, IBANs and BICs; dates and relations are
arithmetic on hashes of the index, anchored at a fixed instant so the same seed gives the
same bytes on every run and every day:

- collaborator `i` has 1 contract (70%), 2 (20%) or 3 (10%), one after another; contract `r`
  of collaborator `i` sits in slot `3 * i + r`, so contracts list in slot order in O(page);
- about 15% are terminated: their last contract ended and `terminationDate` is its end date;
  about 10% of the others are on a fixed-term contract that ends after the anchor;
- the manager of collaborator `i > 0` is one of the first tenth of the company.

Values depend on the pinned Faker release; another release may generate other names.
"""

from __future__ import annotations

import threading
import unicodedata
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from faker import Faker

from paysync_dagster.sandbox.stripe.hashing import mix64, stream_key
from paysync_dagster.sandbox.stripe.ids import AffineCodec

# Dates are relative to this fixed day rather than today, for byte-identical output.
ANCHOR = date(2026, 1, 1)
CONTRACT_SLOTS = 3
ACTIVE = "ACTIVE"
FINISHED = "FINISHED"
_HEX = "0123456789abcdef"
# PayFit ids look like 24 hex digits (MongoDB object ids): here an 8-digit tag of the seed
# and kind, then 16 digits encoding the index.
_TAG_WIDTH = 8
_BODY_WIDTH = 16
_TEAMS = (
    "Produit",
    "Ingénierie",
    "Ventes",
    "Marketing",
    "Finance",
    "Ressources humaines",
    "Support client",
    "Opérations",
    "Juridique",
    "Direction",
)
_JOBS = (
    "Développeur full-stack",
    "Chef de projet",
    "Comptable",
    "Chargé de recrutement",
    "Commercial sédentaire",
    "Responsable marketing",
    "Designer produit",
    "Juriste",
    "Assistant de direction",
    "Technicien support",
    "Contrôleur de gestion",
    "Data analyst",
)
_OTHER_NATIONALITIES = ("ES", "IT", "PT", "BE", "DE", "MA", "SN", "TN", "RO", "PL")


class _Timeline(NamedTuple):
    """A collaborator's contracts: (start, end or None, status) each, and termination."""

    contracts: tuple[tuple[date, date | None, str], ...]
    termination: date | None


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c == "-")).lower()


class _HexIds:
    """A bijection between indexes and 24-hex-digit ids of one kind under one seed."""

    def __init__(self, key: int) -> None:
        self._tag = AffineCodec(_HEX, _TAG_WIDTH, key >> 5).encode(0)
        self._body = AffineCodec(_HEX, _BODY_WIDTH, key)

    def encode(self, index: int) -> str:
        return self._tag + self._body.encode(index)

    def decode(self, object_id: str) -> int | None:
        if not object_id.startswith(self._tag):
            return None
        return self._body.decode(object_id[_TAG_WIDTH:])


class PayfitDataset:
    """The generated PayFit company of a sandbox: ids, collaborators and contracts by index.

    Collaborator ids and contract ids encode their index (an affine bijection over 24 hex
    digits), so an id maps back to its object in O(1) and ids look unrelated to one another.
    """

    def __init__(self, collaborators: int = 100, seed: int = 0, company_id: str = "c") -> None:
        if collaborators < 0:
            raise ValueError("collaborators must be >= 0")
        self.collaborators = collaborators
        self.seed = seed
        self.company_id = company_id
        self._collaborator_ids = _HexIds(stream_key(seed, "payfit:ids"))
        self._contract_ids = _HexIds(stream_key(seed, "payfit:contracts"))
        self._timeline_key = stream_key(seed, "payfit:timeline")
        self._people_key = stream_key(seed, "payfit:people")
        self._faker = Faker("fr_FR")
        self._faker_lock = threading.Lock()
        self.collaborator = lru_cache(maxsize=4096)(self._collaborator)

    # -- ids --------------------------------------------------------------------------------

    def collaborator_id(self, index: int) -> str:
        """The id of collaborator `index` (generated or created later by the sandbox)."""
        return self._collaborator_ids.encode(index)

    def collaborator_index(self, collaborator_id: str) -> int | None:
        """The index an id encodes, or None if it is not an id of this dataset's shape."""
        return self._collaborator_ids.decode(collaborator_id)

    def contract_id(self, slot: int) -> str:
        """The id of the contract in `slot` (`3 * collaborator + rank`)."""
        return self._contract_ids.encode(slot)

    def contract_slot(self, contract_id: str) -> int | None:
        """The slot a contract id encodes, or None."""
        return self._contract_ids.decode(contract_id)

    # -- timelines --------------------------------------------------------------------------

    def timeline(self, index: int) -> _Timeline:
        """Collaborator `index`'s contracts and termination, from hashes alone (no Faker)."""
        h = mix64(self._timeline_key + index)
        bucket = h % 100
        count = 1 if bucket < 70 else 2 if bucket < 90 else 3
        span = 90 + (h >> 8) % 4900  # days from the first contract's start to the anchor
        first_start = ANCHOR - timedelta(days=span)
        starts = [
            first_start + timedelta(days=span * rank // count + (h >> (16 + rank)) % 20)
            for rank in range(count)
        ]
        fate = (h >> 40) % 100
        contracts: list[tuple[date, date | None, str]] = []
        for rank, start in enumerate(starts[:-1]):
            contracts.append((start, starts[rank + 1] - timedelta(days=1), FINISHED))
        last = starts[-1]
        termination: date | None = None
        if fate < 15:
            # Ended between 30% and 90% of the way from the last start to the anchor.
            days = (ANCHOR - last).days * (30 + (h >> 48) % 61) // 100
            termination = last + timedelta(days=max(1, days))
            contracts.append((last, termination, FINISHED))
        elif fate < 25:
            # A fixed-term contract (CDD) still running: PayFit already shows its end.
            termination = ANCHOR + timedelta(days=30 + (h >> 48) % 300)
            contracts.append((last, termination, ACTIVE))
        else:
            contracts.append((last, None, ACTIVE))
        return _Timeline(tuple(contracts), termination)

    def contract_count(self, index: int) -> int:
        """How many contracts collaborator `index` has (1 to 3)."""
        return len(self.timeline(index).contracts)

    def contract(self, slot: int) -> dict[str, Any] | None:
        """The contract in `slot`, or None when that slot is empty."""
        index, rank = divmod(slot, CONTRACT_SLOTS)
        if not 0 <= index < self.collaborators:
            return None
        contracts = self.timeline(index).contracts
        if rank >= len(contracts):
            return None
        start, end, status = contracts[rank]
        job = _JOBS[mix64(self._timeline_key ^ (slot + 1)) % len(_JOBS)]
        return {
            "id": self.contract_id(slot),
            "companyId": self.company_id,
            "collaboratorId": self.collaborator_id(index),
            "status": status,
            "jobName": job,
            "startDate": start.isoformat(),
            "endDate": None if end is None else end.isoformat(),
        }

    # -- collaborators ----------------------------------------------------------------------

    def _collaborator(self, index: int) -> dict[str, Any]:
        """Generated collaborator `index` (0 <= index < collaborators); cached, do not mutate."""
        h = mix64(self._people_key + index)
        female = h % 2 == 0
        timeline = self.timeline(index)
        with self._faker_lock:
            fake = self._faker
            fake.seed_instance(h)
            first = fake.first_name_female() if female else fake.first_name_male()
            last = fake.last_name()
            # About a third of the women use a married name; the birth name is their own.
            birth_name = fake.last_name() if female and (h >> 4) % 3 == 0 else last
            personal_email = fake.free_email()
            phone = fake.phone_number()
            street, postcode, city = fake.street_address(), fake.postcode(), fake.city()
            ssn = fake.ssn()
            iban = fake.iban()
            bic = fake.swift(length=11)
        # Born 18 to 48 years before the first contract: birth dates (at the latest 2008)
        # never coincide with contract dates (2012 on), which the no-PII tests rely on.
        first_start = timeline.contracts[0][0]
        birth = first_start - timedelta(days=18 * 366 + (h >> 12) % (30 * 365))
        nationality = "FR" if (h >> 20) % 10 else _OTHER_NATIONALITIES[(h >> 24) % 10]
        manager_pool = max(1, min(index, -(-self.collaborators // 10)))
        handle = f"{_ascii(first)}.{_ascii(last)}"
        return {
            "id": self.collaborator_id(index),
            "firstName": first,
            "lastName": last,
            "birthName": birth_name,
            "birthDate": birth.isoformat(),
            "gender": "female" if female else "male",
            "nationality": nationality,
            "countryOfBirth": nationality if (h >> 28) % 5 else "FR",
            "emails": [
                {"type": "professional", "email": f"{handle}.{index}@{self.company_id}.example"},
                {"type": "personal", "email": personal_email},
            ],
            "phoneNumbers": [{"type": "mobile", "number": phone}],
            "addresses": [
                {
                    "type": "home",
                    "street": street,
                    "zipCode": postcode,
                    "city": city,
                    "country": "FR",
                }
            ],
            "teamName": _TEAMS[(h >> 32) % len(_TEAMS)],
            "managerId": None if index == 0 else self.collaborator_id((h >> 36) % manager_pool),
            "matricule": f"{index + 1:06d}",
            "socialSecurityNumber": ssn,
            "iban": iban,
            "bic": bic,
            "terminationDate": None
            if timeline.termination is None
            else timeline.termination.isoformat(),
            "contracts": [
                {
                    "id": self.contract_id(index * CONTRACT_SLOTS + rank),
                    "status": status,
                    "startDate": start.isoformat(),
                    "endDate": None if end is None else end.isoformat(),
                }
                for rank, (start, end, status) in enumerate(timeline.contracts)
            ],
        }
