"""How every FastAPI route of `paysync serve` answers an error: one JSON shape, no secrets.

`{"success": false, "message": ..., "errors": {field: problem}}`. Validation problems name each
bad field with the rule it broke, never the submitted value (it may be a secret); a 422 from
the M-Pesa settings API keeps the message it always had.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from paysync_dagster.server.bodies import OUT_OF_BOUNDS_SCOPE_KEY

MPESA_SETTINGS_PATH = "/api/mpesa-settings"
_MAX_FIELD_NAME = 64
# pydantic's wording for these is about Python, not about the request.
_NOT_AN_OBJECT = "must be a JSON object"
_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "unexpected field",
    "model_attributes_type": _NOT_AN_OBJECT,
    "dict_type": _NOT_AN_OBJECT,
    "model_type": _NOT_AN_OBJECT,
}


class ErrorBody(BaseModel):
    """What an error response says: never a secret, never the offending value."""

    success: bool = False
    message: str
    errors: dict[str, str] | None = None


def error_response(
    status_code: int,
    message: str,
    errors: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An `ErrorBody` response."""
    body = ErrorBody(message=message, errors=dict(errors) if errors else None)
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status_code, headers=headers
    )


def field_errors(problems: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """pydantic's error list as `{field: problem}`: the first problem of each field."""
    errors: dict[str, str] = {}
    for problem in problems:
        if problem["type"] == "json_invalid":
            errors.setdefault("body", str(problem.get("ctx", {}).get("error") or problem["msg"]))
            continue
        location = [str(part) for part in problem["loc"]]
        if location[:1] in (["body"], ["query"], ["path"], ["header"]) and len(location) > 1:
            location = location[1:]
        name = ".".join(location)[:_MAX_FIELD_NAME]
        message = _MESSAGES.get(problem["type"]) or str(problem["msg"]).removeprefix(
            "Value error, "
        )
        errors.setdefault(name, message)
    return errors


async def _validation_failed(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    message = (
        "invalid M-Pesa settings" if request.url.path == MPESA_SETTINGS_PATH else "invalid request"
    )
    errors = field_errors(error.errors())
    errors.update(request.scope.get(OUT_OF_BOUNDS_SCOPE_KEY, {}))
    if errors.get("body") == _NOT_AN_OBJECT and not _sent_as_json(request):
        # `curl -d` sends a form's content type: say what to send, not only what is wrong.
        errors["body"] = f"{_NOT_AN_OBJECT}, sent with Content-Type: application/json"
    return error_response(422, message, errors)


def _sent_as_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    return error_response(error.status_code, str(error.detail), headers=error.headers)


def install(app: FastAPI) -> None:
    """Answer validation and HTTP errors of every route with an `ErrorBody`."""
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(HTTPException, _http_error)


def install_outer(app: Starlette) -> None:
    """Answer the front app's own HTTP errors with an `ErrorBody` too: a path no route can
    match (one holding a newline, which the mount at `/` does not match) got Starlette's
    plain-text 404 (found by schemathesis)."""
    app.add_exception_handler(HTTPException, _http_error)
