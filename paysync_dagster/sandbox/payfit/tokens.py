"""Opaque, signed `nextPageToken`s that the sandbox can invalidate, as PayFit's expire.

A token packs (entity, position, generation) and an HMAC tag under a secret drawn when the
server starts: a token from another sandbox, a hand-made one, or one issued before
`expire_all` is refused, which is how a client meets a stale token.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import struct

_LAYOUT = struct.Struct(">BQI")
_TAG_BYTES = 12
_ENTITY_CODES = {"collaborators": 1, "contracts": 2}


class PageTokens:
    """Issues and checks the page tokens of one sandbox."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)
        self._generation = 0

    def _tag(self, payload: bytes) -> bytes:
        return hmac.digest(self._secret, payload, "sha256")[:_TAG_BYTES]

    def issue(self, entity: str, position: int) -> str:
        """The token of the page of `entity` starting at `position`."""
        payload = _LAYOUT.pack(_ENTITY_CODES[entity], position, self._generation)
        return base64.urlsafe_b64encode(payload + self._tag(payload)).decode().rstrip("=")

    def position(self, entity: str, token: str) -> int | None:
        """The position `token` resumes `entity` at, or None if it is not a live token of it."""
        if len(token) > 64:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(raw) != _LAYOUT.size + _TAG_BYTES:
            return None
        payload, tag = raw[: _LAYOUT.size], raw[_LAYOUT.size :]
        if not hmac.compare_digest(tag, self._tag(payload)):
            return None
        code, position, generation = _LAYOUT.unpack(payload)
        if code != _ENTITY_CODES[entity] or generation != self._generation:
            return None
        return position

    def expire_all(self) -> None:
        """Make every token issued so far stale."""
        self._generation += 1
