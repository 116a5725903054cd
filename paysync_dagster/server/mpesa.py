"""M-Pesa routes: the staff settings API and the customer app's payment methods.

`POST /api/mpesa-settings` takes the seed's `MpesaSettingsRequest` and answers with its
`MpesaSettingsResponse`; it needs a bearer token (`paysync mpesa token create`). Responses and
log lines name fields, bars and token names, never a submitted secret.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from paysync_dagster.bounds import InputLimitError, fields_out_of_bounds, loads_bounded
from paysync_dagster.mpesa.errors import SettingsValidationError
from paysync_dagster.mpesa.payment_methods import offers_mpesa
from paysync_dagster.mpesa.settings import apply_settings
from paysync_dagster.mpesa.tokens import authenticate
from paysync_dagster.mpesa.validation import MAX_BAR_ID, parse_bar_id, parse_settings
from paysync_dagster.server.bodies import read_body

logger = logging.getLogger("paysync.mpesa")

MAX_BODY_BYTES = 16 * 1024


def _response(status_code: int, message: str, **extra: object) -> JSONResponse:
    return JSONResponse(
        {"success": status_code == 200, "message": message, **extra}, status_code=status_code
    )


async def _token_name(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return await run_in_threadpool(authenticate, request.app.state.context.engine, token.strip())


async def save_settings(request: Request) -> JSONResponse:
    """Validate and store a bar's M-Pesa settings; both flags change in one transaction."""
    token_name = await _token_name(request)
    if token_name is None:
        response = _response(401, "authentication required: send Authorization: Bearer <token>")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    body = await read_body(request, MAX_BODY_BYTES)
    if body is None:
        return _response(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        settings = parse_settings(loads_bounded(body))
    except InputLimitError as error:
        errors = fields_out_of_bounds(body) or {"body": str(error)}
        return _response(422, "invalid M-Pesa settings", errors=errors)
    except SettingsValidationError as invalid:
        return _response(422, "invalid M-Pesa settings", errors=invalid.errors)

    context = request.app.state.context
    try:
        status = await run_in_threadpool(apply_settings, context.engine, context.vault, settings)
    except SettingsValidationError as invalid:
        return _response(422, "invalid M-Pesa settings", errors=invalid.errors)
    except sa.exc.SQLAlchemyError as error:
        logger.error(
            "M-Pesa settings for bar %d not saved (%s); nothing was changed",
            settings.bar_id,
            type(error).__name__,
        )
        # 503, not 500: the request was valid and the database failed after retries, so the
        # same request may succeed later.
        return _response(
            503,
            "M-Pesa settings could not be saved; nothing was changed, retry later",
            sync_status={"credentials_updated": False, "bar_status_updated": False},
        )
    logger.info(
        "M-Pesa settings saved for bar %d by token %r: enabled=%s",
        settings.bar_id,
        token_name,
        settings.enabled,
    )
    return _response(
        200,
        f"M-Pesa settings saved; M-Pesa is {'enabled' if settings.enabled else 'disabled'}",
        sync_status={
            "credentials_updated": status.credentials_updated,
            "bar_status_updated": status.bar_status_updated,
        },
    )


async def payment_methods(request: Request) -> JSONResponse:
    """The payment methods a bar offers its customers (M-Pesa only while it is configured)."""
    bar_id = parse_bar_id(request.path_params["bar_id"])
    if bar_id is None:
        return JSONResponse(
            {"message": f"a bar id is an integer from 1 to {MAX_BAR_ID}"}, status_code=400
        )
    context = request.app.state.context
    offered = await run_in_threadpool(offers_mpesa, context.engine, context.vault, bar_id)
    if offered is None:
        return JSONResponse({"message": f"no bar has id {bar_id}"}, status_code=404)
    return JSONResponse({"bar_id": bar_id, "payment_methods": ["mpesa"] if offered else []})


routes = [
    Route("/api/mpesa-settings", save_settings, methods=["POST"]),
    Route("/api/bars/{bar_id}/payment-methods", payment_methods, methods=["GET"]),
]
