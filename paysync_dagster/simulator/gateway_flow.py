"""The seed's checkout flow against a gateway: tokenize the card, create a checkout from the
customer with the form and merchant ids, pay with the token and the checkout.

Requests are JSON over httpx, each with an `Idempotency-Key` derived from the attempt's key.
Network errors are retried (same key); a timeout or a 5xx ends the attempt as an error,
never as a decline. Only a 402 from the pay step is a decline.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from paysync_dagster.simulator import outcomes
from paysync_dagster.simulator.cards import Card
from paysync_dagster.simulator.customers import Customer
from paysync_dagster.simulator.flow import FlowResult
from paysync_dagster.simulator.settings import DEFAULT_NETWORK_RETRIES, DEFAULT_TIMEOUT_SECONDS
from paysync_dagster.simulator.targets import Target

_SUCCESS_STATUSES = {"settled", "authorized", "transmitted"}
_MAX_RESPONSE_BYTES = 64 * 1024


class _NoOutcome(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class _Declined(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _error_fields(response: httpx.Response) -> tuple[str, str]:
    """The `{"error": {"code", "message"}}` of a gateway error, or the HTTP status."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        return error["code"], str(error.get("message", ""))
    return f"http_{response.status_code}", response.reason_phrase


class GatewayFlow:
    """One gateway target's checkout flow; one pooled httpx client for the run's attempts."""

    def __init__(
        self,
        target: Target,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        network_retries: int = DEFAULT_NETWORK_RETRIES,
    ) -> None:
        self._target = target
        headers = {"Accept": "application/json", "User-Agent": "paysync-simulator"}
        if target.api_key is not None:
            headers["Authorization"] = f"Bearer {target.api_key}"
        self._http = httpx.Client(timeout=timeout_seconds, headers=headers)
        self._network_retries = network_retries

    def _post(self, result: FlowResult, url: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        """POST `body`; the decoded 2xx answer, else `_Declined` (402) or `_NoOutcome`."""
        for attempt in range(self._network_retries + 1):
            try:
                response = self._http.post(url, json=body, headers={"Idempotency-Key": key})
                break
            except httpx.TimeoutException:
                raise _NoOutcome("timeout", f"no answer from {url} in time") from None
            except httpx.TransportError as error:
                if attempt == self._network_retries:
                    raise _NoOutcome("network_error", f"{type(error).__name__} at {url}") from None
                result.retries += 1
        if len(response.content) > _MAX_RESPONSE_BYTES:
            raise _NoOutcome("response_too_large", f"{url} answered more than 64 KiB")
        if response.is_success:
            try:
                decoded = response.json()
            except ValueError:
                decoded = None
            if not isinstance(decoded, dict):
                raise _NoOutcome("invalid_response", f"{url} answered something other than JSON")
            return decoded
        code, message = _error_fields(response)
        if response.status_code == 402:
            raise _Declined(code, message)
        raise _NoOutcome(code, message)

    def attempt(
        self, card: Card, customer: Customer, key: str, metadata: dict[str, str]
    ) -> FlowResult:
        """Tokenize `card`, create a checkout for `customer`, pay it."""
        target, result = self._target, FlowResult()
        try:
            with result.timed("tokenize"):
                token = self._post(
                    result,
                    str(target.tokenization_url),
                    {
                        "formId": target.form_id,
                        "card": {
                            "number": card.number,
                            "cvv": card.cvv,
                            "expiryMonth": f"{card.month:02d}",
                            "expiryYear": f"{(card.year or 0) % 100:02d}",
                        },
                    },
                    f"{key}-tokenize",
                )
            with result.timed("checkout"):
                checkout = self._post(
                    result,
                    str(target.checkout_url),
                    {
                        "formId": target.form_id,
                        "merchantId": target.merchant_id,
                        "refno": key,
                        "amount": target.amount,
                        "currency": target.currency.upper(),
                        "customer": {
                            "id": customer.reference,
                            "firstName": customer.first_name,
                            "lastName": customer.last_name,
                            "email": customer.email,
                            "street": customer.address_line1,
                            "city": customer.city,
                            "state": customer.state,
                            "zipCode": customer.postal_code,
                        },
                        "metadata": metadata,
                    },
                    f"{key}-checkout",
                )
            result.provider_payment_id = _text(checkout.get("checkoutId"))
            with result.timed("pay"):
                payment = self._post(
                    result,
                    str(target.payment_url),
                    {
                        "merchantId": target.merchant_id,
                        "checkoutId": checkout.get("checkoutId"),
                        "transactionId": token.get("transactionId"),
                    },
                    f"{key}-pay",
                )
        except _Declined as error:
            result.outcome = outcomes.DECLINED
            return result.fail(error.code, str(error))
        except _NoOutcome as error:
            return result.fail(error.code, str(error))
        result.provider_payment_id = _text(payment.get("paymentId")) or result.provider_payment_id
        status = payment.get("status")
        if status in _SUCCESS_STATUSES:
            result.outcome = outcomes.SUCCEEDED
            result.paid_at = time.time()
        elif status == "requires_action":
            result.outcome = outcomes.REQUIRES_ACTION
        else:
            result.outcome = _text(status) or "unknown"
        return result

    def close(self) -> None:
        """Release the HTTP connections."""
        self._http.close()


def _text(value: Any) -> str | None:
    """A short string field of an answer, or None."""
    return value[:255] if isinstance(value, str) and value else None
