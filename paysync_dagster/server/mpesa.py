"""M-Pesa routes: the staff settings API and the customer app's payment methods.

`POST /api/mpesa-settings` takes the seed's `MpesaSettingsRequest` (a pydantic model) and
answers with its `MpesaSettingsResponse`; it needs an admin token, or one carried over from
the M-Pesa-only tokens (`paysync token create NAME --admin`). A 422 names each bad field and
nothing is written. Responses and log lines name fields, bars and token names, never a
submitted secret.
"""

from __future__ import annotations

import logging
from typing import Literal

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from paysync_dagster.mpesa.errors import SettingsValidationError
from paysync_dagster.mpesa.payment_methods import offers_mpesa
from paysync_dagster.mpesa.settings import apply_settings
from paysync_dagster.mpesa.validation import MAX_BAR_ID, MpesaSettingsRequest, parse_bar_id
from paysync_dagster.server.auth import Caller
from paysync_dagster.server.bodies import bounded_route
from paysync_dagster.server.context import Context
from paysync_dagster.server.errors import MPESA_SETTINGS_PATH, ErrorBody, error_response

logger = logging.getLogger("paysync.mpesa")

MAX_BODY_BYTES = 16 * 1024
router = APIRouter(route_class=bounded_route(MAX_BODY_BYTES), tags=["mpesa"])


class SyncStatusBody(BaseModel):
    """What the committed transaction wrote."""

    credentials_updated: bool
    bar_status_updated: bool


class MpesaSettingsResponse(BaseModel):
    """The seed's `MpesaSettingsResponse`."""

    success: bool
    message: str
    sync_status: SyncStatusBody


class PaymentMethods(BaseModel):
    """The payment methods a bar offers its customers."""

    bar_id: int
    payment_methods: list[Literal["mpesa"]]


_ERRORS = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (401, "No valid token."),
        (403, "The token may not manage M-Pesa settings."),
        (413, "The body is too large."),
        (422, "Invalid settings; `errors` names each bad field."),
        (429, "Too many failed authentications."),
    )
}


@router.post(
    MPESA_SETTINGS_PATH,
    response_model=MpesaSettingsResponse,
    responses={
        **_ERRORS,
        503: {"model": MpesaSettingsResponse, "description": "Not saved; retry later."},
    },
)
async def save_settings(
    body: MpesaSettingsRequest, caller: Caller, context: Context
) -> JSONResponse:
    """Validate and store a bar's M-Pesa settings; both flags change in one transaction."""
    if not caller.may_manage_mpesa:
        raise HTTPException(403, "this token may not manage M-Pesa settings")
    settings = body.settings()
    try:
        status = await run_in_threadpool(apply_settings, context.engine, context.vault, settings)
    except SettingsValidationError as invalid:
        return error_response(422, "invalid M-Pesa settings", invalid.errors)
    except sa.exc.SQLAlchemyError as error:
        logger.error(
            "M-Pesa settings for bar %d not saved (%s); nothing was changed",
            settings.bar_id,
            type(error).__name__,
        )
        # 503, not 500: the request was valid and the database failed after retries, so the
        # same request may succeed later.
        failed = MpesaSettingsResponse(
            success=False,
            message="M-Pesa settings could not be saved; nothing was changed, retry later",
            sync_status=SyncStatusBody(credentials_updated=False, bar_status_updated=False),
        )
        return JSONResponse(failed.model_dump(), status_code=503)
    logger.info(
        "M-Pesa settings saved for bar %d by token %r: enabled=%s",
        settings.bar_id,
        caller.name,
        settings.enabled,
    )
    saved = MpesaSettingsResponse(
        success=True,
        message=f"M-Pesa settings saved; M-Pesa is {'enabled' if settings.enabled else 'disabled'}",
        sync_status=SyncStatusBody(
            credentials_updated=status.credentials_updated,
            bar_status_updated=status.bar_status_updated,
        ),
    )
    return JSONResponse(saved.model_dump())


@router.get(
    "/api/bars/{bar_id}/payment-methods",
    response_model=PaymentMethods,
    responses={
        400: {"model": ErrorBody, "description": "Not a bar id."},
        404: {"model": ErrorBody, "description": "No such bar."},
    },
)
async def payment_methods(bar_id: str, context: Context) -> PaymentMethods:
    """The payment methods a bar offers its customers (M-Pesa only while it is configured)."""
    parsed = parse_bar_id(bar_id)
    if parsed is None:
        raise HTTPException(400, f"a bar id is an integer from 1 to {MAX_BAR_ID}")
    offered = await run_in_threadpool(offers_mpesa, context.engine, context.vault, parsed)
    if offered is None:
        raise HTTPException(404, f"no bar has id {parsed}")
    return PaymentMethods(bar_id=parsed, payment_methods=["mpesa"] if offered else [])
