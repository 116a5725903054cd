"""Scrubbing of credential-shaped text from messages that may reach logs or metadata."""

from __future__ import annotations

import re

_SECRET_PATTERN = re.compile(r"\b(sk|rk|pk)_(test|live)_[A-Za-z0-9]+|\bwhsec_[A-Za-z0-9+/=_-]+")


def redact(text: str) -> str:
    """`text` with anything shaped like a Stripe key or webhook secret replaced by [redacted]."""
    return _SECRET_PATTERN.sub("[redacted]", text)


def describe_error(error: BaseException, *, limit: int = 500) -> str:
    """A short, credential-free one-line description of an exception."""
    return redact(f"{type(error).__name__}: {error}")[:limit]
