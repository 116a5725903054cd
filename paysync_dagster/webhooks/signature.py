"""Stripe's webhook signature scheme: `Stripe-Signature: t=<unix time>,v1=<hex HMAC>,...`.

The HMAC-SHA256 is over `"{t}.{body}"` with the endpoint's signing secret. Several `v1` values
may be present (Stripe sends one per active secret during its own rotations), and several
secrets may be valid here (ours, during a rotation window); any match of any pair is enough.
Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

DEFAULT_TOLERANCE_SECONDS = 300
_MAX_HEADER_LENGTH = 4096


class SignatureError(ValueError):
    """A signature did not verify; the message names the reason, never a secret."""


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex `v1` signature of `body` sent at `timestamp`."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header value for `body`, as Stripe would send it."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={compute_signature(secret, timestamp, body)}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    if len(header) > _MAX_HEADER_LENGTH:
        raise SignatureError("signature header is too long")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            if not value.isdigit() or timestamp is not None:
                raise SignatureError("signature header has a malformed timestamp")
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None:
        raise SignatureError("signature header has no timestamp")
    if not signatures:
        raise SignatureError("signature header has no v1 signature")
    return timestamp, signatures


def verify_signature(
    header: str | None,
    body: bytes,
    secrets: Sequence[str],
    *,
    now: float | None = None,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check `header` against `body` and every secret; returns the signed timestamp.

    Raises `SignatureError` when the header is missing or malformed, its timestamp is more
    than `tolerance_seconds` in the past or the future, or no `v1` matches any secret.
    """
    if not header:
        raise SignatureError("missing Stripe-Signature header")
    timestamp, signatures = _parse_header(header)
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_seconds:
        raise SignatureError("signature timestamp is outside the tolerance window")
    matched = False
    for secret in secrets:
        expected = compute_signature(secret, timestamp, body).encode()
        for candidate in signatures:
            # No early exit: the time taken does not depend on which secret matched.
            matched |= hmac.compare_digest(expected, candidate.encode())
    if not matched:
        raise SignatureError("no signature matches")
    return timestamp
