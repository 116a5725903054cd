"""`POST /api/mpesa-settings` bodies (the seed's `MpesaSettingsRequest`) as a pydantic model.

Every field is checked and every problem reported at once, so staff can fix a form in one go.
Messages describe the rule that failed and never repeat the submitted value: the value may be
a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from paysync_dagster.mpesa.credentials import Environment

MAX_SECRET_LENGTH = 256
SECRET_FIELDS = ("mpesa_consumer_key", "mpesa_consumer_secret", "mpesa_passkey")

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


def parse_bar_id(text: str) -> int | None:
    """A bar id from a URL path or form (digits, 1..`MAX_BAR_ID`), or None if it is not one."""
    return int(text) if _BAR_ID_RE.fullmatch(text) else None


def _bar_id(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_BAR_ID:
        return value
    if isinstance(value, str) and (parsed := parse_bar_id(value)) is not None:
        return parsed
    raise ValueError("must be a bar id: a positive integer, as a number or a digit string")


def _shortcode(value: Any) -> str:
    if isinstance(value, str) and _SHORTCODE_RE.fullmatch(value):
        return value
    raise ValueError("must be a string of 5 to 7 digits")


def _secret(value: Any) -> str:
    if (
        isinstance(value, str)
        and 0 < len(value) <= MAX_SECRET_LENGTH
        and value.isprintable()
        and value == value.strip()
    ):
        return value
    raise ValueError(
        f"must be 1-{MAX_SECRET_LENGTH} printable characters, without leading or trailing spaces"
    )


BarId = Annotated[int, BeforeValidator(_bar_id), Field(json_schema_extra={"maximum": MAX_BAR_ID})]
Shortcode = Annotated[str, BeforeValidator(_shortcode), Field(pattern=r"^[0-9]{5,7}$")]
MpesaSecret = Annotated[
    str,
    BeforeValidator(_secret),
    Field(min_length=1, max_length=MAX_SECRET_LENGTH, repr=False),
]


class MpesaSettingsRequest(BaseModel):
    """A bar's M-Pesa settings as staff submit them; secrets never appear in `repr`."""

    model_config = ConfigDict(extra="forbid")

    barId: BarId
    mpesa_enabled: StrictBool
    mpesa_environment: Environment
    mpesa_business_shortcode: Shortcode
    mpesa_consumer_key: MpesaSecret
    mpesa_consumer_secret: MpesaSecret
    mpesa_passkey: MpesaSecret

    def settings(self) -> MpesaSettings:
        """The validated request as the settings service takes it."""
        return MpesaSettings(
            bar_id=self.barId,
            enabled=self.mpesa_enabled,
            environment=self.mpesa_environment,
            business_shortcode=self.mpesa_business_shortcode,
            consumer_key=self.mpesa_consumer_key,
            consumer_secret=self.mpesa_consumer_secret,
            passkey=self.mpesa_passkey,
        )
