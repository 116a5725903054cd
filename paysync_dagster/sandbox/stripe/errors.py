"""Errors in Stripe's JSON shape, raised by the sandbox state and the HTTP layer alike."""

import re
from typing import Any

_KEY_PREFIX = re.compile(r"\A(?:sk|rk|pk)_(?:test|live)_")


class StripeError(Exception):
    """An error answered as `{"error": {...}}` with an HTTP status, like Stripe's API."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.headers = headers or {}
        # Further fields of the error object, e.g. a card error's `decline_code` and `charge`.
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        """The JSON body Stripe would send for this error."""
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param is not None:
            error["param"] = self.param
        return {"error": {**error, **self.extra}}


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None
) -> StripeError:
    """400 invalid_request_error, e.g. a malformed or out-of-range parameter."""
    return StripeError(400, message, code=code, param=param)


def unknown_parameter(param: str) -> StripeError:
    """400 for a parameter the endpoint does not take."""
    return invalid_request(
        f"Received unknown parameter: {param}", param=param, code="parameter_unknown"
    )


def resource_missing(object_name: str, object_id: str, *, param: str = "id") -> StripeError:
    """No such object: 404 when it is the path's object, 400 when a parameter names it."""
    return StripeError(
        404 if param == "id" else 400,
        f"No such {object_name}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def mask_key(key: str) -> str:
    """Mask an API key as Stripe does in errors: keep the `sk_test_` prefix and last 4 only."""
    prefix_match = _KEY_PREFIX.match(key)
    prefix = prefix_match.group(0) if prefix_match else ""
    rest = key[len(prefix) :]
    if len(rest) < 12:
        return prefix + "*" * len(rest)
    return prefix + "*" * (len(rest) - 4) + rest[-4:]
