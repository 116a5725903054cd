"""Errors answered as PayFit does: a status and a small JSON body with a `message`."""

from __future__ import annotations

from typing import Any


class PayfitError(Exception):
    """An error answered as `{"error": code, "message": ...}` (plus extra fields)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body of this error."""
        body: dict[str, Any] = {"message": self.message}
        if self.code is not None:
            body = {"error": self.code, **body}
        return {**body, **self.extra}


def bad_request(message: str) -> PayfitError:
    """400 for a malformed parameter or body."""
    return PayfitError(400, message, code="invalid_request")


def not_found(message: str = "Not Found") -> PayfitError:
    """404: no such route or record (for another company's record too, as PayFit says)."""
    return PayfitError(404, message, code="not_found")


def missing_scope(scope: str) -> PayfitError:
    """403 naming the scope the key lacks."""
    return PayfitError(
        403,
        f"The API key is missing the required scope: {scope}",
        code="insufficient_scope",
        missingScope=scope,
    )
