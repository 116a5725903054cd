"""Validation of `POST /api/mpesa-settings` bodies (the seed's `MpesaSettingsRequest`).

Every field is checked and every problem reported at once, so staff can fix a form in one go.
Messages describe the rule that failed and never repeat the submitted value: the value may be
a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from paysync_dagster.mpesa.errors import SettingsValidationError

ENVIRONMENTS = ("sandbox", "production")
MAX_SECRET_LENGTH = 256
SECRET_FIELDS = ("mpesa_consumer_key", "mpesa_consumer_secret", "mpesa_passkey")
FIELDS = (
    "barId",
    "mpesa_enabled",
    "mpesa_environment",
    "mpesa_business_shortcode",
    *SECRET_FIELDS,
)

# Bar ids are BIGINT; below 10^18 they fit in every database's integer and never overflow.
MAX_BAR_ID = 10**18 - 1
_BAR_ID_RE = re.compile(r"[1-9][0-9]{0,17}")
_SHORTCODE_RE = re.compile(r"[0-9]{5,7}")


@dataclass(frozen=True)
class MpesaSettings:
    """A validated settings request; the secrets are hidden from `repr`."""

    bar_id: int
    enabled: bool
    environment: str
    business_shortcode: str
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    passkey: str = field(repr=False)


def parse_settings(body: Any) -> MpesaSettings:
    """Validate a decoded JSON body; raises `SettingsValidationError` naming each bad field."""
    if not isinstance(body, dict):
        raise SettingsValidationError({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    for name in sorted(set(body) - set(FIELDS)):
        errors[str(name)[:64]] = "unexpected field"
    for name in FIELDS:
        if name not in body:
            errors[name] = "is required"

    bar_id = body.get("barId")
    if "barId" in body and not _valid_bar_id(bar_id):
        errors["barId"] = "must be a bar id: a positive integer, as a number or a digit string"
    if "mpesa_enabled" in body and not isinstance(body["mpesa_enabled"], bool):
        errors["mpesa_enabled"] = "must be true or false"
    if "mpesa_environment" in body and body["mpesa_environment"] not in ENVIRONMENTS:
        errors["mpesa_environment"] = f"must be one of {', '.join(ENVIRONMENTS)}"
    shortcode = body.get("mpesa_business_shortcode")
    if "mpesa_business_shortcode" in body and not (
        isinstance(shortcode, str) and _SHORTCODE_RE.fullmatch(shortcode)
    ):
        errors["mpesa_business_shortcode"] = "must be a string of 5 to 7 digits"
    for name in SECRET_FIELDS:
        if name in body and not _valid_secret(body[name]):
            errors[name] = (
                f"must be 1-{MAX_SECRET_LENGTH} printable characters,"
                " without leading or trailing spaces"
            )
    if errors:
        raise SettingsValidationError(errors)
    return MpesaSettings(
        bar_id=int(bar_id),
        enabled=body["mpesa_enabled"],
        environment=body["mpesa_environment"],
        business_shortcode=shortcode,
        consumer_key=body["mpesa_consumer_key"],
        consumer_secret=body["mpesa_consumer_secret"],
        passkey=body["mpesa_passkey"],
    )


def parse_bar_id(text: str) -> int | None:
    """A bar id from a URL path or form (digits, 1..`MAX_BAR_ID`), or None if it is not one."""
    return int(text) if _BAR_ID_RE.fullmatch(text) else None


def _valid_bar_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 < value <= MAX_BAR_ID
    return isinstance(value, str) and parse_bar_id(value) is not None


def _valid_secret(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_SECRET_LENGTH
        and value.isprintable()
        and value == value.strip()
    )
